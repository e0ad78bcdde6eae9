"""Replays give byte-identical output on every backend (SPEC section 8: sequential ids are reproducible)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threading_engine import Engine, SequentialIds
from threading_engine.replay import dumps_line, replay
from threading_engine.stores import open_repository
from threading_engine.testing.strategies import traces

EXAMPLE = Path(__file__).parents[2] / "examples" / "support-line.jsonl"


def replayed(lines: list[str], store: str, batch_size: int = 1) -> list[str]:
    with Engine(open_repository(store), ids=SequentialIds()) as engine:
        return [dumps_line(result) for result in replay(lines, engine, batch_size=batch_size)]


def test_the_example_trace_replays_identically_on_sqlite(tmp_path: Path) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert replayed(lines, f"sqlite:///{tmp_path / 'example.db'}") == replayed(lines, "memory")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=traces(min_size=5, max_size=40))
def test_random_traces_replay_identically_on_sqlite(tmp_path: Path, trace: list[str]) -> None:
    store = tmp_path / f"trace-{next(_files)}.db"
    assert replayed(trace, f"sqlite:///{store}") == replayed(trace, "memory")


_files = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=traces(min_size=5, max_size=40), batch_size=st.integers(2, 60))
def test_batched_replays_equal_line_by_line_replays(tmp_path: Path, trace: list[str], batch_size: int) -> None:
    """--batch changes how many lines share a transaction, never what the lines say."""
    alone = replayed(trace, "memory")
    assert replayed(trace, "memory", batch_size) == alone
    assert replayed(trace, f"sqlite:///{tmp_path / f'batched-{next(_files)}.db'}", batch_size) == alone


@pytest.mark.postgres
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=traces(min_size=5, max_size=40))
def test_random_traces_replay_identically_on_postgresql(
    postgres_url: str, new_schema: Callable[[], str], trace: list[str]
) -> None:
    joiner = "&" if "?" in postgres_url else "?"
    store = f"{postgres_url}{joiner}schema={new_schema()}"
    assert replayed(trace, store) == replayed(trace, "memory")
