"""The engine: the facade an embedding server calls. It is the impure shell around ``rules``.

For each command it normalizes the input, plans the read, and then, in one unit of work, loads the view,
decides, and commits the decision with its events. When a backend reports a lost race (``WriteConflict``) the
whole unit of work is retried with a jittered backoff, so the decision is always made on fresh state; a stale view
a backend remembered (``StaleView``) is retried at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar, cast

import attrs

from . import rules
from .clock import utc_now
from .command_methods import CommandMethods, Result
from .commands import (
    Command,
    CompleteStagingToken,
    PublishMessage,
    StartConversation,
)
from .decisions import NO_CHANGES, Decision, Policy, ViewQuery
from .deferred import drawn_ids
from .errors import StaleView, StorageError, ThreadingError, UnseenDuplicate, ValidationError, WriteConflict
from .events import EventRecord
from .ids import SequentialIds, SpareIds, UniqueIds
from .memos import Memo
from .model import Channel, ChannelAccount, Message, StagingToken, Thread, Ticket
from .positional import by_position
from .reads import ReadMethods
from .repository import DeferringUnitOfWork, PendingEvent, Repository, UnitOfWork
from .rules import IdFactory
from .rules.remembered import Memos
from .storable import MAX_COUNT, is_id, shown
from .validation import check_clock, check_list, check_moment, check_reference, checked_ids, not_found

Clock = Callable[[], datetime]
# Commands keyed by their account: the engine looks up (and caches) the account and channel to plan them.
_ROUTED_BY_ACCOUNT = (PublishMessage, StartConversation)
# How many accounts' routing facts an engine remembers. Past that it forgets them all and reads each again
# once: a bound for an engine that serves accounts without end, at the price of one read per account.
MAX_ROUTES_REMEMBERED = 10_000
_T = TypeVar("_T")


# Built for every command: by position (see ``positional``).
_Result = by_position(
    Result, "outcome", "channel_id", "channel_account_id", "thread_id", "ticket_id", "message_id", "events"
)
_PendingEvent = by_position(PendingEvent, "event_id", "timestamp", "event")


class Engine(CommandMethods, ReadMethods):
    """Decides threads for messages and keeps them in a :class:`Repository`.

    ``clock`` gives the engine's time (R4's "now"); ``ids`` makes new ids from a kind (``"thread"``,
    ``"message"``, ...; by default a :class:`UniqueIds` of its own); ``policy`` holds the reopen window. All
    three are injected so tests and replays are reproducible. The engine is safe to share between the threads
    of a process if its repository is.

    The engine remembers what it may between commands (identifier spellings it checked, each account's routing
    facts, ...; see ``memos``) and takes shortcuts for inputs already in canonical form. ``fast_paths=False``
    turns all of that off; the results, events and stored state are the same either way.
    """

    def __init__(
        self,
        repository: Repository | None = None,
        *,
        clock: Clock = utc_now,
        ids: IdFactory | None = None,
        policy: Policy | None = None,
        max_attempts: int = 10,
        fast_paths: bool = True,
    ) -> None:
        if not isinstance(fast_paths, bool):
            raise ValidationError(
                f"fast_paths {shown(fast_paths)} is not True or False", field="fast_paths", value=fast_paths
            )
        if not (isinstance(max_attempts, int) and max_attempts >= 1):
            raise ValidationError(
                f"max_attempts {shown(max_attempts)} is not a whole number of at least 1",
                field="max_attempts",
                value=max_attempts,
            )
        if repository is None:
            from .backends.memory import MemoryRepository

            repository = MemoryRepository()
        self.repository = repository
        self.clock = clock
        # Each engine draws its own ids (see UniqueIds: randomness once a millisecond, not once an id).
        self.ids = UniqueIds() if ids is None else ids
        self.policy = policy or Policy()
        self.max_attempts = max_attempts
        self.fast_paths = fast_paths
        # What this engine remembers between commands, for the rules (``None`` when fast paths are off: the
        # rules then build everything afresh and take no shortcut).
        self._memos = Memos() if fast_paths else None
        self._spellings = None if self._memos is None else self._memos.spellings
        # An account's identifier and its channel's capabilities never change, so routing facts can be
        # remembered (up to MAX_ROUTES_REMEMBERED accounts); anything that does change (``authorized``) is
        # read fresh in every view.
        self._routing: Memo[str, tuple[ChannelAccount, Channel]] = Memo(MAX_ROUTES_REMEMBERED if fast_paths else 0)
        # Ids of attempts that stored nothing (``SpareIds``): recorded for every attempt on a store that may find
        # a remembered view stale, and given back by a message decided again after a duplicate its view left out.
        self._spare_ids = SpareIds()
        self._records_attempts = bool(getattr(repository, "may_answer_stale", False))
        # Whether a message's view may leave its duplicate out, to be found by the save (``deferred.py``).
        self._defers_duplicates = fast_paths and bool(getattr(repository, "defers_duplicates", False))

    # -- the one entry point -------------------------------------------------------------------------------

    def execute(self, command: Command) -> Result:
        """Handle one command; raises a :class:`ThreadingError` subclass if it is rejected."""
        command = rules.normalize(command, self._spellings)
        # Counted by hand rather than over a ``range``: nearly every command succeeds at its first attempt, and the
        # range with its iterator cost some 1,300 instructions a command under callgrind.
        attempt = 1
        while True:
            # On a store that may decide from a stale remembered view, each attempt's ids are recorded.
            drawing = self._spare_ids.drawing(self._checked_ids()) if self._records_attempts else None
            try:
                with self.repository.unit_of_work() as unit:
                    decision, events = self._decide(unit, command, ids=drawing)
                    # ``NO_CHANGES`` told by identity first, as in ``_decide``.
                    changed = events or (decision.changes is not NO_CHANGES and decision.changes)
                    records = unit.commit() if changed else ()
                return _result(decision, records)
            except WriteConflict as conflict:
                if drawing is not None and isinstance(conflict, StaleView):  # nothing was stored: ids are spare
                    drawing.give_back()
                self._back_off(attempt, conflict)  # raises once the last attempt is lost
            attempt += 1

    def execute_many(
        self, commands: Iterable[Command], *, times: Sequence[datetime] | None = None
    ) -> list[Result | ThreadingError]:
        """Handle ``commands`` in order, in one unit of work: each gets its result or its error, exactly as if
        sent one by one, and a rejected command undoes nothing of the others.

        On SQL backends the whole batch is one transaction, which is what makes it fast; a lost race retries
        the whole batch. Errors are returned, not raised, except a :class:`StorageError` for the batch itself.
        ``times``, one per command, replaces the clock (R4's "now"): for replaying traffic as it arrived.
        """
        commands = check_list(commands, "commands", "commands")
        checked_times = None if times is None else check_list(times, "times", "times")
        if checked_times is not None and len(checked_times) != len(commands):
            raise ValidationError(
                f"times holds {len(checked_times)} times for {len(commands)} commands: one each",
                field="times",
                value=len(checked_times),
            )
        normalized: list[Command | ThreadingError] = []
        for index, command in enumerate(commands):
            try:
                if checked_times is not None:
                    checked_times[index] = check_moment(checked_times[index], f"times[{index}]")
                normalized.append(rules.normalize(command, self._spellings))
            except ThreadingError as error:
                normalized.append(error)
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._execute_batch(normalized, checked_times)
            except WriteConflict as conflict:
                self._back_off(attempt, conflict)
        raise AssertionError("unreachable")

    def _execute_batch(
        self, commands: list[Command | ThreadingError], times: Sequence[datetime] | None
    ) -> list[Result | ThreadingError]:
        outcomes: list[tuple[Decision, int] | ThreadingError] = []
        with self.repository.unit_of_work() as unit:
            planned: list[ViewQuery | None] = [None] * len(commands)
            prefetch = getattr(unit, "prefetch", None)
            if prefetch is not None:  # optional (PrefetchingUnitOfWork): the batch's views read ahead at once
                queries = []
                for index, command in enumerate(commands):
                    if isinstance(command, ThreadingError):
                        continue
                    account_id = getattr(command, "channel_account_id", None)
                    routing = self._routing.get(account_id) if isinstance(account_id, str) else None
                    query = rules.plan(command, *(routing or (None, None)))
                    queries.append(query)
                    # A message planned without its routing asked for the account only: plan it again later.
                    if routing is not None or not isinstance(command, _ROUTED_BY_ACCOUNT):
                        planned[index] = query
                prefetch(queries)
            for index, command in enumerate(commands):
                if isinstance(command, ThreadingError):
                    outcomes.append(command)
                    continue
                try:
                    at = None if times is None else times[index]
                    decision, events = self._decide(unit, command, at, planned[index])
                except StorageError:
                    # The store failed mid-save: what this command saved may be half written, so the whole
                    # batch is undone (and retried, if the failure is a lost race).
                    raise
                except ThreadingError as error:
                    outcomes.append(error)
                    continue
                outcomes.append((decision, len(events)))
            records = unit.commit()
        results: list[Result | ThreadingError] = []
        position = 0
        for outcome in outcomes:
            if isinstance(outcome, ThreadingError):
                results.append(outcome)
                continue
            decision, count = outcome
            results.append(_result(decision, records[position : position + count]))
            position += count
        return results

    def _checked_ids(self) -> IdFactory:
        """The ids factory, checked unless it is one of the library's own and fast paths are on."""
        new_id = self.ids
        if not self.fast_paths or (type(new_id) is not UniqueIds and type(new_id) is not SequentialIds):
            return checked_ids(new_id)
        return new_id

    def _decide(
        self,
        unit: UnitOfWork,
        command: Command,
        at: datetime | None = None,
        planned: ViewQuery | None = None,
        ids: IdFactory | None = None,
    ) -> tuple[Decision, list[PendingEvent]]:
        """Load, decide and save one normalized command inside ``unit``; returns the decision and its events.

        ``planned`` is the command's query if a batch already planned it for its read-ahead; ``ids``, a factory
        (already checked) to draw this command's ids from instead of the engine's."""
        account = channel = token = None
        if isinstance(command, _ROUTED_BY_ACCOUNT):
            account_id = command.channel_account_id
            # The cache read first, here: the common case then costs no call.
            routing = self._routing.get(account_id) if isinstance(account_id, str) else None
            account, channel = routing or self._routing_for(
                unit, account_id, "V5" if isinstance(command, PublishMessage) else "R3"
            )
        elif isinstance(command, CompleteStagingToken):  # T1: the token, read in this unit too
            token = command.account_token
        query = planned if planned is not None else rules.plan(command, account, channel)
        deferring = self._defers_duplicates and query.idempotency_id is not None
        # (Not through ``typing.cast``, a call at run time; ``deferring`` says the unit is a DeferringUnitOfWork.)
        view = unit.load_deferring_duplicate(query) if deferring else unit.load(query)  # type: ignore[attr-defined]
        if token is not None:
            view = attrs.evolve(view, staging_token=unit.load_staging_token(token))
        now = self.clock() if at is None else at
        fast = self.fast_paths
        # ``storable.is_plain_moment`` written out (it runs for every command); anything else is checked in full.
        if not (fast and now.__class__ is datetime and now.tzinfo is UTC and 1 < now.year < 9999):
            now = check_clock(now)
        new_id = ids
        if new_id is None and self._spare_ids.count:  # ids given back by a message decided again (``deferred``)
            new_id = self._spare_ids.first(self.ids, self._checked_ids)
        if new_id is None:
            new_id = self.ids
            if fast and (new_id.__class__ is UniqueIds or new_id.__class__ is SequentialIds):
                # The factory's bound ``__call__``: a call through the instance goes through its type's call slot,
                # some 650 instructions more an id under callgrind, and a message draws two to four ids.
                new_id = new_id.__call__
            else:
                new_id = checked_ids(new_id)
        try:
            decision = rules.decide(view, command, now, self.policy, new_id, query if fast else None, self._memos)
        except ThreadingError:
            # A rejection stands only if the view left out no duplicate, which D1 answers first. (A publish keyed by
            # its participants draws no id before a rejection: ``tests/test_deferred.py``.)
            if deferring and not cast(DeferringUnitOfWork, unit).confirm_not_duplicate(query):
                return self._decide(unit, command, at, planned, ids)
            raise
        events = []
        for event in decision.events:
            events.append(_PendingEvent(new_id("event"), now, event))
        # ``NO_CHANGES`` told by identity first: nearly every decision without events (a duplicate) has it, and
        # ``Changes.__bool__`` reads all seven fields to say so.
        if events or (decision.changes is not NO_CHANGES and decision.changes):
            try:
                unit.save(decision.changes, events)
            except UnseenDuplicate:
                if not deferring:
                    raise
                # Nothing of this save was written: its ids go to the next commands, as if never drawn.
                self._spare_ids.give_back(drawn_ids(view, decision.changes, events))
                return self._decide(unit, command, at, planned, ids)
        return decision, events

    def _back_off(self, attempt: int, conflict: WriteConflict) -> None:
        if attempt >= self.max_attempts:  # ``>=``: ``execute`` counts its attempts without a bound of its own
            raise StorageError(
                f"gave up after {attempt} attempts lost to concurrent writers: {conflict}",
                field=conflict.field,
                value=conflict.value,
                rule=conflict.rule,
            ) from conflict
        if not isinstance(conflict, StaleView):  # a stale remembered view lost no race: the next try reads afresh
            time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))

    def _routing_for(self, unit: UnitOfWork, channel_account_id: str, rule: str) -> tuple[ChannelAccount, Channel]:
        """The account and channel a message is keyed by; read once, inside the unit, then cached.

        ``channel_account_id`` was checked by ``normalize``; ``rule`` is the one to cite if it names nothing."""
        cached = self._routing.get(channel_account_id)
        if cached is not None:
            return cached
        view = unit.load(ViewQuery(channel_account_id=channel_account_id))
        if view.account is None or view.channel is None:
            raise not_found("channelAccountId", channel_account_id, "channel account", rule)
        return self._routing.remember(channel_account_id, (view.account, view.channel))

    # -- reads and the outbox ------------------------------------------------------------------------------

    def channel(self, channel_id: str) -> Channel:
        return _found(self.repository.get_channel, channel_id, "channelId", "channel")

    def channel_account(self, channel_account_id: str) -> ChannelAccount:
        return _found(self.repository.get_account, channel_account_id, "channelAccountId", "channel account")

    def thread(self, thread_id: str) -> Thread:
        return _found(self.repository.get_thread, thread_id, "threadId", "thread")

    def ticket(self, ticket_id: str) -> Ticket:
        return _found(self.repository.get_ticket, ticket_id, "ticketId", "ticket")

    def message(self, message_id: str) -> Message:
        return _found(self.repository.get_message, message_id, "messageId", "message")

    def staging_token(self, token: str) -> StagingToken:
        """A staging token (T1) by its ``accountToken``; completed ones too."""
        return _found(self.repository.get_staging_token, token, "accountToken", "staging token")

    def threads(self, channel_account_id: str | None = None) -> list[Thread]:
        """Threads of one account (or all), archived ones included, in creation order; none for an id that
        cannot be one."""
        if channel_account_id is not None and not is_id(channel_account_id):
            return []
        return self.repository.list_threads(channel_account_id)

    def messages(self, thread_id: str) -> list[Message]:
        return self.repository.list_messages(self.thread(thread_id).id)

    def pending_events(self, limit: int | None = None) -> list[EventRecord]:
        """Events not yet acknowledged, oldest first: deliver them, then :meth:`acknowledge` them."""
        if limit is not None and not (
            isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit <= MAX_COUNT
        ):
            raise ValidationError(
                f"limit {shown(limit)} is not a whole number from 0 to {MAX_COUNT:,}", field="limit", value=limit
            )
        return self.repository.pending_events(limit)

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        """Mark events delivered; returns how many were pending. Unknown or repeated ids are ignored."""
        if isinstance(event_ids, str | bytes) or not isinstance(event_ids, Iterable):
            raise ValidationError(
                f"eventIds {shown(event_ids)} is not a list of event ids", field="eventIds", value=event_ids
            )
        wanted = []
        for index, event_id in enumerate(event_ids):
            if not isinstance(event_id, str):
                field = f"eventIds[{index}]"
                raise ValidationError(f"{field} {shown(event_id)} is not a string", field=field, value=event_id)
            if is_id(event_id):  # any other names no event: no store is asked about it
                wanted.append(event_id)
        return self.repository.acknowledge(wanted)

    def close(self) -> None:
        self.repository.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _found(get: Callable[[str], _T | None], wanted: object, field: str, names: str) -> _T:
    """What ``get`` reads for the id ``wanted``, or NOT_FOUND; a value that cannot be an id is not looked up."""
    value = get(check_reference(wanted, field, names, None))
    if value is None:
        raise not_found(field, wanted, names, None)
    return value


def _result(decision: Decision, records: Sequence[EventRecord]) -> Result:
    return _Result(
        decision.outcome,
        decision.channel_id,
        decision.channel_account_id,
        decision.thread_id,
        decision.ticket_id,
        decision.message_id,
        tuple(records),
    )
