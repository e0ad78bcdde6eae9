"""The bounded model checker (``model_checker.py``) over the memory and SQLite backends, and checks of the checker.

Depths: ``THREADING_ENGINE_MODEL_CHECK_DEPTH`` (memory, default :data:`MEMORY_DEPTH`: about 52,000 states and
260,000 transitions, two to three minutes on two cores) and ``THREADING_ENGINE_MODEL_CHECK_SQLITE_DEPTH``
(default :data:`SQLITE_DEPTH`: every state is rebuilt in a new database file, so SQLite goes less deep; pytest's
``--basetemp`` on a RAM disk makes it several times faster). On a disagreement the test fails with the
shortest trace.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from model_check_actions import INCOMING, MICROSECOND, SECOND, WINDOW, MoveClock, OnThread, Publish
from model_checker import Backend, Report, Stores, describe, explore

from threading_engine import Policy

MEMORY_DEPTH = 5
SQLITE_DEPTH = 3


def depth_from(variable: str, default: int) -> int:
    value = os.environ.get(variable, "").strip()
    return int(value) if value else default


def check_every_state(depth: int, backend: Backend, directory: Path) -> Report:
    report = explore(depth, backend, directory=directory)
    print(report.summary())
    if report.counterexample is not None:
        trace = describe(report.counterexample, backend)
        pytest.fail(f"{report.failure}\nshortest trace ({backend}):\n{trace}", pytrace=False)
    assert report.depth == depth, f"the search ran out of states at depth {report.depth}"
    assert report.states > 1 and report.transitions > report.states
    return report


@contextmanager
def untraced() -> Iterator[None]:
    """No line tracer (coverage's) in what runs inside: tracing every line would more than double the search's
    time, and the search runs no line the rest of the suite misses. ``no_cover`` alone is not enough: under
    pytest-xdist, pytest-cov's pause leaves the worker's tracer on (measured: 29 s without coverage, 70 s
    with it and the marker, at depth 4)."""
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        yield
    finally:
        sys.settrace(tracer)


@pytest.mark.no_cover
def test_every_state_within_the_depth_agrees_with_the_model_on_memory(tmp_path: Path) -> None:
    """R0-R8, I1-I2, D1-D2, E2-E3 and V5-V6 at every reachable state of the universe (see model_checker.py)."""
    with untraced():
        check_every_state(depth_from("THREADING_ENGINE_MODEL_CHECK_DEPTH", MEMORY_DEPTH), "memory", tmp_path)


@pytest.mark.no_cover
def test_every_state_within_the_depth_agrees_with_the_model_on_sqlite(tmp_path: Path) -> None:
    """The same search with every state in a fresh SQLite file."""
    with untraced():
        check_every_state(depth_from("THREADING_ENGINE_MODEL_CHECK_SQLITE_DEPTH", SQLITE_DEPTH), "sqlite", tmp_path)
    assert list(tmp_path.iterdir()) == [], "every database file is deleted with its state"


@pytest.mark.parametrize(
    ("engine_window", "edge"),
    [(WINDOW + MICROSECOND, timedelta(0)), (WINDOW - MICROSECOND, -MICROSECOND)],
    ids=["reopens at exactly the window", "starts a new thread just inside it"],
)
def test_a_window_off_by_one_microsecond_is_caught_with_the_shortest_trace(
    engine_window: timedelta, edge: timedelta
) -> None:
    """R4b's edge: an engine whose window differs from the model's by 1 us is found at depth 4, the least."""
    report = explore(6, engine_policy=Policy(reopen_window=engine_window))
    assert report.counterexample is not None
    assert [step.action for step in report.counterexample] == [
        Publish("shop", INCOMING, ("A",)),
        OnThread("close", 0),
        MoveClock(edge, after_close_of=0),
        Publish("shop", INCOMING, ("A",)),
    ]
    assert report.depth == 3, "found while exploring depth 4, after every shorter trace agreed"
    trace = describe(report.counterexample, engine_policy=Policy(reopen_window=engine_window))
    assert "DISAGREEMENT" in trace.splitlines()[-1]


def test_states_that_differ_only_by_when_they_happened_are_one_state() -> None:
    """Deduplication measures closedAt back from the clock (R4 only compares times), so order of a wait does
    not matter; a thread's third plain message is not a new state, but an idempotency id is (D1)."""
    stores = Stores("memory")

    def state_after(*actions: Publish | OnThread | MoveClock) -> object:
        world = stores.open()
        try:
            for action in actions:
                world.take(world.step_for(action))
            return world.state()
        finally:
            stores.dispose(world)

    incoming, close, wait = Publish("shop", INCOMING, ("A",)), OnThread("close", 0), MoveClock(SECOND)
    assert state_after(wait, incoming, close) == state_after(incoming, close)
    assert state_after(incoming, close, wait) != state_after(incoming, close)
    assert state_after(incoming, incoming, incoming) == state_after(incoming, incoming)
    assert state_after(incoming, incoming) != state_after(incoming)
    remembered = Publish("shop", INCOMING, ("A",), idempotency_id="retry-1")
    assert state_after(incoming, incoming, remembered) != state_after(incoming, incoming, incoming)
