"""The example traces replay, with sequential ids, to their committed output byte for byte (SPEC section 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threading_engine import Engine, SequentialIds, cli
from threading_engine.replay import dumps_line, replay

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TRACES = sorted(path for path in EXAMPLES.glob("*.jsonl") if not path.name.endswith(".out.jsonl"))


def golden(trace: Path) -> Path:
    return trace.with_name(trace.name.removesuffix(".jsonl") + ".out.jsonl")


def test_examples_are_present() -> None:
    assert "support-line.jsonl" in [path.name for path in TRACES]
    assert all(golden(trace).is_file() for trace in TRACES)


@pytest.mark.parametrize("trace", TRACES, ids=lambda path: path.name)
def test_replay_reproduces_the_committed_output(trace: Path) -> None:
    lines = trace.read_text(encoding="utf-8").splitlines(keepends=True)
    produced = "".join(dumps_line(result) + "\n" for result in replay(lines, Engine(ids=SequentialIds())))
    assert produced.encode("utf-8") == golden(trace).read_bytes()


@pytest.mark.parametrize("trace", TRACES, ids=lambda path: path.name)
def test_the_command_line_reproduces_the_committed_output(trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert cli.main(["replay", str(trace), "--ids", "sequential", "--quiet", "--out", str(out)]) == 0
    assert out.read_bytes() == golden(trace).read_bytes()


def test_support_line_covers_what_it_is_meant_to_show() -> None:
    results = [json.loads(line) for line in golden(EXAMPLES / "support-line.jsonl").read_text("utf-8").splitlines()]
    outcomes = {result["outcome"] for result in results if result["ok"]}
    errors = {result["error"]["code"] for result in results if not result["ok"]}
    events = {event["type"] for result in results if result["ok"] for event in result["events"]}
    assert outcomes == {"CREATED", "APPENDED", "REOPENED", "DUPLICATE", "CHANGED", "UNCHANGED"}
    assert errors == {
        "VALIDATION_ERROR",
        "NOT_FOUND",
        "NOT_ALLOWED",
        "THREAD_NOT_OPEN",
        "KEY_CONFLICT",
        "IDEMPOTENCY_CONFLICT",
    }
    assert events >= {
        "CHANNEL_ACCOUNT_CREATED",
        "CHANNEL_ACCOUNT_UPDATED",
        "OUTGOING_CHANNEL_MESSAGE_CREATED",
        "THREAD_CREATED",
        "THREAD_REOPENED",
        "THREAD_CLOSED",
        "THREAD_ARCHIVED",
        "THREAD_RESTORED",
        "MESSAGE_APPENDED",
        "TICKET_CREATED",
        "TICKET_REOPENED",
        "TICKET_CLOSED",
    }
    # A blank line is skipped but still counted, so the numbers jump over it.
    numbers = [result["line"] for result in results]
    assert numbers != list(range(1, len(numbers) + 1))
