"""Several processes on one SQLite file, and writers killed at random: R1, D1 and the outbox survive both."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from threading_engine import Direction, Engine, Outcome
from threading_engine.backends.sqlite import SQLiteRepository

from .sqlite_workload import (
    CUSTOMERS,
    check_schema_refuses_duplicates,
    check_store,
    open_threads_per_key,
    read_log,
    set_up,
    write,
)

SPAWN = multiprocessing.get_context("spawn")


@pytest.mark.slow
def test_r1_d1_hold_with_four_writer_processes_on_one_file(tmp_path: Path) -> None:
    """Four processes publish, retry, close and archive on overlapping keys at once (R1, D1, E: outbox)."""
    store = tmp_path / "shared.db"
    account_id = set_up(store)
    logs = [tmp_path / f"writer-{n}.jsonl" for n in range(4)]
    writers = [SPAWN.Process(target=write, args=(str(store), account_id, n, 150, str(logs[n]), n)) for n in range(4)]
    for writer in writers:
        writer.start()
    polls = 0
    while any(w.is_alive() for w in writers):
        assert open_threads_per_key(store) == []  # R1 holds while the writers race, not only at the end
        polls += 1
        time.sleep(0.05)
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    acknowledged = read_log(logs)
    published = [entry for entry in acknowledged if entry.get("outcome") in ("CREATED", "APPENDED", "REOPENED")]
    assert len(published) > 300 and polls > 0
    assert any(entry.get("outcome") == "DUPLICATE" for entry in acknowledged)
    check_store(store, acknowledged)
    repository = SQLiteRepository(str(store))
    assert len(repository.list_messages()) == len(published)  # nothing lost, nothing stored twice
    repository.close()
    check_schema_refuses_duplicates(store)


def _kill_after(process: multiprocessing.process.BaseProcess, seconds: float) -> None:
    time.sleep(seconds)
    if process.pid is not None and process.is_alive():
        os.kill(process.pid, signal.SIGKILL)
    process.join()


@pytest.mark.slow
def test_acknowledged_messages_survive_a_writer_killed_at_random_moments(tmp_path: Path) -> None:
    """SIGKILL a writer mid-work again and again; every acknowledged publish stays, and the store still works."""
    store = tmp_path / "crash.db"
    account_id = set_up(store)
    rng = random.Random(7)
    logs = []
    for round_number in range(8):
        log = tmp_path / f"round-{round_number}.jsonl"
        logs.append(log)
        writer = SPAWN.Process(
            target=write, args=(str(store), account_id, 100 + round_number, 10_000, str(log), round_number)
        )
        writer.start()
        _kill_after(writer, rng.uniform(0.8, 1.6))  # process start-up takes most of the first 0.7 s
        assert writer.exitcode == -signal.SIGKILL
        acknowledged = read_log(logs)
        check_store(store, acknowledged)
        with Engine(SQLiteRepository(str(store))) as engine:  # and the store accepts writes again
            result = engine.publish_message(
                account_id,
                direction=Direction.INCOMING,
                senders=[CUSTOMERS[0]],
                text="still there?",
                integration_idempotency_id=f"after-kill-{round_number}",
            )
            assert result.outcome in (Outcome.CREATED, Outcome.APPENDED, Outcome.REOPENED)
    assert sum(1 for entry in read_log(logs) if "message_id" in entry) > 50
    check_schema_refuses_duplicates(store)
