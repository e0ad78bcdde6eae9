"""Test support shipped for users: Hypothesis strategies and the backend conformance suite.

Needs the ``testing`` extra (Hypothesis and pytest). Import the submodules directly::

    from threading_engine.testing import strategies
    from threading_engine.testing.conformance import RepositoryContract, check_repository
"""
