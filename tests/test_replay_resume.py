"""Stopping and resuming replays (SPEC section 8): store errors stop a replay, ``--resume`` finishes it.

The SIGKILL tests, with the real command on SQLite and PostgreSQL, are in ``backends/test_replay_kills.py``.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from replay_traffic import support_traffic

from threading_engine import Engine, SequentialIds, cli
from threading_engine.backends.memory import MemoryRepository
from threading_engine.decisions import Policy
from threading_engine.ids import unique_id
from threading_engine.replay import Replay, dumps_line, replay
from threading_engine.resume import ResumeError, ResumePoint
from threading_engine.stores import open_repository
from threading_engine.testing.conformance import snapshot
from threading_engine.testing.strategies import traces

TRAFFIC = support_traffic(seed=5, size=60)
# A shorter reopen window changes the replay of its first 40 lines: line 16 reopens a thread closed hours before.
assert '"outcome":"REOPENED"' in dumps_line({"lines": list(replay(TRAFFIC[:40], Engine(ids=SequentialIds())))})


def replayed(lines: list[str], engine: Engine, batch: int = 1, *, resume: bool = False) -> tuple[list[str], Replay]:
    replay = Replay(engine)
    return [dumps_line(result) for result in replay.run(lines, batch, resume=resume)], replay


def uninterrupted(lines: list[str]) -> tuple[list[str], dict[str, Any]]:
    engine = Engine(ids=SequentialIds())
    return replayed(lines, engine)[0], snapshot(engine.repository)


@settings(deadline=None)
@given(trace=traces(min_size=2, max_size=30), data=st.data())
def test_a_replay_resumed_after_any_line_equals_one_replay(trace: list[str], data: st.DataObject) -> None:
    """Whatever line a replay stopped after, with whatever batch sizes, resuming gives the one replay's output."""
    stop = data.draw(st.integers(0, len(trace)), label="stop")
    first_batch, second_batch = data.draw(st.integers(1, 8), label="first"), data.draw(st.integers(1, 8), label="then")
    store = MemoryRepository()
    replayed(trace[:stop], Engine(store, ids=SequentialIds()), first_batch)
    output, replay = replayed(trace, Engine(store, ids=SequentialIds()), second_batch, resume=True)
    assert (output, snapshot(store)) == uninterrupted(trace)
    assert replay.stopped is None
    if replay.resumed is not None:
        assert replay.resumed.line <= stop
        assert replay.resumed.events == len(snapshot(store)["events"][: replay.resumed.events]) > 0


def test_resuming_a_finished_replay_writes_nothing_and_gives_the_same_output(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'done.db'}"
    with Engine(open_repository(store), ids=SequentialIds()) as engine:
        first, _ = replayed(TRAFFIC, engine)
        before = snapshot(engine.repository)
    with Engine(open_repository(store), ids=SequentialIds()) as engine:
        again, replay = replayed(TRAFFIC, engine, 4, resume=True)
        assert snapshot(engine.repository) == before
    assert again == first
    assert replay.resumed == ResumePoint(len(TRAFFIC) - _trailing_no_ops(first), len(before["events"]))


def _trailing_no_ops(output: list[str]) -> int:
    """How many results at the end made no events: a resumed replay decides those again on the store."""
    count = 0
    for line in reversed(output):
        if '"events":[{' in line:
            break
        count += 1
    return count


def test_resuming_onto_an_empty_store_is_a_plain_replay() -> None:
    output, replay = replayed(TRAFFIC, Engine(ids=SequentialIds()), resume=True)
    assert output == uninterrupted(TRAFFIC)[0]
    assert replay.resumed is None


@pytest.mark.parametrize(
    ("engine_options", "lines", "words"),
    [
        ({"policy": Policy(reopen_window=Policy().reopen_window / 24)}, TRAFFIC, "where the store holds"),
        ({"ids": unique_id}, TRAFFIC, "where the store holds"),
        ({}, TRAFFIC[:20], "the trace ends after"),
        ({}, [TRAFFIC[0], TRAFFIC[2], *TRAFFIC[1:]], "where the store holds"),
    ],
    ids=["other-window", "unique-ids", "shorter-trace", "other-trace"],
)
def test_a_store_holding_another_replay_refuses_to_resume_and_stays_unchanged(
    engine_options: dict[str, Any], lines: list[str], words: str
) -> None:
    store = MemoryRepository()
    replayed(TRAFFIC[:40], Engine(store, ids=SequentialIds()))
    before = snapshot(store)
    engine = Engine(store, **({"ids": SequentialIds()} | engine_options))
    with pytest.raises(ResumeError, match=words) as refused:
        replayed(lines, engine, resume=True)
    assert (refused.value.code, refused.value.field) == ("RESUME_REFUSED", "store")
    assert "--ids sequential" in refused.value.message
    assert snapshot(store) == before


# -- the command line --------------------------------------------------------------------------------------


def run_cli(*options: str) -> int:
    return cli.main(["replay", *options])


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(TRAFFIC) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def reference(trace: Path, tmp_path: Path) -> Path:
    out = tmp_path / "reference.jsonl"
    assert run_cli(str(trace), "--ids", "sequential", "--quiet", "--out", str(out)) == 0
    return out


def break_messages(database: Path) -> None:
    """A store that fails every message insert, as a full or damaged disk would (a real SQLite error)."""
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN INSERT INTO vanished VALUES (1); END")


def repair_messages(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER refuse")


@pytest.mark.parametrize("batch", ["1", "3", "10"])
def test_a_store_error_stops_the_replay_with_status_3_and_resume_finishes_it(
    trace: Path, reference: Path, tmp_path: Path, batch: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database, out, setup = tmp_path / "broken.db", tmp_path / "out.jsonl", tmp_path / "setup.jsonl"
    setup.write_text("\n".join(TRAFFIC[:4]) + "\n", encoding="utf-8")
    options = ("--ids", "sequential", "--store", f"sqlite:///{database}", "--out", str(out), "--batch", batch)
    assert run_cli(str(setup), *options, "--quiet") == 0
    break_messages(database)
    capsys.readouterr()

    assert run_cli(str(trace), *options, "--resume") == cli.EXIT_STORE
    expected = [json.loads(line) for line in reference.read_text(encoding="utf-8").splitlines()]
    first_message = next(r["line"] for r in expected if r["ok"] and r["messageId"] is not None)
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    failed = [r for r in results if not r["ok"] and r["error"]["code"] == "STORAGE_ERROR"]
    assert failed[0]["line"] == first_message and failed[0]["ref"] is not None
    assert failed[0]["error"]["message"].startswith("SQLite failed")
    assert 1 <= len(failed) <= int(batch)
    assert results[: first_message - 1] == expected[: first_message - 1]
    summary = capsys.readouterr().err
    assert f"store errors: {len(failed)} line{'s' if len(failed) > 1 else ''} not applied" in summary
    assert f"stopped: the store failed at line {first_message}" in summary and "--resume" in summary
    assert "resumed: the store held lines 1-4 (4 events)" in summary

    repair_messages(database)
    assert run_cli(str(trace), *options, "--resume", "--quiet") == 0
    assert out.read_bytes() == reference.read_bytes()
    with Engine(ids=SequentialIds()) as engine, Engine(open_repository(f"sqlite:///{database}")) as resumed:
        replayed(TRAFFIC, engine)
        assert snapshot(resumed.repository) == snapshot(engine.repository)


def test_a_refused_resume_exits_4_and_leaves_the_earlier_output(
    trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database, out = tmp_path / "store.db", tmp_path / "out.jsonl"
    options = ("--ids", "sequential", "--store", f"sqlite:///{database}", "--out", str(out), "--quiet")
    assert run_cli(str(trace), *options) == 0
    earlier = out.read_bytes()
    capsys.readouterr()
    assert run_cli(str(trace), *options, "--resume", "--reopen-window", "1h") == cli.EXIT_NOT_RESUMABLE
    assert "store does not hold a replay of the first lines of this trace" in capsys.readouterr().err
    assert out.read_bytes() == earlier
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["traffic.jsonl", "store.db", "out.jsonl"])


def test_replaying_again_without_resume_onto_the_same_store_is_a_store_error(
    trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sequential ids collide with the first replay's: the first write fails and the replay stops there."""
    database = tmp_path / "store.db"
    options = ("--ids", "sequential", "--store", f"sqlite:///{database}")
    assert run_cli(str(trace), *options, "--quiet") == 0
    capsys.readouterr()
    assert run_cli(str(trace), *options) == cli.EXIT_STORE
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "stopped: the store failed at line 1" in captured.err


def test_a_store_that_fails_while_a_resume_reads_it_exits_3(
    trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "store.db"
    options = ("--ids", "sequential", "--store", f"sqlite:///{database}", "--quiet")
    assert run_cli(str(trace), *options) == 0
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE events")
    capsys.readouterr()
    assert run_cli(str(trace), *options, "--resume") == cli.EXIT_STORE
    assert "no such table: events" in capsys.readouterr().err


def test_resume_needs_sequential_ids(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cli(str(trace), "--resume")
    assert exited.value.code == cli.EXIT_USAGE
    assert "--resume needs --ids sequential" in capsys.readouterr().err


def test_a_store_that_cannot_be_opened_exits_3(trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(str(trace), "--store", f"sqlite:///{tmp_path / 'absent' / 'store.db'}") == cli.EXIT_STORE
    assert "--store:" in capsys.readouterr().err


def test_resuming_to_standard_output_writes_every_result(trace: Path, reference: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    command = [sys.executable, "-m", "threading_engine", "replay", "--ids", "sequential", "--store", store, "--quiet"]
    half = tmp_path / "half.jsonl"
    half.write_text("\n".join(TRAFFIC[:30]) + "\n", encoding="utf-8")
    subprocess.run([*command, str(half)], check=True, capture_output=True)
    resumed = subprocess.run([*command, "--resume", str(trace)], check=True, capture_output=True)
    assert resumed.stdout == reference.read_bytes()


# Python, with SIGINT handled by default and not blocked, running the rest of its arguments as a new Python would
# (a disposition of SIG_DFL and the signal mask both survive ``exec``).
AS_FROM_A_SHELL = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]


def test_ctrl_c_exits_130_and_the_replay_resumes(trace: Path, reference: Path, tmp_path: Path) -> None:
    store, out = f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "threading_engine", "replay", "-", "--ids", "sequential", "--store", store]
    # PYTHONFAULTHANDLER: a replay that outlives its Ctrl-C is aborted, and prints where each thread stood.
    # AS_FROM_A_SHELL: the replay starts with SIGINT as a terminal's foreground job has it, whatever the test
    # process inherited or was left with (a replay that ignores it because its parent did is right to).
    process = subprocess.Popen(
        [*AS_FROM_A_SHELL, *command[1:], "--out", str(out)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    assert process.stdin is not None
    process.stdin.write(("\n".join(TRAFFIC[:10]) + "\n").encode())
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while not out.exists() or len(out.read_bytes().splitlines()) < 10:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    # Standard input stays open until the replay has exited: closing it at once (``communicate`` does) lets a
    # replay scheduled late on a busy machine read the end of its input before it handles the signal, and
    # finish as if the input had ended.
    assert process.stderr is not None
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        signals = [line for line in _proc_status(process.pid) if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
        process.send_signal(signal.SIGABRT)
        process.wait(timeout=30)
        stacks = process.stderr.read().decode(errors="replace")
        pytest.fail(f"the replay ignored Ctrl-C for 60 s; its signals: {signals}\n{stacks}")
    errors = process.stderr.read()
    process.stdin.close()
    process.stderr.close()
    assert process.returncode == cli.EXIT_INTERRUPTED
    assert "interrupted after 10 lines: rerun with --resume to finish" in errors.decode()
    assert "lines: 10" in errors.decode()
    assert cli.main(["replay", str(trace), "--ids", "sequential", "--store", store, "--out", str(out), "--resume"]) == 0
    assert out.read_bytes() == reference.read_bytes()


def _proc_status(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return []


class InterruptedInput(io.RawIOBase):
    """Standard input that delivers ``data``, then the Ctrl-C of a user who gave up waiting for more."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._data:
            raise KeyboardInterrupt
        count = min(len(buffer), len(self._data))
        buffer[:count], self._data = self._data[:count], self._data[count:]
        return count


def test_ctrl_c_while_reading_standard_input_keeps_every_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = ("\n".join(TRAFFIC[:12]) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(InterruptedInput(typed))))
    out = tmp_path / "out.jsonl"
    assert cli.main(["replay", "-", "--ids", "sequential", "--out", str(out)]) == cli.EXIT_INTERRUPTED
    assert out.read_text(encoding="utf-8").splitlines() == uninterrupted(TRAFFIC[:12])[0]
    assert "interrupted after 12 lines" in capsys.readouterr().err
