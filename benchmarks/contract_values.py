"""The values an append must build under today's contracts, and nothing else: a lower bound on an append.

An append hands values across four contracts, each of them frozen attrs values:

- the rules' input: the :class:`~threading_engine.decisions.ViewQuery` a command plans and the
  :class:`~threading_engine.decisions.View` the store loads for it;
- the rules' output: the thread's new state, the :class:`~threading_engine.model.Message`, its
  ``MESSAGE_APPENDED`` event, the :class:`~threading_engine.decisions.Changes` and the
  :class:`~threading_engine.decisions.Decision` holding them;
- the repository protocol's ``save(changes, events)``: a :class:`~threading_engine.repository.PendingEvent`
  per event, and the :class:`~threading_engine.events.EventRecord` the outbox keeps;
- ``execute``'s :class:`~threading_engine.command_methods.Result`, and two ids (the message's, the event's).

:class:`ContractValues` builds exactly those, by position and with the fields an append gives them, from facts
gathered before it is measured (the key, the open thread, the account): no validation, no lookups, no
decision, no storing. ``benchmarks.instructions`` counts it beside the engine (``--contract``), so that a
target in instructions can be set against what the contracts alone cost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import MappingProxyType

from threading_engine import SequentialIds
from threading_engine.command_methods import Result
from threading_engine.commands import PublishMessage
from threading_engine.decisions import APPENDED, Changes, Decision, ViewByPosition
from threading_engine.events import EventRecordByPosition
from threading_engine.model import (
    FROM_INTEGRATION,
    Channel,
    ChannelAccount,
    MessageByPosition,
    Participant,
    Thread,
    ThreadByPosition,
    Ticket,
)
from threading_engine.positional import by_position
from threading_engine.repository import PendingEvent
from threading_engine.rules.placing import DecisionByPosition, MessageAppendedByPosition
from threading_engine.rules.planning import MessageViewQueryByPosition

# Every value by position, as the engine builds the ones it makes per message (see ``positional``): the
# library's own constructors where it names them, the same checked form for the rest.
_Changes = by_position(Changes, "channel", "account", "threads", "tickets", "message")
_Pending = by_position(PendingEvent, "event_id", "timestamp", "event")
_Result = by_position(
    Result, "outcome", "channel_id", "channel_account_id", "thread_id", "ticket_id", "message_id", "events"
)
# A view of a key without tickets shows none: one shared, read-only, empty mapping would do for every view.
_NO_TICKETS: MappingProxyType[str, Ticket] = MappingProxyType({})

# What is known of one append before it is measured: the command, its key and the thread it lands on.
Fact = tuple[PublishMessage, str, Thread]


class ContractValues:
    """Builds, for each prepared append, the values the contracts require of it (see the module's docstring)."""

    def __init__(self, channel: Channel, account: ChannelAccount, now: datetime) -> None:
        self._channel = channel
        self._account = account
        self._now = now
        self._own = (Participant(account.delivery_identifier),)
        self._ids: Callable[[str], str] = SequentialIds()
        self._sequence = 0

    def append(self, fact: Fact) -> tuple[Decision, Result]:
        """The values of one append of ``command`` on ``thread`` (its key's open thread): the decision holds
        the rules' output, the result the rest."""
        command, key, thread = fact
        now, account = self._now, self._account
        query = MessageViewQueryByPosition(None, account.id, None, key, None, command.integration_idempotency_id)
        view = ViewByPosition(self._channel, account, None, thread, None, None, None, None, None, _NO_TICKETS)
        message_id = self._ids("message")
        touched = ThreadByPosition(
            thread.id,
            thread.channel_account_id,
            thread.key,
            thread.created_at,
            thread.status,
            thread.archived,
            thread.closed_at,
            thread.integration_thread_id,
            thread.ticket_id,
            now,
        )
        event = MessageAppendedByPosition(touched.id, "R4", message_id, command.direction)
        message = MessageByPosition(
            message_id,
            touched.id,
            account.id,
            command.direction,
            command.senders,
            self._own,
            command.text,
            command.timestamp or now,
            now,
            FROM_INTEGRATION,
            None,
            command.integration_idempotency_id,
        )
        decision = DecisionByPosition(
            APPENDED,
            _Changes(None, None, (touched,), (), message),
            (event,),
            None,
            account.id,
            touched.id,
            None,
            message_id,
        )
        pending = _Pending(self._ids("event"), now, event)
        self._sequence += 1
        record = EventRecordByPosition(self._sequence, pending.event_id, now, event)
        del query, view  # what the rules read: made, and let go, as the engine's are
        result = _Result(
            decision.outcome,
            None,
            decision.channel_account_id,
            decision.thread_id,
            None,
            decision.message_id,
            (record,),
        )
        return decision, result
