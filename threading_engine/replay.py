"""Replays a trace file through an engine (SPEC section 8), one JSON result per trace line.

A trace is JSON Lines: every line is one command with ``op`` and ``at`` (the engine's clock for that
command). Lines name what they create with ``ref``, and later lines point back with ``channel``,
``account`` (refs) and ``thread: {"of": <ref of a message>}``. Everything else on a line is the camelCase
body HubSpot's API would receive, parsed by :mod:`.hubspot`, so a trace exercises the same JSON edge as a
server would. A bad line becomes an error result and the replay goes on, so one typo does not hide the rest.

This module knows nothing of files or argument parsing: :func:`replay` takes lines and an engine and yields
results, so tests and the command line (``cli.py``) drive it alike.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from . import hubspot
from .commands import ArchiveThread, CloseThread, CloseTicket, Command, ReopenThread, RestoreThread, ThreadCommand
from .engine import Engine, Result
from .errors import NotFoundError, ThreadingError, ValidationError

Json = dict[str, Any]

# Keys that belong to the trace format rather than to the HubSpot body of a line.
_LINE_KEYS = frozenset({"op", "at", "ref"})


class TraceClock:
    """The engine's clock during a replay: each line's ``at`` sets it, so time moves only as the trace says."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start if start is not None else datetime(1970, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@attrs.frozen
class _Ref:
    """What a ``ref`` names: a channel, an account, or a message and the thread it landed on."""

    kind: str
    id: str
    line: int
    thread_id: str | None = None


@attrs.frozen
class _Op:
    """One ``op``: which ref key names its target (if any), what it creates, and how its body becomes a command."""

    target: str | None
    creates: str | None
    build: Callable[[str, Json], Command]


def _publish(account_id: str, body: Json) -> Command:
    if "channelAccountId" in body:
        # The account is named by ref; an id written into a trace would not survive a change of id scheme.
        raise _trace_error("channelAccountId", body["channelAccountId"], 'is not a trace field: use "account"')
    return hubspot.parse_publish_message({**body, "channelAccountId": account_id})


def _thread_command(kind: type[ThreadCommand]) -> _Op:
    def build(thread_id: str, body: Json) -> Command:
        if body:
            key, value = next(iter(body.items()))
            raise _trace_error(key, value, "is not a field of this op")
        return kind(thread_id)

    return _Op("thread", None, build)


OPS: Mapping[str, _Op] = {
    "createChannel": _Op(None, "channel", lambda _, body: hubspot.parse_create_channel(body)),
    "updateChannel": _Op("channel", None, hubspot.parse_update_channel),
    "createChannelAccount": _Op("channel", "account", hubspot.parse_create_account),
    "updateChannelAccount": _Op("account", None, hubspot.parse_update_account),
    "publishMessage": _Op("account", "message", _publish),
    "reply": _Op("thread", "message", hubspot.parse_reply),
    "startConversation": _Op("account", "message", hubspot.parse_start_conversation),
    "closeThread": _thread_command(CloseThread),
    "archiveThread": _thread_command(ArchiveThread),
    "restoreThread": _thread_command(RestoreThread),
    "reopenThread": _thread_command(ReopenThread),
    "closeTicket": _thread_command(CloseTicket),
}


def _trace_error(field: str | None, value: object, problem: str) -> ValidationError:
    where = field if field is not None else "line"
    return ValidationError(f"{where} {value!r} {problem} (SPEC section 8)", field=field, value=value)


class Replay:
    """One replay in progress: the engine, the clock it now reads, and the refs named so far.

    Creating a ``Replay`` sets ``engine.clock`` to a :class:`TraceClock`: in a replay, time is the trace's.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = TraceClock()
        engine.clock = self.clock
        self._refs: dict[str, _Ref] = {}

    def run(self, lines: Iterable[str], batch_size: int = 1) -> Iterator[Json]:
        """One result per non-blank line, in order; line numbers count physical lines, blank ones included.

        With ``batch_size`` above 1, consecutive lines are handled in one unit of work
        (:meth:`Engine.execute_many`), with the same results; a line that refers to something created
        earlier in the pending batch sends the batch first, since it needs its ids.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size {batch_size} is below 1")
        pending: list[_Planned | Json] = []
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            if batch_size == 1:
                yield self.line(number, text)
                continue
            try:
                data = _decode(text)
                if (_refers_to(data) | {data.get("ref")}) & {p.ref for p in pending if isinstance(p, _Planned)}:
                    yield from self._send(pending)
                pending.append(self._plan(number, data))
            except ThreadingError as error:
                pending.append(_failed(number, _raw_ref(text), error))
            if len(pending) >= batch_size:
                yield from self._send(pending)
        yield from self._send(pending)

    def _send(self, pending: list[_Planned | Json]) -> Iterator[Json]:
        planned = [p for p in pending if isinstance(p, _Planned)]
        outcomes = iter(
            self.engine.execute_many([p.command for p in planned], times=[p.at for p in planned]) if planned else []
        )
        for item in pending:
            if not isinstance(item, _Planned):
                yield item
                continue
            outcome = next(outcomes)
            if isinstance(outcome, ThreadingError):
                yield _failed(item.number, item.ref, outcome)
            else:
                yield self._finish(item, outcome)
        pending.clear()

    def line(self, number: int, text: str) -> Json:
        """The result of one trace line: ``ok`` with the outcome, ids and events, or the error."""
        ref: object = None
        try:
            data = _decode(text)
            ref = data.get("ref")
            planned = self._plan(number, data)
            self.clock.now = planned.at
            result = self.engine.execute(planned.command)
        except ThreadingError as error:
            return _failed(number, ref, error)
        return self._finish(planned, result)

    def _finish(self, planned: _Planned, result: Result) -> Json:
        if planned.ref is not None and planned.op.creates is not None:
            self._remember(planned.ref, planned.op.creates, planned.number, result)
        return {
            "line": planned.number,
            "ref": planned.ref,
            "ok": True,
            "outcome": result.outcome.value,
            "threadId": result.thread_id,
            "ticketId": result.ticket_id,
            "messageId": result.message_id,
            "events": [hubspot.event_to_json(record) for record in result.events],
        }

    def _plan(self, number: int, data: Json) -> _Planned:
        """Check a decoded line and build its command; raises the line's error."""
        op_name = data.get("op")
        if "op" not in data:
            raise ValidationError("op is required (SPEC section 8)", field="op")
        op = OPS.get(op_name) if isinstance(op_name, str) else None
        if op is None:
            raise _trace_error("op", op_name, f"is not a trace op (one of {', '.join(OPS)})")
        if "at" not in data:
            raise ValidationError("at is required: the engine's clock for this line (SPEC section 8)", field="at")
        at = hubspot.parse_timestamp(data["at"], "at")
        ref = self._new_ref(data)
        target_id = self._target(op, data)
        body = {key: value for key, value in data.items() if key not in _LINE_KEYS and key != op.target}
        return _Planned(number, ref, op, op.build(target_id, body), at)

    def _new_ref(self, data: Json) -> str | None:
        ref = data.get("ref")
        if ref is None:
            return None
        if not isinstance(ref, str) or not ref:
            raise _trace_error("ref", ref, "is not a non-empty string")
        earlier = self._refs.get(ref)
        if earlier is not None:
            raise _trace_error("ref", ref, f"already names the {earlier.kind} created on line {earlier.line}")
        return ref

    def _target(self, op: _Op, data: Json) -> str:
        if op.target is None:
            return ""
        if op.target not in data:
            raise ValidationError(f"{op.target} is required for this op (SPEC section 8)", field=op.target)
        value = data[op.target]
        if op.target != "thread":
            return self._lookup(value, op.target, op.target).id
        if not isinstance(value, dict) or set(value) != {"of"}:
            raise _trace_error("thread", value, 'is not {"of": "<ref of a message>"}')
        landed = self._lookup(value["of"], "message", "thread.of")
        assert landed.thread_id is not None
        return landed.thread_id

    def _lookup(self, ref: object, kind: str, field: str) -> _Ref:
        if not isinstance(ref, str):
            raise _trace_error(field, ref, f"is not the ref of a {kind}")
        found = self._refs.get(ref)
        if found is None or found.kind != kind:
            landed = " that landed" if kind == "message" else ""
            raise NotFoundError(
                f"{field} {ref!r} names no {kind}{landed} earlier in the trace (SPEC section 8)", field=field, value=ref
            )
        return found

    def _remember(self, ref: str, kind: str, number: int, result: Result) -> None:
        ids = {"channel": result.channel_id, "account": result.channel_account_id, "message": result.message_id}
        created = ids[kind]
        assert created is not None
        self._refs[ref] = _Ref(kind, created, number, result.thread_id)


@attrs.frozen
class _Planned:
    """A trace line turned into a command, waiting for the engine."""

    number: int
    ref: str | None
    op: _Op
    command: Command
    at: datetime


def _failed(number: int, ref: object, error: ThreadingError) -> Json:
    return {
        "line": number,
        "ref": ref if isinstance(ref, str) else None,
        "ok": False,
        "error": {"code": error.code, "message": error.message, "field": error.field},
    }


def _refers_to(data: Json) -> set[str]:
    """The refs a line uses (its channel, account, or thread's message), whatever their validity."""
    used = [data.get("channel"), data.get("account")]
    thread = data.get("thread")
    if isinstance(thread, dict):
        used.append(thread.get("of"))
    return {ref for ref in used if isinstance(ref, str)}


def _raw_ref(text: str) -> object:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data.get("ref") if isinstance(data, dict) else None


def _decode(text: str) -> Json:
    try:
        data = json.loads(text.rstrip("\r\n"))
    except json.JSONDecodeError as error:
        # The position, not the whole line: a trace line can be long, and the caller has the line number.
        excerpt = text.strip()[:40]
        raise _trace_error(None, excerpt, f"is not valid JSON: {error.msg} at column {error.pos + 1}") from None
    if not isinstance(data, dict):
        raise _trace_error(None, data, "is not a JSON object")
    return data


def replay(lines: Iterable[str], engine: Engine, *, batch_size: int = 1) -> Iterator[Json]:
    """Replay trace ``lines`` through ``engine`` (whose clock it takes over), yielding one result per line.

    ``batch_size`` lines at a time share one unit of work (one transaction on SQL backends); the output is
    the same for every batch size.
    """
    return Replay(engine).run(lines, batch_size)


def dumps_line(result: Json) -> str:
    """One output line: compact JSON in the result's key order, so that reruns compare byte for byte."""
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


@attrs.define
class Summary:
    """Counts over a replay's results, for the report on stderr. Threads, tickets and messages are those created."""

    lines: int = 0
    outcomes: Counter[str] = attrs.field(factory=Counter)
    errors: Counter[str] = attrs.field(factory=Counter)
    threads: int = 0
    tickets: int = 0
    messages: int = 0
    events: int = 0

    def add(self, result: Json) -> None:
        self.lines += 1
        if not result["ok"]:
            self.errors[result["error"]["code"]] += 1
            return
        self.outcomes[result["outcome"]] += 1
        types = Counter(event["type"] for event in result["events"])
        self.threads += types["THREAD_CREATED"]
        self.tickets += types["TICKET_CREATED"]
        self.messages += types["MESSAGE_APPENDED"]
        self.events += len(result["events"])

    def render(self, elapsed: float) -> str:
        """A few human-readable lines; messages per second counts the messages this replay stored."""
        rate = self.messages / elapsed if elapsed > 0 else 0.0
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())) or "none"
        errors = ", ".join(f"{code} {count}" for code, count in sorted(self.errors.items())) or "none"
        return (
            f"lines: {self.lines}\n"
            f"outcomes: {outcomes}\n"
            f"errors: {errors}\n"
            f"threads: {self.threads}, tickets: {self.tickets}, messages: {self.messages}, events: {self.events}\n"
            f"elapsed: {elapsed:.3f} s, {rate:.0f} messages/s\n"
        )
