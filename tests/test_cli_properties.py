"""A property of the command line (SPEC section 8): whatever the trace and the options, no bare exception escapes
``threading_engine.cli.main``, and every non-blank line gets exactly one result line of the documented shape.

Traces mix arbitrary bytes, arbitrary JSON, trace-shaped lines whose fields hold arbitrary JSON, and the valid
lines of the ``traces`` strategy (so that arbitrary bodies meet real channels, accounts and threads). Option
values are arbitrary text as often as valid.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threading_engine import cli
from threading_engine.replay import OPS
from threading_engine.testing.strategies import traces

OK_KEYS = ["line", "ref", "ok", "outcome", "threadId", "ticketId", "messageId", "events"]
ERROR_KEYS = ["line", "ref", "ok", "error"]
BLANK = b" \t\r\n"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
targets = {
    "channel": st.sampled_from(["sms", "chat", "nothing"]),
    "account": st.sampled_from(["desk", "bot", "sms"]),
    "thread": st.builds(lambda ref: {"of": ref}, st.sampled_from(["m0", "m1", "m2", "m3", "desk"])),
    "message": st.sampled_from(["m0", "m1", "m2", "m3", "desk"]),
}
fields = st.sampled_from(
    [
        *("text", "senders", "recipients", "messageDirection", "name", "capabilities", "deliveryIdentifier"),
        *("inboxId", "timestamp", "integrationThreadId", "integrationIdempotencyId", "authorized", "webhookUrl"),
        *("thread", "at", "ref", "channelLogoUrl", "channelDescription", "createsTickets"),
        *("attachments", "statusType", "errorMessage", "channel", "message"),
    ]
)


@st.composite
def trace_shaped_lines(draw: st.DrawFn) -> dict[str, Any]:
    """A line that names a real op and, mostly, refs of the right kind, with any JSON in any of its fields."""
    op = draw(st.sampled_from(sorted(OPS)))
    line: dict[str, Any] = {"op": op, "at": "2026-03-03T09:00:00Z", "ref": f"x{draw(st.integers(0, 10**6))}"}
    target = OPS[op].target
    if target is not None:
        line[target] = draw(targets[target])
    return line | draw(st.dictionaries(fields, json_values, max_size=4))


@st.composite
def mutated(draw: st.DrawFn, valid: list[bytes]) -> dict[str, Any]:
    """A valid line of the trace with one field, its own or another, holding any JSON."""
    line: dict[str, Any] = json.loads(draw(st.sampled_from(valid)))
    if "ref" in line:  # a new ref: the valid line's own already names what it made
        line["ref"] = f"y{draw(st.integers(0, 10**6))}"
    line[draw(st.sampled_from(sorted(line)) | fields)] = draw(json_values)
    return line


def encoded(value: object, ascii_only: bool) -> bytes:
    # Without ASCII escapes a lone surrogate stays raw: ``surrogatepass`` writes it as the bytes no UTF-8 has.
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def trace_files(draw: st.DrawFn) -> bytes:
    """Valid lines in their order, with odd lines of every kind inserted anywhere among them."""
    valid = [line.encode() for line in draw(traces(min_size=0, max_size=6))]
    lines = list(valid)
    odd = (
        st.binary(max_size=40)
        | st.builds(encoded, json_values, st.booleans())
        | st.builds(encoded, trace_shaped_lines() | mutated(valid), st.booleans())
        | st.sampled_from([b"", b" \t", b"\xef\xbb\xbf", b"[" * 5000, b'{"at": 1' + b"0" * 5000 + b"}"])
    )
    for _ in range(draw(st.integers(0, 8))):
        lines.insert(draw(st.integers(0, len(lines))), draw(odd))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return bom + b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))


def option_values(valid: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(valid) | st.text(max_size=12)


options = st.fixed_dictionaries(
    {},
    optional={
        "--reopen-window": option_values(["24h", "90m", "0", "1.5d", "99999999999999d", "9" * 400]),
        "--reopen-clock": option_values(["arrival", "provider-timestamp"]),
        "--batch": option_values(["1", "2", "5", "0", "1" * 5000]),
        "--ids": option_values(["sequential", "unique"]),
    },
)
flags = st.lists(st.sampled_from(["--quiet", "--resume"]), unique=True)
_stores = itertools.count()


def non_blank_lines(trace: bytes) -> list[int]:
    """The numbers of the lines that are more than spaces, tabs and line ends (a first line's BOM aside)."""
    numbered = enumerate(trace.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1)
    return [number for number, line in numbered if line.strip(BLANK)]


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=trace_files(), chosen=options, switches=flags, sqlite=st.booleans())
def test_no_trace_and_no_options_make_the_command_raise(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    trace: bytes,
    chosen: dict[str, str],
    switches: list[str],
    sqlite: bool,
) -> None:
    path, out = tmp_path / "trace.jsonl", tmp_path / "out.jsonl"
    path.write_bytes(trace)
    out.unlink(missing_ok=True)
    store = f"sqlite:///{tmp_path / f'store-{next(_stores)}.db'}" if sqlite else "memory"
    argv = ["replay", str(path), "--out", str(out), "--store", store, *switches]
    argv += [item for option, value in chosen.items() for item in (option, value)]
    try:
        status = cli.main(argv)
    except SystemExit as exited:
        assert exited.code == cli.EXIT_USAGE
        assert "error:" in capsys.readouterr().err
        return
    errors = capsys.readouterr().err
    assert status == cli.EXIT_DONE, errors
    assert "Traceback" not in errors
    # Split on line feeds only: str.splitlines would also split inside a JSON string holding U+0085 or U+2028.
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert [result["line"] for result in results] == non_blank_lines(trace)
    for result in results:
        if result["ok"]:
            assert list(result) == OK_KEYS
        else:
            assert list(result) == ERROR_KEYS
            assert list(result["error"]) == ["code", "message", "field", "rule"]
            assert result["error"]["code"] != "STORAGE_ERROR", result
