"""The in-memory backend: the reference implementation of the repository contract.

Plain dictionaries behind one re-entrant lock. A unit of work holds the lock from its first load to its end,
so units of work run one at a time and never conflict; ``commit`` still checks every uniqueness rule and
raises :class:`WriteConflict` rather than store a state the contract forbids.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..decisions import Changes, View, ViewQuery
from ..errors import WriteConflict
from ..events import EventRecord, EventRecordByPosition
from ..identifiers import DeliveryIdentifier, IdentifierType
from ..model import THREAD_OPEN, Channel, ChannelAccount, Message, StagingToken, Thread, Ticket
from ..repository import PendingEvent, id_taken
from .memory_pages import MemoryPages
from .view import NAMES_FROM_MESSAGES, assemble_view

_Pair = tuple[str, str]
_K = TypeVar("_K", str, _Pair)
# (kind, id, the value before the change): how to take one saved change back.
_Undo = tuple[str, str, object]


class MemoryRepository(MemoryPages):
    """Keeps everything in process memory; safe for the threads of one process.

    It is its own view's lookups (``view.ViewLookups``): a unit of work's ``load`` is ``view.assemble_view``
    over the repository's dictionaries and indexes. (Lookups kept in an object of their own, holding the
    dictionaries' bound ``get``, cost some 4,000 more instructions per append under callgrind.)
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._channels: dict[str, Channel] = {}
        self._accounts: dict[str, ChannelAccount] = {}
        self._threads: dict[str, Thread] = {}
        self._tickets: dict[str, Ticket] = {}
        self._messages: dict[str, Message] = {}
        self._thread_messages: dict[str, list[str]] = {}
        # Indexes that make each uniqueness rule and each view lookup a dictionary access.
        # The key's indexes are nested, account -> key -> ..., rather than keyed by an (account, key) tuple: a
        # tuple kept for every key is 56 bytes. A key's thread ids, in creation order, are a tuple, 40 bytes less
        # than a list: nearly every key has one thread, and gains another only once R4's window has passed.
        self._threads_by_key: dict[str, dict[str, tuple[str, ...]]] = {}
        # The values themselves, not their ids: a view's lookup is then one dictionary access.
        self._open_by_key: dict[str, dict[str, Thread]] = {}  # U1
        self._live_by_integration_id: dict[_Pair, Thread] = {}  # U3
        self._message_by_idempotency_id: dict[_Pair, Message] = {}  # U2
        self._account_by_identifier: dict[tuple[str, DeliveryIdentifier], str] = {}  # U4
        self._events: list[EventRecord] = []
        self._event_ids: set[str] = set()  # U0 for events
        self._pending: dict[str, EventRecord] = {}
        self._staging_tokens: dict[str, StagingToken] = {}  # T1
        # The view's assembly bound to the store's lookups, once: a unit of work's ``load`` (see ``unit_of_work``).
        self._load: Callable[[ViewQuery], View] = functools.partial(assemble_view, self)

    # -- the view's lookups (``view.ViewLookups``): the memory store is nothing more -----------------------

    def thread(self, thread_id: str) -> Thread | None:
        return self._threads.get(thread_id)

    def account(self, channel_account_id: str) -> ChannelAccount | None:
        return self._accounts.get(channel_account_id)

    def channel(self, channel_id: str) -> Channel | None:
        return self._channels.get(channel_id)

    def ticket(self, ticket_id: str) -> Ticket | None:
        return self._tickets.get(ticket_id)

    def open_thread(self, account_id: str, key: str) -> Thread | None:
        open_by_key = self._open_by_key.get(account_id)
        return None if open_by_key is None else open_by_key.get(key)

    def latest_closed_thread(self, account_id: str, key: str) -> Thread | None:
        best = None
        # Creation order, so ">=" makes the one created last win a tie on closed_at (R4b).
        threads_by_key = self._threads_by_key.get(account_id)
        for thread_id in () if threads_by_key is None else threads_by_key.get(key, ()):
            thread = self._threads[thread_id]
            if thread.integration_thread_id is not None or thread.archived or thread.closed_at is None:
                continue
            if best is None or best.closed_at is None or thread.closed_at >= best.closed_at:
                best = thread
        return best

    def live_integration_thread(self, account_and_integration_thread_id: tuple[str, str]) -> Thread | None:
        return self._live_by_integration_id.get(account_and_integration_thread_id)

    def message_by_idempotency_id(self, account_and_idempotency_id: tuple[str, str]) -> Message | None:
        return self._message_by_idempotency_id.get(account_and_idempotency_id)

    def message(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def latest_messages(self, thread_id: str) -> list[Message]:
        ids = self._thread_messages.get(thread_id, [])[-NAMES_FROM_MESSAGES:]
        return [self._messages[message_id] for message_id in reversed(ids)]

    def identifier_types_in_use(self, channel_id: str) -> frozenset[IdentifierType]:
        return frozenset(a.delivery_identifier.type for a in self._accounts.values() if a.channel_id == channel_id)

    def account_by_identifier(self, channel_and_identifier: tuple[str, DeliveryIdentifier]) -> ChannelAccount | None:
        account_id = self._account_by_identifier.get(channel_and_identifier)
        return None if account_id is None else self._accounts[account_id]

    # -- transactions -------------------------------------------------------------------------------------

    def unit_of_work(self) -> _MemoryUnitOfWork:
        return _MemoryUnitOfWork(self)

    def _save(self, changes: Changes, events: Sequence[PendingEvent], undo: list[_Undo]) -> None:
        """Check every uniqueness rule, then apply ``changes`` at once (the lock keeps them private), noting how to
        take each back; the events' undo is the unit's (it drops every event stored after its start).

        The checks come first and written out here, not in a method of their own: a call costs as much as the
        checks themselves, and an idempotency id's index key is then built once for both."""
        account = changes.account
        if account is not None:
            holder = self._account_by_identifier.get((account.channel_id, account.delivery_identifier))
            if holder is not None and holder != account.id:
                raise WriteConflict(f"U4: {account.delivery_identifier} already belongs to account {holder}", rule="U4")
        for thread in changes.threads:
            if thread.integration_thread_id is None and thread.status is THREAD_OPEN and not thread.archived:
                open_by_key = self._open_by_key.get(thread.channel_account_id)
                open_thread = None if open_by_key is None else open_by_key.get(thread.key)
                if open_thread is not None and open_thread.id != thread.id:
                    raise WriteConflict(f"U1: thread {open_thread.id} is already open for key {thread.key}", rule="U1")
            if thread.integration_thread_id is not None and not thread.archived:
                live = self._live_by_integration_id.get((thread.channel_account_id, thread.integration_thread_id))
                if live is not None and live.id != thread.id:
                    raise WriteConflict(f"U3: thread {live.id} is live for {thread.integration_thread_id}", rule="U3")
        message = changes.message
        idempotency_key = None
        if message is not None:
            if message.id in self._messages:
                raise id_taken("messageId", message.id)
            if message.integration_idempotency_id is not None:
                idempotency_key = (message.channel_account_id, message.integration_idempotency_id)
                if idempotency_key in self._message_by_idempotency_id:
                    raise WriteConflict(f"U2: idempotency id {message.integration_idempotency_id} is used", rule="U2")
        event_ids = self._event_ids
        for pending in events:
            if pending.event_id in event_ids:
                raise id_taken("eventId", pending.event_id)
        if len(events) > 1 and len({pending.event_id for pending in events}) < len(events):
            repeated = [pending.event_id for pending in events]
            raise id_taken("eventId", next(i for i in repeated if repeated.count(i) > 1))
        if changes.channel is not None:
            undo.append(("channel", changes.channel.id, self._channels.get(changes.channel.id)))
            self._channels[changes.channel.id] = changes.channel
        if account is not None:
            undo.append(("account", account.id, self._accounts.get(account.id)))
            self._put_account(account)
        threads = self._threads
        for thread in changes.threads:
            old_thread = threads.get(thread.id)
            undo.append(("thread", thread.id, old_thread))
            self._put_thread(thread, old_thread)
        for ticket in changes.tickets:
            undo.append(("ticket", ticket.id, self._tickets.get(ticket.id)))
            self._tickets[ticket.id] = ticket
        if message is not None:  # stored here, without a call: a message is saved for nearly every command
            undo.append(("message", message.id, None))
            self._messages[message.id] = message
            self._thread_messages[message.thread_id].append(message.id)
            if idempotency_key is not None:
                self._message_by_idempotency_id[idempotency_key] = message
        if changes.changed_message is not None:
            undo.append(("changed_message", changes.changed_message.id, self._messages[changes.changed_message.id]))
            self._replace_message(changes.changed_message)
        if changes.staging_token is not None:
            token = changes.staging_token
            undo.append(("staging_token", token.id, self._staging_tokens.get(token.id)))
            self._staging_tokens[token.id] = token
        stored, pending_by_id = self._events, self._pending
        for pending in events:
            event_id = pending.event_id
            record = EventRecordByPosition(len(stored) + 1, event_id, pending.timestamp, pending.event)
            stored.append(record)
            event_ids.add(event_id)
            pending_by_id[event_id] = record

    def _undo(self, undo: list[_Undo], events_before: int) -> None:
        """Take back saved changes, newest first, and the events stored after the first ``events_before``, so that
        a unit left without commit wrote nothing."""
        for record in self._events[events_before:]:
            self._pending.pop(record.event_id, None)
            self._event_ids.discard(record.event_id)
        del self._events[events_before:]
        for kind, value_id, old in reversed(undo):
            if kind == "message":
                message = self._messages.pop(value_id)
                self._thread_messages[message.thread_id].remove(value_id)
                if message.integration_idempotency_id is not None:
                    del self._message_by_idempotency_id[
                        (message.channel_account_id, message.integration_idempotency_id)
                    ]
            elif kind == "changed_message":
                assert isinstance(old, Message)
                self._replace_message(old)
            elif kind == "thread":
                self._undo_thread(value_id, old)
            elif kind == "ticket":
                self._restore(self._tickets, value_id, old)
            elif kind == "staging_token":
                self._restore(self._staging_tokens, value_id, old)
            elif kind == "channel":
                self._restore(self._channels, value_id, old)
            else:
                account = self._accounts.pop(value_id)
                del self._account_by_identifier[(account.channel_id, account.delivery_identifier)]
                if isinstance(old, ChannelAccount):
                    self._put_account(old)

    def _replace_message(self, message: Message) -> None:
        """Store a new version of a stored message (its status, S1): same id, thread and idempotency id."""
        self._messages[message.id] = message
        if message.integration_idempotency_id is not None:
            self._message_by_idempotency_id[(message.channel_account_id, message.integration_idempotency_id)] = message

    @staticmethod
    def _restore(values: dict[str, Any], value_id: str, old: object) -> None:
        if old is None:
            del values[value_id]
        else:
            values[value_id] = old

    def _undo_thread(self, thread_id: str, old: object) -> None:
        if isinstance(old, Thread):
            self._put_thread(old, self._threads.get(thread_id))
            return
        thread = self._threads.pop(thread_id)
        account_id, key = thread.channel_account_id, thread.key
        threads_by_key = self._threads_by_key[account_id]
        kept = tuple(held for held in threads_by_key[key] if held != thread_id)
        if kept:
            threads_by_key[key] = kept
        else:
            del threads_by_key[key]
        del self._thread_messages[thread_id]
        open_by_key = self._open_by_key.get(account_id)
        if open_by_key is not None and _holds(open_by_key, key, thread_id):
            del open_by_key[key]
        live = (thread.channel_account_id, thread.integration_thread_id or "")
        if _holds(self._live_by_integration_id, live, thread_id):
            del self._live_by_integration_id[live]

    def _put_account(self, account: ChannelAccount) -> None:
        old = self._accounts.get(account.id)
        if old is not None:  # saved with another identifier, it no longer holds the old one (U4)
            del self._account_by_identifier[(old.channel_id, old.delivery_identifier)]
        self._accounts[account.id] = account
        self._account_by_identifier[(account.channel_id, account.delivery_identifier)] = account.id

    def _put_thread(self, thread: Thread, old: Thread | None) -> None:
        """Store ``thread`` over ``old`` (the stored thread with its id, if any) and update the indexes."""
        self._threads[thread.id] = thread
        account_id, key = thread.channel_account_id, thread.key
        if old is None:
            threads_by_key = self._threads_by_key.get(account_id)
            if threads_by_key is None:
                threads_by_key = self._threads_by_key[account_id] = {}
            held = threads_by_key.get(key)
            threads_by_key[key] = (thread.id,) if held is None else (*held, thread.id)
            self._thread_messages[thread.id] = []
        if thread.integration_thread_id is None:
            open_by_key = self._open_by_key.get(account_id)
            # ``Thread.is_open`` written out: a property call costs as much as the rest of this test.
            if thread.status is THREAD_OPEN and not thread.archived:
                if open_by_key is None:
                    open_by_key = self._open_by_key[account_id] = {}
                open_by_key[key] = thread
            elif open_by_key is not None and _holds(open_by_key, key, thread.id):
                del open_by_key[key]
        else:
            live = (thread.channel_account_id, thread.integration_thread_id)
            if not thread.archived:
                self._live_by_integration_id[live] = thread
            elif _holds(self._live_by_integration_id, live, thread.id):
                del self._live_by_integration_id[live]

    # -- reads ---------------------------------------------------------------------------------------------

    def get_channel(self, channel_id: str) -> Channel | None:
        with self._lock:
            return self._channels.get(channel_id)

    def get_account(self, channel_account_id: str) -> ChannelAccount | None:
        with self._lock:
            return self._accounts.get(channel_account_id)

    def get_thread(self, thread_id: str) -> Thread | None:
        with self._lock:
            return self._threads.get(thread_id)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        with self._lock:
            return self._tickets.get(ticket_id)

    def get_message(self, message_id: str) -> Message | None:
        with self._lock:
            return self._messages.get(message_id)

    def get_staging_token(self, token: str) -> StagingToken | None:
        with self._lock:
            return self._staging_tokens.get(token)

    def list_channels(self) -> list[Channel]:
        with self._lock:
            return list(self._channels.values())

    def list_accounts(self, channel_id: str | None = None) -> list[ChannelAccount]:
        with self._lock:
            return [a for a in self._accounts.values() if channel_id is None or a.channel_id == channel_id]

    def list_threads(self, channel_account_id: str | None = None) -> list[Thread]:
        with self._lock:
            return [
                t
                for t in self._threads.values()
                if channel_account_id is None or t.channel_account_id == channel_account_id
            ]

    def list_tickets(self) -> list[Ticket]:
        with self._lock:
            return list(self._tickets.values())

    def list_messages(self, thread_id: str | None = None) -> list[Message]:
        with self._lock:
            if thread_id is None:
                return list(self._messages.values())
            return [self._messages[m] for m in self._thread_messages.get(thread_id, ())]

    def read_events(self, after: int = 0, limit: int | None = None) -> list[EventRecord]:
        with self._lock:
            selected = self._events[max(after, 0) :]
            return selected if limit is None else selected[:limit]

    def pending_events(self, limit: int | None = None) -> list[EventRecord]:
        with self._lock:
            pending = list(self._pending.values())
            return pending if limit is None else pending[:limit]

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        with self._lock:
            return sum(self._pending.pop(event_id, None) is not None for event_id in event_ids)

    def close(self) -> None:
        """Nothing to release; the data stays readable."""


class _MemoryUnitOfWork:
    """Holds the repository's lock from entry to exit; takes back what it saved unless it committed.

    A plain class rather than ``@contextmanager``: a unit of work is entered once per command. Its events are
    those the store holds past the count it had at entry (the lock keeps others from adding any): a list of the
    unit's own records, filled event by event and copied at commit, cost more.
    """

    __slots__ = ("_events_before", "_repository", "committed", "load", "undo")

    def __init__(self, repository: MemoryRepository) -> None:
        self._repository = repository
        self.committed = False
        self.undo: list[_Undo] = []
        # The view's assembly bound to the store's lookups, rather than a method that calls it: one call less
        # per command, and bound once per store rather than once per unit.
        self.load: Callable[[ViewQuery], View] = repository._load

    def __enter__(self) -> _MemoryUnitOfWork:
        repository = self._repository
        repository._lock.acquire()
        self._events_before = len(repository._events)
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        try:
            # A unit that saved nothing (a duplicate, a command rejected before its save) makes no call.
            if not self.committed and (self.undo or len(self._repository._events) != self._events_before):
                self._repository._undo(self.undo, self._events_before)
        finally:
            self._repository._lock.release()

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        if self.committed:
            raise RuntimeError("this unit of work has committed")
        self._repository._save(changes, events, self.undo)

    def load_staging_token(self, token: str) -> StagingToken | None:
        return self._repository._staging_tokens.get(token)

    def commit(self) -> tuple[EventRecord, ...]:
        if self.committed:
            raise RuntimeError("a unit of work commits at most once")
        self.committed = True
        return tuple(self._repository._events[self._events_before :])


def _holds(index: dict[_K, Thread], key: _K, thread_id: str) -> bool:
    """Whether ``index`` holds the thread ``thread_id`` under ``key``."""
    held = index.get(key)
    return held is not None and held.id == thread_id
