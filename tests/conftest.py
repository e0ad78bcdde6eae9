"""Hypothesis profiles for the whole suite, chosen by ``HYPOTHESIS_PROFILE`` (``ci`` by default when CI=true).

- ``default``: quick, for a laptop's edit-test loop.
- ``ci``: derandomized, so a CI failure reproduces anywhere; at least 500 examples of every property and of
  the stateful agreement test (``tests/test_stateful.py``), which must still finish in about 3 minutes on
  2 cores. Shrinking output is printed in full.
- ``thorough``: for an occasional long local hunt.
- ``mutation``: ``default``'s sizes, derandomized, for mutation testing (``tests/mutation.sh``): every mutant
  meets the same examples, so a rerun gives the same score.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Verbosity, settings

settings.register_profile(
    "default",
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=500,
    stateful_step_count=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=5_000,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    verbosity=Verbosity.normal,
)
settings.register_profile(
    "mutation",
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _profile() -> str:
    chosen = os.environ.get("HYPOTHESIS_PROFILE")
    if chosen:
        return chosen
    return "ci" if os.environ.get("CI", "").strip().lower() == "true" else "default"


settings.load_profile(_profile())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first (the model checker's, marked ``no_cover``): spread over pytest-xdist's workers in
    collection order, a test of minutes collected last would leave one worker alone with it at the end."""
    items.sort(key=lambda item: item.get_closest_marker("no_cover") is None)
