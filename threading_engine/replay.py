"""Replays a trace file through an engine (SPEC section 8), one JSON result per trace line.

A trace is JSON Lines: every line is one command with ``op`` and ``at`` (the engine's clock for that
command). Lines name what they create with ``ref``, and later lines point back with ``channel``,
``account`` (refs) and ``thread: {"of": <ref of a message>}``. Everything else on a line is the camelCase
body HubSpot's API would receive, parsed by :mod:`.hubspot`, so a trace exercises the same JSON edge as a
server would. A bad line becomes an error result and the replay goes on, so one typo does not hide the rest;
what makes a line readable is ``tracefile.py``'s. A store error is not the line's fault: it stops the replay,
which ``resume=True`` continues later (``resume.py``).

This module knows nothing of files or argument parsing: :func:`replay` takes lines and an engine and yields
results, so tests and the command line (``cli.py``) drive it alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime

import attrs

from . import hubspot
from .backends.memory import MemoryRepository
from .command_methods import Result
from .commands import (
    ArchiveChannel,
    ArchiveChannelAccount,
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    CreateChannelAccount,
    ReopenThread,
    RestoreThread,
)
from .engine import Engine
from .errors import NotFoundError, StorageError, ThreadingError, ValidationError
from .resume import CommittedEvents, ResumePoint
from .tracefile import TRACE_RULE, Json, decode_line, numbered_lines, quoted, trace_error

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
    # Whether the line also names a channel by ref (``channel``), handed to ``build`` as ``channelId``: the
    # message status op names both, as HubSpot's path does.
    names_channel: bool = False


def _publish(account_id: str, body: Json) -> Command:
    if "channelAccountId" in body:
        # The account is named by ref; an id written into a trace would not survive a change of id scheme.
        raise trace_error("channelAccountId", body["channelAccountId"], 'is not a trace field: use "account"')
    return hubspot.parse_publish_message({**body, "channelAccountId": account_id})


def _message_status(message_id: str, body: Json) -> Command:
    channel_id = body.pop("channelId")
    return hubspot.parse_update_message_status(channel_id, message_id, body)


def _without_body(kind: Callable[[str], Command], target: str = "thread") -> _Op:
    """The op of a command that takes only its target's id (a thread command, an archive)."""

    def build(target_id: str, body: Json) -> Command:
        if body:
            key, value = next(iter(body.items()))
            raise trace_error(key, value, "is not a field of this op")
        return kind(target_id)

    return _Op(target=target, creates=None, build=build)


OPS: Mapping[str, _Op] = {
    "createChannel": _Op(target=None, creates="channel", build=lambda _, body: hubspot.parse_create_channel(body)),
    "updateChannel": _Op(target="channel", creates=None, build=hubspot.parse_update_channel),
    "createChannelAccount": _Op(target="channel", creates="account", build=hubspot.parse_create_account),
    "updateChannelAccount": _Op(target="account", creates=None, build=hubspot.parse_update_account),
    "archiveChannel": _without_body(ArchiveChannel, "channel"),
    "archiveChannelAccount": _without_body(ArchiveChannelAccount, "account"),
    "updateMessageStatus": _Op(target="message", creates=None, build=_message_status, names_channel=True),
    "publishMessage": _Op(target="account", creates="message", build=_publish),
    "reply": _Op(target="thread", creates="message", build=hubspot.parse_reply),
    "startConversation": _Op(target="account", creates="message", build=hubspot.parse_start_conversation),
    "closeThread": _without_body(CloseThread),
    "archiveThread": _without_body(ArchiveThread),
    "restoreThread": _without_body(RestoreThread),
    "reopenThread": _without_body(ReopenThread),
    "closeTicket": _without_body(CloseTicket),
}


@attrs.frozen
class StoreStop:
    """Why a replay stopped early: the store failed (a :class:`StorageError`) on ``line``, which was not applied."""

    line: int
    error: StorageError


class Replay:
    """One replay in progress: the engine, the clock it now reads, and the refs named so far.

    Creating a ``Replay`` sets ``engine.clock`` to a :class:`TraceClock`: in a replay, time is the trace's.
    After a run, ``stopped`` tells whether a store error ended it early, and ``resumed`` where a resumed run
    took over from what the store already held (see :mod:`.resume`).
    """

    def __init__(self, engine: Engine, *, portal_id: str = hubspot.DEFAULT_PORTAL_ID) -> None:
        self.engine = engine
        self.portal_id = hubspot.check_portal_id(portal_id)
        self.clock = TraceClock()
        engine.clock = self.clock
        self._refs: dict[str, _Ref] = {}
        self._committed: CommittedEvents | None = None
        self.stopped: StoreStop | None = None
        self.resumed: ResumePoint | None = None

    def run(
        self,
        lines: Iterable[str],
        batch_size: int = 1,
        *,
        resume: bool = False,
        on_verified: Callable[[], None] | None = None,
    ) -> Iterator[Json]:
        """One result per non-blank line, in order; line numbers count physical lines, blank ones included.

        With ``batch_size`` above 1, consecutive lines are handled in one unit of work
        (:meth:`Engine.execute_many`), with the same results; a line that refers to something created
        earlier in the pending batch sends the batch first, since it needs its ids.

        A :class:`StorageError` stops the run after the results of the lines it kept from the store (each an
        error line): the lines after it would be decided on a state the trace never described. ``resume``
        first re-derives, without writing, the lines whose events the store already holds, and raises
        :class:`ResumeError` if the store holds anything else. ``on_verified`` is called once the store is
        known to hold a replay of the lines before, before anything is written to it.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size {batch_size} is below 1")
        numbered = numbered_lines(lines)
        if resume:
            yield from self._rederive(numbered)
        if on_verified is not None:
            on_verified()
        if batch_size == 1:
            for number, text in numbered:
                yield self.line(number, text)
                if self.stopped is not None:
                    return
            return
        yield from self._run_batches(numbered, batch_size)

    def _rederive(self, numbered: Iterator[tuple[int, str]]) -> Iterator[Json]:
        """Replay, into memory, the first lines whose events ``self.engine``'s store holds (``resume.py``)."""
        committed = CommittedEvents(self.engine.repository)
        if committed.exhausted:
            return
        store_engine = self.engine
        self.engine = Engine(MemoryRepository(), clock=self.clock, ids=store_engine.ids, policy=store_engine.policy)
        self._committed = committed
        number = 0
        for number, text in numbered:
            yield self.line(number, text)
            if committed.exhausted:
                break
        else:
            raise committed.unmatched()
        self.engine, self._committed = store_engine, None
        self.resumed = ResumePoint(line=number, events=committed.matched)

    def _run_batches(self, numbered: Iterator[tuple[int, str]], batch_size: int) -> Iterator[Json]:
        pending: list[_Planned | Json] = []
        for number, text in numbered:
            try:
                data = decode_line(text)
            except ThreadingError as error:
                pending.append(_failed(number, None, error))
            else:
                if _refs_named(data) & {p.ref for p in pending if isinstance(p, _Planned)}:
                    yield from self._send(pending)
                    if self.stopped is not None:
                        return
                try:
                    pending.append(self._plan(number, data))
                except ThreadingError as error:
                    pending.append(_failed(number, data.get("ref"), error))
            if len(pending) >= batch_size:
                yield from self._send(pending)
                if self.stopped is not None:
                    return
        yield from self._send(pending)

    def _send(self, pending: list[_Planned | Json]) -> Iterator[Json]:
        planned = [p for p in pending if isinstance(p, _Planned)]
        outcomes: list[Result | ThreadingError] = []
        if planned:
            try:
                outcomes = self.engine.execute_many([p.command for p in planned], times=[p.at for p in planned])
            except StorageError as error:  # the whole batch failed: none of its lines was applied
                outcomes = [error] * len(planned)
        found = iter(outcomes)
        for item in pending:
            if not isinstance(item, _Planned):
                yield item
                continue
            outcome = next(found)
            if isinstance(outcome, StorageError) and self.stopped is None:
                self.stopped = StoreStop(line=item.number, error=outcome)
            if isinstance(outcome, ThreadingError):
                yield _failed(item.number, item.ref, outcome)
            else:
                yield self._finish(item, outcome)
        pending.clear()

    def line(self, number: int, text: str) -> Json:
        """The result of one trace line: ``ok`` with the outcome, ids and events, or the error."""
        ref: object = None
        try:
            data = decode_line(text)
            ref = data.get("ref")
            planned = self._plan(number, data)
            self.clock.now = planned.at
            result = self.engine.execute(planned.command)
        except StorageError as error:
            self.stopped = StoreStop(line=number, error=error)
            return _failed(number, ref, error)
        except ThreadingError as error:
            return _failed(number, ref, error)
        return self._finish(planned, result)

    def _finish(self, planned: _Planned, result: Result) -> Json:
        if self._committed is not None:
            events = tuple(self._committed.match(record, planned.number) for record in result.events)
            result = attrs.evolve(result, events=events)
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
            raise _required("op", "")
        op = OPS.get(op_name) if isinstance(op_name, str) else None
        if op is None:
            raise trace_error("op", op_name, f"is not a trace op (one of {', '.join(OPS)})")
        if "at" not in data:
            raise _required("at", ": the engine's clock for this line")
        at = hubspot.parse_timestamp(data["at"], "at")
        ref = self._new_ref(data)
        target_id = self._target(op, data)
        body = {key: value for key, value in data.items() if key not in _LINE_KEYS and key != op.target}
        if op.names_channel:
            if "channel" not in body:
                raise _required("channel", " for this op")
            body["channelId"] = self._lookup(body.pop("channel"), "channel", "channel").id
        command = op.build(target_id, body)
        if isinstance(command, CreateChannelAccount):  # the replay's accounts are its portal's (P1)
            command = attrs.evolve(command, portal_id=self.portal_id)
        return _Planned(number=number, ref=ref, op=op, command=command, at=at)

    def _new_ref(self, data: Json) -> str | None:
        ref = data.get("ref")
        if ref is None:
            return None
        if not isinstance(ref, str) or not ref:
            raise trace_error("ref", ref, "is not a non-empty string")
        earlier = self._refs.get(ref)
        if earlier is not None:
            raise trace_error("ref", ref, f"already names the {earlier.kind} created on line {earlier.line}")
        return ref

    def _target(self, op: _Op, data: Json) -> str:
        if op.target is None:
            return ""
        if op.target not in data:
            raise _required(op.target, " for this op")
        value = data[op.target]
        if op.target != "thread":
            return self._lookup(value, op.target, op.target).id
        if not isinstance(value, dict) or set(value) != {"of"}:
            raise trace_error("thread", value, 'is not {"of": "<ref of a message>"}')
        landed = self._lookup(value["of"], "message", "thread.of")
        assert landed.thread_id is not None
        return landed.thread_id

    def _lookup(self, ref: object, kind: str, field: str) -> _Ref:
        if not isinstance(ref, str):
            article = "an" if kind[0] in "aeiou" else "a"
            raise trace_error(field, ref, f"is not the ref of {article} {kind}")
        found = self._refs.get(ref)
        if found is None or found.kind != kind:
            landed = " that landed" if kind == "message" else ""
            raise NotFoundError(
                f"{field} {quoted(ref)} names no {kind}{landed} earlier in the trace ({TRACE_RULE})",
                field=field,
                value=ref,
                rule=TRACE_RULE,
            )
        return found

    def _remember(self, ref: str, kind: str, number: int, result: Result) -> None:
        ids = {"channel": result.channel_id, "account": result.channel_account_id, "message": result.message_id}
        created = ids[kind]
        assert created is not None
        self._refs[ref] = _Ref(kind=kind, id=created, line=number, thread_id=result.thread_id)


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
        "error": {"code": error.code, "message": error.message, "field": error.field, "rule": error.rule},
    }


def _required(field: str, why: str) -> ValidationError:
    return ValidationError(f"{field} is required{why} ({TRACE_RULE})", field=field, rule=TRACE_RULE)


def _refs_named(data: Json) -> set[str]:
    """The refs a line names (its own, its channel, account, message, or thread's message), whatever their
    validity."""
    used = [data.get("ref"), data.get("channel"), data.get("account"), data.get("message")]
    thread = data.get("thread")
    if isinstance(thread, dict):
        used.append(thread.get("of"))
    return {ref for ref in used if isinstance(ref, str)}


def replay(
    lines: Iterable[str],
    engine: Engine,
    *,
    batch_size: int = 1,
    resume: bool = False,
    portal_id: str = hubspot.DEFAULT_PORTAL_ID,
) -> Iterator[Json]:
    """Replay trace ``lines`` through ``engine`` (whose clock it takes over), yielding one result per line.

    ``batch_size`` lines at a time share one unit of work (one transaction on SQL backends); the output is
    the same for every batch size. ``resume`` continues a replay that stopped midway (see :meth:`Replay.run`).
    ``portal_id`` is the portal (P1) the webhooks in the results carry.
    """
    return Replay(engine, portal_id=portal_id).run(lines, batch_size, resume=resume)


def dumps_line(result: Json) -> str:
    """One output line: compact JSON in the result's key order, so that reruns compare byte for byte."""
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))
