"""The shapes that pass between the store and the rules: what to load, what was loaded, what to write.

A command is handled in one transaction: the engine asks the store for a :class:`View` described by a
:class:`ViewQuery`, the rules turn the view into a :class:`Decision`, and the store commits the decision with
its events. Everything the rules need for one command is in one view, so an SQL backend can load it in one
round trip and commit in another.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Final

import attrs

from .errors import ValidationError
from .events import Event
from .identifiers import DeliveryIdentifier, IdentifierType
from .model import Channel, ChannelAccount, Message, StagingToken, Thread, Ticket
from .positional import by_position
from .storable import shown


class Outcome(enum.StrEnum):
    CREATED = "CREATED"
    APPENDED = "APPENDED"
    REOPENED = "REOPENED"
    DUPLICATE = "DUPLICATE"
    CHANGED = "CHANGED"
    UNCHANGED = "UNCHANGED"


# Read through module-level names on the per-message path (see ``model.THREAD_OPEN`` for why).
CREATED: Final = Outcome.CREATED
APPENDED: Final = Outcome.APPENDED
REOPENED: Final = Outcome.REOPENED
DUPLICATE: Final = Outcome.DUPLICATE


class ReopenClock(enum.StrEnum):
    """Which time R4 measures the reopen window to: the engine's arrival time, or the provider's timestamp."""

    ARRIVAL = "arrival"
    PROVIDER_TIMESTAMP = "provider-timestamp"


@attrs.frozen
class Policy:
    """The engine's tunable rules (R4)."""

    reopen_window: timedelta = timedelta(hours=24)
    reopen_clock: ReopenClock = ReopenClock.ARRIVAL

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.reopen_window, timedelta) or self.reopen_window < timedelta(0):
            raise ValidationError(
                f"reopen_window {shown(self.reopen_window)} is not a duration of zero or more (R4)",
                field="reopenWindow",
                value=self.reopen_window,
                rule="R4",
            )
        if not isinstance(self.reopen_clock, ReopenClock):
            raise ValidationError(
                f"reopen_clock {shown(self.reopen_clock)} is not one of {[clock.value for clock in ReopenClock]} (R4)",
                field="reopenClock",
                value=self.reopen_clock,
                rule="R4",
            )


# The values below are made afresh for every command, so they are frozen without ``__slots__``: attrs then
# fills a frozen instance's ``__dict__`` directly, where a slotted one takes a call to ``object.__setattr__``
# per field, about twice the time. Stored values (``model.py``) keep their slots, which keep them small.


@attrs.frozen(slots=False)
class ViewQuery:
    """What a command needs to read. Every field is optional; the store loads what is named.

    - ``channel_id``: the channel (and, with ``account_identifier``, the channel's account that already has
      that identifier, for V2's uniqueness).
    - ``channel_account_id``: the account and its channel.
    - ``thread_id``: the thread, its ticket, its account and channel; and, derived from the thread, the open
      thread of its key and the live thread of its integration thread id (for R8 and I1 conflicts).
    - ``key``: with the account, the key's open thread and its latest closed non-archived thread (R1, R4).
    - ``integration_thread_id``: with the account, the pair's non-archived thread (I1).
    - ``idempotency_id``: with the account, the message already published with that id, and its thread (D1).
    - ``message_id``: the message, and (unless the query names them otherwise) its account and channel (S1).
    - ``channel_identifier_types``: with the channel, the delivery identifier types its accounts use (V7).
    - ``participant_names``: with the thread, the names its participants were last given (N1).
    """

    channel_id: str | None = None
    channel_account_id: str | None = None
    thread_id: str | None = None
    key: str | None = None
    integration_thread_id: str | None = None
    idempotency_id: str | None = None
    account_identifier: DeliveryIdentifier | None = None
    message_id: str | None = None
    channel_identifier_types: bool = False
    participant_names: bool = False


@attrs.frozen(slots=False)
class View:
    """A consistent snapshot of the state one command depends on. Archived threads only appear as ``thread``.

    ``latest_closed_thread`` is read only for a key without an open thread (R4b comes after R4a): it is
    ``None`` whenever ``open_thread`` is set. ``channel_identifier_types`` is ``None`` unless the query asked
    for it, and empty for a channel without accounts. ``participant_names`` maps a participant's key part
    (``TYPE:value``) to the name the thread's latest messages give it (N1), when the query asked for it.
    ``staging_token`` is the token a completion names (T1): the engine reads it with the unit's
    ``load_staging_token``, not through a query field, which would cost every message its share.
    """

    channel: Channel | None = None
    account: ChannelAccount | None = None
    thread: Thread | None = None
    open_thread: Thread | None = None
    latest_closed_thread: Thread | None = None
    integration_thread: Thread | None = None
    duplicate: Message | None = None
    duplicate_thread: Thread | None = None
    account_with_identifier: ChannelAccount | None = None
    tickets: Mapping[str, Ticket] = attrs.field(factory=dict)
    message: Message | None = None
    channel_identifier_types: frozenset[IdentifierType] | None = None
    participant_names: Mapping[str, str] | None = None
    staging_token: StagingToken | None = None

    def ticket_of(self, thread: Thread) -> Ticket | None:
        return None if thread.ticket_id is None else self.tickets.get(thread.ticket_id)


def shown_threads(view: View) -> Iterator[Thread]:
    """Every thread ``view`` shows, in any role (a thread in two roles twice)."""
    for thread in (
        view.thread,
        view.open_thread,
        view.latest_closed_thread,
        view.integration_thread,
        view.duplicate_thread,
    ):
        if thread is not None:
            yield thread


@attrs.frozen(slots=False)
class Changes:
    """The rows a decision writes: new or changed values, each replacing the stored one with its id.

    ``message`` is a new message, inserted (its id must be free); ``changed_message`` an existing one rewritten
    (its status, S1); ``staging_token`` a staging token made or completed (T1).
    """

    channel: Channel | None = None
    account: ChannelAccount | None = None
    threads: tuple[Thread, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    message: Message | None = None
    changed_message: Message | None = None
    staging_token: StagingToken | None = None  # new or completed (T1): rare

    def __bool__(self) -> bool:
        return bool(
            self.channel
            or self.account
            or self.threads
            or self.tickets
            or self.message
            or self.changed_message
            or self.staging_token
        )


NO_CHANGES = Changes()


@attrs.frozen(slots=False)
class Decision:
    """What the rules decided for one command: the outcome, the rows to write, the events to record."""

    outcome: Outcome
    changes: Changes = NO_CHANGES
    events: tuple[Event, ...] = ()
    channel_id: str | None = None
    channel_account_id: str | None = None
    thread_id: str | None = None
    ticket_id: str | None = None
    message_id: str | None = None


# A view is made for every command (by the memory store, by a SQL store's rows, by a remembered view brought up
# to date): by position, checked at import (see ``positional``).
ViewByPosition = by_position(
    View,
    "channel",
    "account",
    "thread",
    "open_thread",
    "latest_closed_thread",
    "integration_thread",
    "duplicate",
    "duplicate_thread",
    "account_with_identifier",
    "tickets",
    "message",
    "channel_identifier_types",
    "participant_names",
)
# A store remembering views makes the query of each key it remembers.
ViewQueryByPosition = by_position(
    ViewQuery, "channel_id", "channel_account_id", "thread_id", "key", "integration_thread_id"
)
