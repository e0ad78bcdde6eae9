"""Replays give byte-identical output on every backend (SPEC section 8: sequential ids are reproducible)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from threading_engine import Engine, SequentialIds
from threading_engine.replay import dumps_line, replay
from threading_engine.stores import open_repository
from threading_engine.testing.strategies import traces

EXAMPLE = Path(__file__).parents[2] / "examples" / "support-line.jsonl"


def replayed(lines: list[str], store: str) -> list[str]:
    with Engine(open_repository(store), ids=SequentialIds()) as engine:
        return [dumps_line(result) for result in replay(lines, engine)]


def test_the_example_trace_replays_identically_on_sqlite(tmp_path: Path) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert replayed(lines, f"sqlite:///{tmp_path / 'example.db'}") == replayed(lines, "memory")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=traces(min_size=5, max_size=40))
def test_random_traces_replay_identically_on_sqlite(tmp_path: Path, trace: list[str]) -> None:
    store = tmp_path / f"trace-{next(_files)}.db"
    assert replayed(trace, f"sqlite:///{store}") == replayed(trace, "memory")


_files = itertools.count()


@pytest.mark.postgres
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=traces(min_size=5, max_size=40))
def test_random_traces_replay_identically_on_postgresql(
    postgres_url: str, new_schema: Callable[[], str], trace: list[str]
) -> None:
    joiner = "&" if "?" in postgres_url else "?"
    store = f"{postgres_url}{joiner}schema={new_schema()}"
    assert replayed(trace, store) == replayed(trace, "memory")
