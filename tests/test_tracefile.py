"""Reading trace lines (SPEC section 8): whatever a line holds, it becomes one result and the replay goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from threading_engine import Engine, SequentialIds, cli
from threading_engine.replay import replay
from threading_engine.tracefile import MAX_NESTING, TRACE_RULE, decode_line, numbered_lines

SMS = json.dumps(
    {
        "op": "createChannel",
        "ref": "sms",
        "at": "2026-03-02T08:00:00Z",
        "name": "SMS",
        "capabilities": {"threadingModel": "DELIVERY_IDENTIFIER", "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"]},
    }
)
RENAME = '{"op": "updateChannel", "at": "2026-03-02T09:00:00Z", "channel": "sms", "name": %s}'


def results(*lines: str) -> list[dict[str, Any]]:
    return list(replay(lines, Engine(ids=SequentialIds())))


def trace_error(line: str) -> dict[str, Any]:
    """The error of ``line`` replayed after the SMS channel, checked to be the trace format's own."""
    first, result = results(SMS, line)
    assert first["ok"] is True
    assert result["ok"] is False
    error: dict[str, Any] = result["error"]
    assert (error["code"], error["rule"]) == ("VALIDATION_ERROR", TRACE_RULE)
    assert error["message"].endswith(f"({TRACE_RULE})")
    return error


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"op": "createChannel", "at": ' + "1" * 4301 + "}", "Exceeds the limit (4300 digits)"),
        ("[" * 100_000 + "]" * 100_000, f"more than {MAX_NESTING} deep"),
        ('{"op": "updateChannel", "x": ' + "[" * 5000 + "]" * 5000 + "}", f"more than {MAX_NESTING} deep"),
        (RENAME % "NaN", "NaN is not a JSON number"),
        (RENAME % "-Infinity", "-Infinity is not a JSON number"),
        ("\ufeff" + SMS, "Unexpected UTF-8 BOM"),
        ("{\udcff}", "is not UTF-8 text: column 2"),
        ("\x0c", "not valid JSON"),
    ],
    ids=["long-integer", "deep-array", "deep-field", "nan", "infinity", "bom-not-first", "not-utf-8", "form-feed"],
)
def test_lines_no_json_reader_takes_are_error_lines_of_the_trace_format(line: str, words: str) -> None:
    error = trace_error(line)
    assert error["field"] is None
    assert words in error["message"]
    assert len(error["message"]) < 300  # names the problem without quoting the whole line


def test_nesting_up_to_the_limit_is_read() -> None:
    deep = "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1)
    assert decode_line(f'{{"x": {deep}}}')["x"] is not None
    with pytest.raises(ValueError, match="more than 32 deep"):
        decode_line(f'{{"x": [{deep}]}}')


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ('"\\ud800"', "name"),
        ('"ok \\udfff"', "name"),
        ('{"first": ["fine", "\\udbff"]}', "name.first[1]"),
    ],
)
def test_a_json_escape_of_a_lone_surrogate_is_refused_naming_its_field(name: str, field: str) -> None:
    error = trace_error(RENAME % name)
    assert error["field"] == field
    assert "lone surrogate" in error["message"]


def test_a_key_holding_a_lone_surrogate_is_refused() -> None:
    error = trace_error(RENAME % '{"\\ud83d": 1}')
    assert error["field"] == "name"
    assert "key" in error["message"]


def test_an_escaped_surrogate_pair_is_one_character() -> None:
    renamed = results(SMS, RENAME % '"SMS \\ud83d\\ude00"')[1]
    assert renamed["ok"] is True
    assert renamed["events"][0]["channel"]["name"] == "SMS \U0001f600"


def test_long_values_are_quoted_short() -> None:
    error = trace_error(json.dumps({"op": "x" * 10_000, "at": "2026-03-02T09:00:00Z"}))
    assert error["field"] == "op"
    assert "'xxx" in error["message"] and "…" in error["message"] and len(error["message"]) < 400
    many = trace_error(json.dumps(list(range(1000))))
    assert "<list of 1000 items>" in many["message"]


def test_a_byte_order_mark_starts_only_the_first_line() -> None:
    assert list(numbered_lines(["\ufeff" + SMS, "\ufeff", " \t\r\n", "x"])) == [(1, SMS), (2, "\ufeff"), (4, "x")]
    assert list(numbered_lines(["\ufeff\n", SMS])) == [(2, SMS)]


def test_the_command_reads_a_trace_with_a_bom_and_broken_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.jsonl"
    broken = (RENAME % '"caf\\u00e9"').encode().replace(b"\\u00e9", b"\xe9")  # Latin-1, not UTF-8
    trace.write_bytes(b"\xef\xbb\xbf" + SMS.encode() + b"\r\n" + broken + b"\n" + (RENAME % '"Texts"').encode())
    assert cli.main(["replay", str(trace), "--ids", "sequential", "--quiet"]) == 0
    first, bad, renamed = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["ok"], bad["ok"], renamed["ok"]) == (True, False, True)
    assert bad["error"]["message"].startswith('line \'{"op": "updateChannel"')
    assert "is not UTF-8 text" in bad["error"]["message"]


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--reopen-window", "99999999999999d", "longer than the longest duration"),
        ("--reopen-window", "9" * 400, "longer than the longest duration"),
        ("--reopen-window", "\u0661h", "not a duration"),  # an Arabic-Indic digit
        ("--batch", "1" * 5000, "not a whole number"),
        ("--out", "out\0put", "not a file name"),
        ("--out", "\ud800", "not a file name"),
    ],
)
def test_bad_option_values_are_usage_errors(
    tmp_path: Path, option: str, value: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["replay", str(tmp_path / "trace.jsonl"), option, value])
    assert exited.value.code == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert f"argument {option}" in error and words in error
    assert "Traceback" not in error
