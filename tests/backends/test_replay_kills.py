"""A replay SIGKILLed at random points and resumed (``--resume``) ends as one uninterrupted replay (SPEC section 8).

The real command runs as a subprocess on a real store. The test kills it, with SIGKILL, once the store has
committed a random number of events (and a few milliseconds more, so that some kills land inside a
transaction), several times in a row, each run resuming the last; a final run finishes the trace. After every
kill, ``--out`` holds a prefix of the uninterrupted output that lacks at most the results of the batch in
flight. At the end the store (``conformance.snapshot``) and ``--out`` equal those of one uninterrupted run.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from replay_traffic import support_traffic

from threading_engine.stores import open_repository
from threading_engine.testing.conformance import snapshot

TRAFFIC = support_traffic(seed=13, size=500)
# PostgreSQL flushes every commit to disk: a shorter trace keeps the test's time near SQLite's.
SHORTER_TRAFFIC = TRAFFIC[:250]
KILLS = 4


def replay_command(trace: Path, store: str, out: Path, batch: int, *options: str) -> list[str]:
    return [
        *(sys.executable, "-m", "threading_engine", "replay", str(trace), "--ids", "sequential"),
        *("--store", store, "--out", str(out), "--batch", str(batch), "--quiet", *options),
    ]


def store_snapshot(store: str) -> dict[str, Any]:
    repository = open_repository(store)
    try:
        return snapshot(repository)
    finally:
        repository.close()


def complete_lines(out: Path) -> list[bytes]:
    """The lines of ``out`` that were written whole (a kill may cut the last one short)."""
    return out.read_bytes().split(b"\n")[:-1] if out.exists() else []


def results_holding(events: int, reference: list[bytes]) -> int:
    """How many results of the uninterrupted output it takes to hold its first ``events`` events."""
    seen = 0
    for count, line in enumerate(reference, start=1):
        if seen >= events:
            return count - 1
        result = json.loads(line)
        seen += len(result["events"]) if result["ok"] else 0
    return len(reference)


def kill_and_resume(
    tmp_path: Path,
    stores: tuple[str, str],
    committed: Callable[[], int],
    batch: int,
    seed: int,
    comparable: Callable[[bytes], object] = bytes,
    traffic: list[str] = TRAFFIC,
) -> tuple[list[bytes], list[int]]:
    """Replay ``traffic`` once uninterrupted onto the first store, then onto the second under SIGKILLs,
    resuming each time; returns the resumed output and the runs' exit statuses. Output lines are compared
    as ``comparable`` makes them."""
    uninterrupted_store, store = stores
    trace = tmp_path / "trace.jsonl"
    trace.write_text("\n".join(traffic) + "\n", encoding="utf-8")
    out = tmp_path / "resumed.jsonl"
    uninterrupted = tmp_path / "uninterrupted.jsonl"
    subprocess.run(replay_command(trace, uninterrupted_store, uninterrupted, batch), check=True)
    reference = complete_lines(uninterrupted)
    total = sum(len(result["events"]) for result in map(json.loads, reference) if result["ok"])
    rng = random.Random(seed)
    statuses = []
    for _ in range(KILLS):
        done = committed()
        if done >= total - 1:
            break
        target = rng.randint(done + 1, total - 1)
        process = subprocess.Popen(replay_command(trace, store, out, batch, "--resume"), stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while process.poll() is None and committed() < target and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.004))
        process.kill()
        _, errors = process.communicate()
        statuses.append(process.returncode)
        assert process.returncode in (0, -9), errors.decode()
        written = complete_lines(out)
        assert list(map(comparable, written)) == list(map(comparable, reference[: len(written)]))
        # Flushed line by line: only the results of the batch in flight may be missing.
        assert len(written) >= results_holding(committed(), reference) - batch
    finished = subprocess.run(replay_command(trace, store, out, batch, "--resume"), capture_output=True, check=False)
    assert finished.returncode == 0, finished.stderr.decode()
    statuses.append(finished.returncode)
    return complete_lines(out), statuses


def sqlite_events(path: Path) -> Callable[[], int]:
    def count() -> int:
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
                return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
        except sqlite3.Error:  # not created yet
            return 0

    return count


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 7])
def test_a_replay_killed_at_random_points_resumes_to_the_uninterrupted_state_on_sqlite(
    tmp_path: Path, batch: int
) -> None:
    path = tmp_path / "killed.db"
    store, uninterrupted = f"sqlite:///{path}", f"sqlite:///{tmp_path / 'uninterrupted.db'}"
    output, statuses = kill_and_resume(tmp_path, (uninterrupted, store), sqlite_events(path), batch, seed=batch)
    assert statuses.count(-9) >= 2, statuses  # the kills landed midway, not after the end
    assert output == complete_lines(tmp_path / "uninterrupted.jsonl")
    assert store_snapshot(store) == store_snapshot(uninterrupted)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_replay_killed_at_random_points_resumes_to_the_uninterrupted_state_on_postgresql(
    tmp_path: Path, postgres_url: str, new_schema: Callable[[], str]
) -> None:
    """As on SQLite; but a transaction the kill cut short may have drawn sequence numbers that are never used,
    so events keep their order, and the rest of the state its values, while sequence numbers may skip."""
    import psycopg

    joiner = "&" if "?" in postgres_url else "?"
    schema = new_schema()
    store, uninterrupted = f"{postgres_url}{joiner}schema={schema}", f"{postgres_url}{joiner}schema={new_schema()}"

    with psycopg.connect(postgres_url, autocommit=True) as connection:

        def committed() -> int:
            try:
                row = connection.execute(f'SELECT count(*) FROM "{schema}".events').fetchone()
            except psycopg.errors.UndefinedTable:
                return 0
            return int(row[0]) if row is not None else 0

        output, statuses = kill_and_resume(
            tmp_path, (uninterrupted, store), committed, 5, 5, _unsequenced, SHORTER_TRAFFIC
        )
    assert statuses.count(-9) >= 2, statuses
    assert [_unsequenced(line) for line in output] == [
        _unsequenced(line) for line in complete_lines(tmp_path / "uninterrupted.jsonl")
    ]
    resumed, reference = store_snapshot(store), store_snapshot(uninterrupted)
    sequences = [record.sequence for record in resumed["events"]]
    assert sequences == sorted(set(sequences))
    for state in (resumed, reference):
        state["events"] = [(r.event_id, r.timestamp, r.event) for r in state["events"]]
    assert resumed == reference


def _unsequenced(line: bytes) -> object:
    result = json.loads(line)
    for event in result.get("events", ()):
        event.pop("sequence", None)  # only the engine's own events show the outbox sequence; webhooks do not
    return result
