"""The storage contract. Every backend implements :class:`Repository`; its docstrings are the contract.

The rules assume what this protocol promises; ``threading_engine.testing.conformance`` checks each clause
against any backend. In short:

- **Atomicity.** Everything a command (or a batch) reads happens in one :meth:`Repository.unit_of_work`,
  and everything it saves, changes and events alike, becomes visible at :meth:`UnitOfWork.commit`, or not
  at all.
- **Isolation.** A unit of work behaves as if it ran alone: what ``load`` returned is still true when
  ``commit`` writes, or ``save``/``commit`` raises :class:`WriteConflict` and nothing is written (the engine
  retries the whole unit).
- **Uniqueness, enforced by the store under concurrent writers:**
  (U1) at most one thread per (account, key) is OPEN and not archived, for threads without an integration
  thread id (R1); (U2) at most one message per (account, integration idempotency id) (D1); (U3) at most
  one non-archived thread per (account, integration thread id) (I1); (U4) at most one account per
  (channel, delivery identifier) (V2). A commit that would break one raises :class:`WriteConflict` whose
  ``rule`` names it: a concurrent writer won a race, and the engine retries on fresh state.
- **Ids are unique (U0):** a message or an event is only ever inserted, and one whose id a stored message
  or event already has is refused with a :class:`StorageError` (``field`` ``messageId`` or ``eventId``, the
  id as ``value``, ``rule`` ``U0``), at once: no concurrent writer made that id, two id factories did (a
  replay with sequential ids run twice onto one store), and retrying would only meet it again.
- **Archived threads are never candidates:** ``open_thread``, ``latest_closed_thread`` and
  ``integration_thread`` of a :class:`View` are never archived (R2).
- **Latest closed thread:** the non-archived CLOSED thread of the key with the latest ``closed_at``; on a tie,
  the one created last (R4b). Only while the key has no open thread: R4 puts a message on the open thread
  first, so a view that has one leaves ``latest_closed_thread`` out (``None``), and a store need not look.
- **Outbox:** each committed event gets a sequence number larger than every number handed out before it;
  :meth:`Repository.read_events` returns committed events in sequence order, :meth:`Repository.pending_events`
  those not yet acknowledged, and acknowledging is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from .decisions import Changes, View, ViewQuery
from .errors import StorageError
from .events import Event, EventRecord
from .model import Channel, ChannelAccount, Message, StagingToken, Thread, Ticket
from .reads import AccountFilter, Page, ThreadFilter


def id_taken(field: str, value: object) -> StorageError:
    """U0's error: a new message or event whose id a stored one already has."""
    return StorageError(
        f"{field} {value!r} is already taken by a stored {'message' if field == 'messageId' else 'event'} (U0): "
        "two id factories made the same id (a replay with sequential ids run twice onto one store does)",
        field=field,
        value=value,
        rule="U0",
    )


@attrs.frozen
class PendingEvent:
    """An event ready to commit: it has its id and time; the store gives it its sequence number."""

    event_id: str
    timestamp: datetime
    event: Event


class UnitOfWork(Protocol):
    """One transaction for one command or one batch of commands.

    The engine loads a view, decides, and saves the decision, once per command; then it commits. Nothing is
    visible to other units of work before :meth:`commit`, and leaving the unit without committing (or with an
    exception) writes nothing at all, whatever was saved. A unit may also offer ``prefetch`` (see
    :class:`PrefetchingUnitOfWork`); it is optional.
    """

    def load(self, query: ViewQuery) -> View:
        """Read what ``query`` names (see :class:`ViewQuery`), consistently, with the contract's guarantees.

        Fields the query does not ask for are ``None``; ``tickets`` holds the ticket of every thread returned.
        What this unit of work saved earlier is visible to it.
        """
        ...

    def load_staging_token(self, token: str) -> StagingToken | None:
        """The staging token with that id (T1), as this unit sees it (what it saved included), read so that no
        concurrent unit completes the same token in between (a store that locks takes the token's lock)."""
        ...

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        """Write ``changes`` and append ``events`` to the outbox, inside this unit's transaction.

        Each value in ``changes`` replaces the stored one with the same id, or is inserted if new; messages are
        only ever inserted. May raise :class:`WriteConflict` here or at :meth:`commit` if a uniqueness rule
        would break or a concurrent writer changed what ``load`` read; the unit then writes nothing.
        """
        ...

    def commit(self) -> tuple[EventRecord, ...]:
        """Make everything saved durable at once; return every saved event as recorded, in the order saved.

        A unit of work commits at most once and is not used afterwards.
        """
        ...


class PrefetchingUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that can read ahead: an optional addition to :class:`UnitOfWork`.

    The engine calls :meth:`prefetch` if a unit has it (a backend without it loses nothing but speed), once
    at the start of a batch, with the queries it expects to load.
    """

    def prefetch(self, queries: Sequence[ViewQuery]) -> None:
        """Prepare to answer ``load`` of these queries, e.g. by reading all their views in one round trip.

        A hint, not a read: it changes no guarantee of :meth:`UnitOfWork.load`, which must still return what
        a load at that moment would, so it reflects everything this unit saved in between (a view read
        ahead that a later save may have changed is read again). A query never loaded costs nothing more
        than having been read; a backend that locks what it reads may lock these queries' subjects now.
        """
        ...


class DeferringUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that can leave a message's duplicate (D1) out of a view, to be found when the message is
    saved: an optional addition to :class:`UnitOfWork`.

    A store that remembers views between transactions can answer a message's load from memory, except for
    whether its idempotency id is taken, which it must otherwise ask the database for every message. The
    unique index on idempotency ids asks it anyway when the message is inserted, so such a store may offer
    these two methods, and the engine, which then uses them for every message with an idempotency id, keeps
    the rules' answers exactly those of :meth:`UnitOfWork.load`:

    - if the message is saved and its idempotency id turns out taken, :meth:`UnitOfWork.save` raises
      :class:`~threading_engine.errors.UnseenDuplicate` having written nothing of that save (the engine gives
      back the ids the decision drew and decides again);
    - if the rules reject the command instead, the engine asks :meth:`confirm_not_duplicate` before the
      rejection stands.

    Either way, the next load of the unit for that query shows the duplicate.
    """

    def load_deferring_duplicate(self, query: ViewQuery) -> View:
        """:meth:`UnitOfWork.load`, except that ``duplicate`` (and ``duplicate_thread``) may be left out when
        ``query`` has an idempotency id; the unit then remembers that it did, for this query only, until the
        next load."""
        ...

    def confirm_not_duplicate(self, query: ViewQuery) -> bool:
        """Whether the view last loaded for ``query`` is complete: ``False`` if it left out a duplicate that
        exists, in which case the unit's next load of ``query`` shows it."""
        ...


@runtime_checkable
class Repository(Protocol):
    """A store of channels, accounts, threads, tickets, messages and the event outbox."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A transaction for one command (or one batch). Nothing is visible to others until it commits."""
        ...

    def get_channel(self, channel_id: str) -> Channel | None: ...

    def get_account(self, channel_account_id: str) -> ChannelAccount | None: ...

    def get_thread(self, thread_id: str) -> Thread | None: ...

    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    def get_message(self, message_id: str) -> Message | None: ...

    def get_staging_token(self, token: str) -> StagingToken | None:
        """The staging token with that id (T1), completed or not."""
        ...

    def list_channels(self) -> list[Channel]:
        """Every channel, in creation order."""
        ...

    def list_accounts(self, channel_id: str | None = None) -> list[ChannelAccount]:
        """Accounts (of one channel, or all), in creation order."""
        ...

    def list_threads(self, channel_account_id: str | None = None) -> list[Thread]:
        """Threads (of one account, or all), archived ones included, in creation order."""
        ...

    def page_channels(self, after: str | None, limit: int) -> Page[Channel]:
        """Channels after the one ``after`` names (all, for ``None``), in creation order: at most ``limit``, the
        next page's cursor if more follow, and how many there are in all (see ``reads``)."""
        ...

    def page_accounts(self, where: AccountFilter, after: str | None, limit: int) -> Page[ChannelAccount]:
        """Accounts that ``where`` holds, after the one ``after`` names, in creation order; with their total."""
        ...

    def page_threads(self, where: ThreadFilter, after: str | None, limit: int, newest_first: bool) -> Page[Thread]:
        """Threads that ``where`` holds, after the one ``after`` names, in creation order (or newest first)."""
        ...

    def page_messages(self, thread_id: str, after: str | None, limit: int, newest_first: bool) -> Page[Message]:
        """The thread's messages after the one ``after`` names, in the order stored (or newest first)."""
        ...

    def list_tickets(self) -> list[Ticket]:
        """Every ticket, in creation order."""
        ...

    def list_messages(self, thread_id: str | None = None) -> list[Message]:
        """Messages (of one thread, or all), in the order they were stored."""
        ...

    def read_events(self, after: int = 0, limit: int | None = None) -> list[EventRecord]:
        """Committed events with a sequence number above ``after``, in sequence order.

        A consumer that remembers the last sequence it saw and reads on from there sees every event once:
        a backend where commits can become visible out of sequence order must hold back events above a gap
        until the gap is filled or known to be empty.
        """
        ...

    def pending_events(self, limit: int | None = None) -> list[EventRecord]:
        """Committed events not yet acknowledged, in sequence order."""
        ...

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        """Mark events delivered; returns how many were pending. Unknown or repeated ids are ignored."""
        ...

    def close(self) -> None:
        """Release connections and files. The repository is not used afterwards."""
        ...
