"""Test support shipped for users: Hypothesis strategies, the backend conformance suite, and a round-trip counter.

Needs the ``testing`` extra (Hypothesis and pytest). Import the submodules directly::

    from threading_engine.testing import strategies
    from threading_engine.testing.conformance import RepositoryContract, check_repository
"""
