"""The trace replay (SPEC section 8): every op, error lines, refs, the options and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from threading_engine import Engine, ReopenClock, SequentialIds, ValidationError, cli
from threading_engine.cli import Summary
from threading_engine.replay import OPS, dumps_line, replay

Line = dict[str, Any]

SMS: Line = {
    "op": "createChannel",
    "ref": "sms",
    "at": "2026-03-02T08:00:00Z",
    "name": "SMS",
    "capabilities": {
        "threadingModel": "DELIVERY_IDENTIFIER",
        "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"],
        "allowOutgoingMessages": True,
        "allowConversationStart": True,
    },
}
DESK: Line = {
    "op": "createChannelAccount",
    "ref": "desk",
    "at": "2026-03-02T08:01:00Z",
    "channel": "sms",
    "name": "Desk",
    "inboxId": 7,
    "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550100"},
    "createsTickets": True,
}
ALICE = {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550142"}, "name": "Alice"}
OK_KEYS = ["line", "ref", "ok", "outcome", "threadId", "ticketId", "messageId", "events"]
ERROR_KEYS = ["line", "ref", "ok", "error"]


def incoming(ref: str, at: str, text: str = "Hi", **extra: Any) -> Line:
    line = {"op": "publishMessage", "ref": ref, "at": at, "account": "desk", "messageDirection": "INCOMING"}
    return line | {"senders": [ALICE], "text": text} | extra


def on(op: str, ref: str, at: str, **extra: Any) -> Line:
    return {"op": op, "at": at, "thread": {"of": ref}} | extra


def run(*lines: Line | str, engine: Engine | None = None) -> list[Line]:
    """Replay ``lines`` (objects are written as JSON) with sequential ids; one result per non-blank line."""
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    return list(replay(text, engine or Engine(ids=SequentialIds())))


def last(*lines: Line | str) -> Line:
    return run(SMS, DESK, *lines)[-1]


def error_of(*lines: Line | str) -> dict[str, Any]:
    result = last(*lines)
    assert list(result) == ERROR_KEYS, result
    assert result["ok"] is False
    error: dict[str, Any] = result["error"]
    assert list(error) == ["code", "message", "field", "rule"]
    return error


# -- every op ---------------------------------------------------------------------------------------------


def test_create_channel_and_account_are_changed_with_their_events() -> None:
    channel, account = run(SMS, DESK)
    assert list(channel) == OK_KEYS
    assert channel == {
        "line": 1,
        "ref": "sms",
        "ok": True,
        "outcome": "CHANGED",
        "threadId": None,
        "ticketId": None,
        "messageId": None,
        "events": channel["events"],
    }
    assert [e["type"] for e in channel["events"]] == ["CHANNEL_CREATED"]
    assert channel["events"][0]["channel"]["createdAt"] == "2026-03-02T08:00:00Z"
    assert account["outcome"] == "CHANGED"
    assert account["events"][0]["type"] == "CHANNEL_ACCOUNT_CREATED"
    assert account["events"][0]["channelAccount"]["inboxId"] == "7"


def test_update_channel_and_account() -> None:
    results = run(
        SMS,
        DESK,
        {"op": "updateChannel", "at": "2026-03-02T09:00:00Z", "channel": "sms", "channelDescription": "Texts"},
        {"op": "updateChannel", "at": "2026-03-02T09:01:00Z", "channel": "sms", "channelDescription": "Texts"},
        {"op": "updateChannelAccount", "at": "2026-03-02T09:02:00Z", "account": "desk", "authorized": False},
    )
    described, again, disconnected = results[2:]
    assert described["events"][0]["channel"]["channelDescription"] == "Texts"
    assert (again["outcome"], again["events"]) == ("UNCHANGED", [])
    assert disconnected["events"][0]["type"] == "CHANNEL_ACCOUNT_UPDATED"
    assert disconnected["events"][0]["channelAccount"]["authorized"] is False


def test_publish_reply_and_conversation_start() -> None:
    carol = {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550123"}}
    first, reply, start = run(
        SMS,
        DESK,
        incoming("m1", "2026-03-02T09:00:00Z"),
        {"op": "reply", "ref": "r1", "at": "2026-03-02T09:01:00Z", "thread": {"of": "m1"}, "text": "Hello"},
        {"op": "startConversation", "ref": "s1", "at": "2026-03-02T09:02:00Z", "account": "desk"}
        | {"recipients": [carol], "text": "Your order shipped"},
    )[2:]
    assert (first["outcome"], first["threadId"], first["ticketId"], first["messageId"]) == (
        "CREATED",
        "thread-1",
        "ticket-1",
        "message-1",
    )
    assert (reply["outcome"], reply["threadId"], reply["messageId"]) == ("APPENDED", "thread-1", "message-2")
    assert reply["events"][-1]["channelIntegrationThreadIds"] == ["thread-1"]
    assert (start["outcome"], start["threadId"]) == ("CREATED", "thread-2")
    assert start["events"][-1]["type"] == "OUTGOING_CHANNEL_MESSAGE_CREATED"


def test_archive_ops_a1() -> None:
    """``archiveChannelAccount`` and ``archiveChannel`` take only their target; an archived account or channel
    takes no more messages (A1)."""
    results = run(
        SMS,
        DESK,
        incoming("m1", "2026-03-02T09:00:00Z"),
        {"op": "archiveChannelAccount", "at": "2026-03-02T09:01:00Z", "account": "desk"},
        incoming("m2", "2026-03-02T09:02:00Z"),
        {"op": "archiveChannel", "at": "2026-03-02T09:03:00Z", "channel": "sms"},
        {"op": "archiveChannel", "at": "2026-03-02T09:04:00Z", "channel": "sms", "name": "SMS"},
    )[3:]
    archived, refused, channel, with_body = results
    account = archived["events"][0]["channelAccount"]
    assert (account["archived"], account["archivedAt"], account["active"]) == (True, "2026-03-02T09:01:00Z", False)
    assert (refused["error"]["code"], refused["error"]["rule"]) == ("NOT_ALLOWED", "A1")
    assert channel["events"][0]["channel"]["threadingEngine"] == {
        "archived": True,
        "archivedAt": "2026-03-02T09:03:00Z",
    }
    assert (with_body["error"]["field"], with_body["error"]["rule"]) == ("name", "SPEC section 8")


def test_incoming_recipients_default_to_the_account() -> None:
    engine = Engine(ids=SequentialIds())
    result = run(SMS, DESK, incoming("m1", "2026-03-02T09:00:00Z"), engine=engine)[-1]
    assert [p.delivery_identifier.value for p in engine.message(result["messageId"]).recipients] == ["+15550100"]


def test_thread_ops() -> None:
    results = run(
        SMS,
        DESK,
        incoming("m1", "2026-03-02T09:00:00Z"),
        on("closeThread", "m1", "2026-03-02T10:00:00Z"),
        on("reopenThread", "m1", "2026-03-02T10:01:00Z"),
        on("archiveThread", "m1", "2026-03-02T10:02:00Z"),
        on("restoreThread", "m1", "2026-03-02T10:03:00Z"),
        on("reopenThread", "m1", "2026-03-02T10:04:00Z"),
        on("closeTicket", "m1", "2026-03-02T10:05:00Z"),
        on("closeTicket", "m1", "2026-03-02T10:06:00Z"),
    )[3:]
    assert [[e["type"] for e in r["events"]] for r in results] == [
        ["THREAD_CLOSED", "TICKET_CLOSED"],
        ["THREAD_REOPENED", "TICKET_REOPENED"],
        ["THREAD_CLOSED", "TICKET_CLOSED", "THREAD_ARCHIVED"],
        ["THREAD_RESTORED"],
        ["THREAD_REOPENED", "TICKET_REOPENED"],
        ["THREAD_CLOSED", "TICKET_CLOSED"],
        [],
    ]
    assert [r["outcome"] for r in results] == ["CHANGED"] * 6 + ["UNCHANGED"]
    assert all(r["threadId"] == "thread-1" and r["ticketId"] == "ticket-1" for r in results)


def test_every_op_in_spec_section_8_is_known_and_section_9_adds_its_own() -> None:
    assert set(OPS) - {"archiveChannel", "archiveChannelAccount", "updateMessageStatus"} == {
        "createChannel",
        "updateChannel",
        "createChannelAccount",
        "updateChannelAccount",
        "publishMessage",
        "reply",
        "startConversation",
        "closeThread",
        "archiveThread",
        "restoreThread",
        "reopenThread",
        "closeTicket",
    }


# -- time comes from "at" -------------------------------------------------------------------------------------


def test_r4_at_is_the_engine_clock_for_the_reopen_window() -> None:
    inside, outside = run(
        SMS,
        DESK,
        incoming("m1", "2026-03-02T09:00:00Z"),
        on("closeThread", "m1", "2026-03-02T10:00:00+00:00"),
        incoming("m2", "2026-03-03T09:59:59.999999Z"),
        on("closeThread", "m2", "2026-03-03T11:00:00+01:00"),
        incoming("m3", "2026-03-04T10:00:00Z"),
    )[4::2]
    assert (inside["outcome"], inside["threadId"]) == ("REOPENED", "thread-1")
    assert inside["events"][0]["eventTimestamp"] == "2026-03-03T09:59:59.999999Z"
    # Closed at 10:00 UTC (11:00+01:00); exactly 24 h later is too late (R4).
    assert (outside["outcome"], outside["threadId"]) == ("CREATED", "thread-2")


def test_duplicate_ref_names_the_original_message() -> None:
    results = run(
        SMS,
        DESK,
        incoming("m1", "2026-03-02T09:00:00Z", integrationIdempotencyId="sms-1"),
        incoming("m1-again", "2026-03-02T09:00:30Z", integrationIdempotencyId="sms-1"),
        {"op": "reply", "ref": "r1", "at": "2026-03-02T09:01:00Z", "thread": {"of": "m1-again"}, "text": "Hi"},
    )
    duplicate, reply = results[3:]
    assert (duplicate["outcome"], duplicate["messageId"], duplicate["events"]) == ("DUPLICATE", "message-1", [])
    assert reply["threadId"] == "thread-1"


# -- error lines ------------------------------------------------------------------------------------------


def test_invalid_json_is_a_validation_error_line_and_the_replay_goes_on() -> None:
    results = run(SMS, '{"op": "createChannelAccount", ', DESK)
    assert results[1]["line"] == 2
    assert results[1]["error"]["code"] == "VALIDATION_ERROR"
    assert "not valid JSON" in results[1]["error"]["message"]
    assert results[2]["ok"] is True


TRACE_RULE = "SPEC section 8"


@pytest.mark.parametrize(
    ("line", "field", "rule", "words"),
    [
        ("[1, 2]", None, TRACE_RULE, "not a JSON object"),
        ('"createChannel"', None, TRACE_RULE, "not a JSON object"),
        ({"at": "2026-03-02T09:00:00Z"}, "op", TRACE_RULE, "required"),
        ({"op": "deleteChannel", "at": "2026-03-02T09:00:00Z"}, "op", TRACE_RULE, "not a trace op"),
        ({"op": 3, "at": "2026-03-02T09:00:00Z"}, "op", TRACE_RULE, "not a trace op"),
        ({"op": "closeThread", "thread": {"of": "m1"}}, "at", TRACE_RULE, "required"),
        ({"op": "closeThread", "at": "2026-03-02T09:00:00", "thread": {"of": "m1"}}, "at", "V5", "timezone"),
        ({"op": "closeThread", "at": "soon", "thread": {"of": "m1"}}, "at", "V5", "ISO-8601"),
        ({"op": "closeThread", "at": "2026-03-02T09:00:00Z"}, "thread", TRACE_RULE, "required"),
        ({"op": "closeThread", "at": "2026-03-02T09:00:00Z", "thread": "m1"}, "thread", TRACE_RULE, '{"of"'),
        (
            on("closeThread", "m1", "2026-03-02T09:00:00Z") | {"thread": {"of": 1}},
            "thread.of",
            TRACE_RULE,
            "not the ref",
        ),
        (
            on("closeThread", "m1", "2026-03-02T09:00:00Z") | {"thread": {"of": "m1", "x": 1}},
            "thread",
            TRACE_RULE,
            "of",
        ),
        ({**DESK, "ref": "desk2", "channel": ["sms"]}, "channel", TRACE_RULE, "not the ref of a channel"),
        (incoming("m9", "2026-03-02T09:00:00Z", account=7), "account", TRACE_RULE, "not the ref of an account"),
        (incoming("", "2026-03-02T09:00:00Z"), "ref", TRACE_RULE, "non-empty string"),
        (incoming("sms", "2026-03-02T09:00:00Z"), "ref", TRACE_RULE, "already names the channel created on line 1"),
        (
            incoming("m9", "2026-03-02T09:00:00Z", channelAccountId="account-1"),
            "channelAccountId",
            TRACE_RULE,
            '"account"',
        ),
        (incoming("m9", "2026-03-02T09:00:00Z", senders=[]), "senders", "V5", "at least one sender"),
        ({**DESK, "ref": "desk2", "capabilities": {}}, "capabilities", "V2", "not a field"),
    ],
)
def test_malformed_lines_are_validation_errors(line: Line | str, field: str | None, rule: str, words: str) -> None:
    error = error_of(line)
    assert (error["code"], error["field"], error["rule"]) == ("VALIDATION_ERROR", field, rule)
    assert words in error["message"]


def test_thread_ops_take_no_body() -> None:
    error = error_of(incoming("m1", "2026-03-02T09:00:00Z"), on("closeThread", "m1", "2026-03-02T09:01:00Z", text="x"))
    assert (error["code"], error["field"]) == ("VALIDATION_ERROR", "text")
    assert "not a field of this op" in error["message"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({**DESK, "ref": "desk2", "channel": "nope"}, "channel"),
        ({**DESK, "ref": "desk2", "channel": "desk"}, "channel"),
        (incoming("m1", "2026-03-02T09:00:00Z", account="sms"), "account"),
        (on("closeThread", "nope", "2026-03-02T09:00:00Z"), "thread.of"),
        (on("closeThread", "desk", "2026-03-02T09:00:00Z"), "thread.of"),
    ],
)
def test_refs_naming_nothing_of_their_kind_are_not_found(line: Line, field: str) -> None:
    error = error_of(line)
    assert (error["code"], error["field"], error["rule"]) == ("NOT_FOUND", field, TRACE_RULE)


def test_a_message_that_did_not_land_is_not_found() -> None:
    error = error_of(
        incoming("m1", "2026-03-02T09:00:00Z", timestamp="2026-03-02T09:00:00"),
        on("closeThread", "m1", "2026-03-02T09:01:00Z"),
    )
    assert (error["code"], error["field"]) == ("NOT_FOUND", "thread.of")
    assert "that landed" in error["message"]


def test_engine_errors_keep_the_ref_and_carry_code_field_and_rule() -> None:
    results = run(
        SMS,
        DESK,
        incoming("m1", "2026-03-02T09:00:00Z"),
        on("closeThread", "m1", "2026-03-02T09:01:00Z"),
        {"op": "reply", "ref": "late", "at": "2026-03-02T09:02:00Z", "thread": {"of": "m1"}, "text": "Hi"},
    )
    assert results[-1] == {
        "line": 5,
        "ref": "late",
        "ok": False,
        "error": {
            "code": "THREAD_NOT_OPEN",
            "message": "threadId 'thread-1' is closed: outgoing messages go only to open threads (R3)",
            "field": "threadId",
            "rule": "R3",
        },
    }


def test_a_null_ref_names_nothing() -> None:
    result = last({**DESK, "ref": None, "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550199"}})
    assert (result["ok"], result["ref"]) == (True, None)


def test_a_batch_holds_at_least_one_line() -> None:
    with pytest.raises(ValueError, match="batch_size 0 is below 1"):
        list(replay([json.dumps(SMS)], Engine(), batch_size=0))


def test_blank_lines_are_skipped_but_counted() -> None:
    results = list(replay([json.dumps(SMS), "", "   \n", json.dumps(DESK)], Engine(ids=SequentialIds())))
    assert [r["line"] for r in results] == [1, 4]


def test_output_lines_are_compact_json_in_key_order() -> None:
    assert dumps_line({"line": 1, "ref": "é", "ok": True}) == '{"line":1,"ref":"é","ok":true}'


# -- the command line -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("3600s", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("86400", timedelta(days=1)),
        ("0.5H", timedelta(minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        ("1d 12h", timedelta(hours=36)),
        ("2h30m15s", timedelta(hours=2, minutes=30, seconds=15)),
        ("1.5h 30m", timedelta(hours=2)),
    ],
)
def test_reopen_window_durations(text: str, expected: timedelta) -> None:
    assert cli.parse_duration(text) == expected


# Compound durations take their parts in the order d, h, m, s, each once, and a bare number only alone.
@pytest.mark.parametrize("text", ["", "-1h", "1w", "h", "24 hours", "30m1h", "1h1h", "1h30", "30 1h", "1h,30m"])
def test_bad_reopen_windows_are_usage_errors(text: str) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["replay", "t.jsonl", "--reopen-window", text])
    assert exited.value.code == 2


def test_option_defaults_and_choices() -> None:
    args = cli.build_parser().parse_args(["replay", "t.jsonl"])
    assert (args.reopen_window, args.reopen_clock, args.ids, args.store, args.out, args.quiet) == (
        timedelta(hours=24),
        ReopenClock.ARRIVAL,
        "unique",
        "memory",
        None,
        False,
    )
    args = cli.build_parser().parse_args(["replay", "t.jsonl", "--reopen-clock", "provider-timestamp"])
    assert args.reopen_clock is ReopenClock.PROVIDER_TIMESTAMP


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace.jsonl"
    lines = [
        SMS,
        DESK,
        incoming("m1", "2026-03-02T09:00:00Z", timestamp="2026-03-02T08:00:00Z"),
        on("closeThread", "m1", "2026-03-02T10:00:00Z"),
        incoming("m2", "2026-03-02T12:00:00Z", timestamp="2026-03-02T10:59:00Z"),
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n", encoding="utf-8")
    return path


def outputs(text: str) -> list[Line]:
    return [json.loads(line) for line in text.splitlines()]


def test_main_writes_results_and_a_summary(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(trace), "--ids", "sequential"]) == 0
    captured = capsys.readouterr()
    results = outputs(captured.out)
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5, 6]
    assert results[4]["outcome"] == "REOPENED"
    summary = captured.err
    assert "lines: 6" in summary
    assert "outcomes: CHANGED 3, CREATED 1, REOPENED 1" in summary
    assert "errors: VALIDATION_ERROR 1" in summary
    assert "threads: 1, tickets: 1, messages: 2, events: 10" in summary
    assert "messages/s" in summary


def test_reopen_window_and_clock_options_change_routing(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # m2 arrives 2 h after closing, stamped 59 min after it by the provider.
    for options, outcome in [
        (["--reopen-window", "3h"], "REOPENED"),
        (["--reopen-window", "90m", "--reopen-clock", "provider-timestamp"], "REOPENED"),
        (["--reopen-window", "90m"], "CREATED"),
    ]:
        assert cli.main(["replay", str(trace), "--quiet", *options]) == 0
        assert outputs(capsys.readouterr().out)[4]["outcome"] == outcome


def test_out_and_quiet(trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.jsonl"
    assert cli.main(["replay", str(trace), "--out", str(out), "--quiet", "--ids", "sequential"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert len(outputs(out.read_text(encoding="utf-8"))) == 6


def test_unique_ids_are_not_sequential(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(trace), "--quiet"]) == 0
    assert outputs(capsys.readouterr().out)[2]["threadId"] != "thread-1"


def test_unknown_store_is_a_usage_error(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["replay", str(trace), "--store", "ftp://nowhere"])
    assert exited.value.code == 2
    assert "--store" in capsys.readouterr().err


def test_missing_trace_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(tmp_path / "absent.jsonl")]) == 1
    assert "absent.jsonl" in capsys.readouterr().err


def test_summary_counts() -> None:
    summary = Summary()
    for result in run(SMS, DESK, incoming("m1", "2026-03-02T09:00:00Z"), "{"):
        summary.add(result)
    assert (summary.lines, summary.threads, summary.tickets, summary.messages, summary.events) == (4, 1, 1, 1, 5)
    assert summary.errors == {"VALIDATION_ERROR": 1}
    assert "0 messages/s" in summary.render(0.0)


def test_progress_bar_counts_bytes_and_falls_back_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    with cli._progress_bar(100, enabled=True) as advance:
        advance(10)
    monkeypatch.setitem(sys.modules, "rich.progress", None)  # makes ``import rich.progress`` fail
    with cli._progress_bar(100, enabled=True) as advance:
        assert advance is cli._ignore
        advance(10)


def lines_of(path: Path) -> Iterator[str]:
    yield from path.read_text(encoding="utf-8").splitlines()


def test_python_dash_m_replays_a_file_and_standard_input(trace: Path) -> None:
    command = [sys.executable, "-m", "threading_engine", "replay", "--ids", "sequential"]
    from_file = subprocess.run([*command, str(trace)], capture_output=True, text=True, check=True)
    from_stdin = subprocess.run(
        [*command, "-"], input=trace.read_text(encoding="utf-8"), capture_output=True, text=True, check=True
    )
    assert from_file.stdout == from_stdin.stdout
    assert len(outputs(from_file.stdout)) == 6
    assert "lines: 6" in from_file.stderr
    assert "\x1b" not in from_file.stderr  # no progress bar when stderr is not a terminal


def test_cli_usage_errors_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "threading_engine", "replay"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "TRACE.jsonl" in result.stderr


def test_a_postgresql_store_without_its_driver_is_a_clear_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the postgres extra, --store postgresql://... says which extra to install instead of a traceback."""
    import builtins

    from threading_engine.stores import open_repository

    real_import = builtins.__import__

    def no_psycopg(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("psycopg") or name.endswith("backends.postgres") or name == "backends.postgres":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "threading_engine.backends.postgres", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(ValidationError, match=r"threading-engine\[postgres\]") as raised:
        open_repository("postgresql://app:secret@db.invalid/inbox")
    assert raised.value.field == "store" and "secret" not in raised.value.message


def test_batch_option_gives_the_same_output_and_refuses_nonsense(tmp_path: Path) -> None:
    """--batch N: one unit of work per N lines, byte-identical output; N must be a whole number of at least 1."""
    example = Path(__file__).parents[1] / "examples" / "support-line.jsonl"
    out = tmp_path / "batched.jsonl"
    assert cli.main(["replay", str(example), "--ids", "sequential", "--batch", "5", "--quiet", "--out", str(out)]) == 0
    assert out.read_bytes() == example.with_name("support-line.out.jsonl").read_bytes()
    for bad in ("0", "-3", "ten"):
        with pytest.raises(SystemExit) as exited:
            cli.main(["replay", str(example), "--batch", bad])
        assert exited.value.code == 2


def test_a_ref_that_is_not_a_string_is_an_error_line_in_a_batch_too() -> None:
    lines = [json.dumps(SMS | {"ref": ["sms"]}), json.dumps(SMS), json.dumps(DESK)]
    for batch_size in (1, 2):
        first, channel, account = replay(lines, Engine(ids=SequentialIds()), batch_size=batch_size)
        assert (first["ref"], first["error"]["field"]) == (None, "ref")
        assert channel["ok"] and account["ok"]
