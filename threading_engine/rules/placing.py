"""Where a message goes, shared by the integration's messages and the agents': appending it to a thread
(reopening the thread first when R4 or I1 says so), or creating a thread for it (R3, R4c, I1, R6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from ..decisions import CREATED, REOPENED, Changes, Decision, Outcome, Policy, ReopenClock, View, ViewQuery
from ..errors import NotFoundError
from ..events import Event, MessageAppended, ThreadCreated, TicketCreated
from ..lifecycle import reopen
from ..model import THREAD_OPEN, Channel, ChannelAccount, Direction, Message, Thread, ThreadByPosition, Ticket
from ..positional import by_position
from ..validation import not_found
from .channels import IdFactory

# Built for every message: by position (see ``positional``).
MessageAppendedByPosition = by_position(MessageAppended, "thread_id", "rule", "message_id", "direction")
_ThreadCreated = by_position(ThreadCreated, "thread_id", "rule", "channel_account_id", "key", "integration_thread_id")
_TicketCreated = by_position(TicketCreated, "thread_id", "rule", "ticket_id")
_Changes = by_position(Changes, "channel", "account", "threads", "tickets", "message")
DecisionByPosition = by_position(
    Decision,
    "outcome",
    "changes",
    "events",
    "channel_id",
    "channel_account_id",
    "thread_id",
    "ticket_id",
    "message_id",
)

# Read through a module-level name (see ``model.THREAD_OPEN`` for why): R4 reads it for every reopen.
_BY_ARRIVAL: Final = ReopenClock.ARRIVAL

# Where a message goes: the outcome, the thread as it will be stored, the tickets that change, and the events
# so far (the message's own MESSAGE_APPENDED last). The message itself is built once its thread is known.
Placement = tuple[Outcome, Thread, tuple[Ticket, ...], list[Event]]


def reopen_elapsed(closed_at: datetime, now: datetime, timestamp: datetime, policy: Policy) -> timedelta:
    """R4: time since a thread closed, by the policy's clock; a clock behind ``closed_at`` counts as zero."""
    measured_at = now if policy.reopen_clock is _BY_ARRIVAL else min(timestamp, now)
    return max(measured_at - closed_at, timedelta(0))


def account_and_channel(view: View, account_id: str) -> tuple[ChannelAccount, Channel]:
    if view.account is None or view.channel is None:
        raise no_account(account_id, "R3")
    return view.account, view.channel


def planned_key(planned: ViewQuery | None) -> str | None:
    """The key :func:`plan` computed for the message, if the caller passed the plan on."""
    return None if planned is None else planned.key


def no_account(account_id: str, rule: str) -> NotFoundError:
    return not_found("channelAccountId", account_id, "channel account", rule)


def append(
    view: View, thread: Thread, outcome: Outcome, rule: str, now: datetime, message_id: str, direction: Direction
) -> Placement:
    """Put message ``message_id`` on ``thread``, reopening it (and its ticket) first when the outcome says so."""
    events: list[Event] = []
    tickets: tuple[Ticket, ...] = ()
    if outcome is REOPENED:
        # ``View.ticket_of`` written out, without its call: every reopen comes here.
        ticket = None if thread.ticket_id is None else view.tickets.get(thread.ticket_id)
        thread, ticket = reopen(thread, ticket, rule, events, now)
        if ticket is not None:
            tickets = (ticket,)
    else:
        thread = thread.touched(now)
    events.append(MessageAppendedByPosition(thread.id, rule, message_id, direction))
    return outcome, thread, tickets, events


def create(
    account: ChannelAccount,
    key: str,
    integration_thread_id: str | None,
    rule: str,
    now: datetime,
    new_id: IdFactory,
    message_id: str,
    direction: Direction,
) -> Placement:
    thread_id = new_id("thread")
    events: list[Event] = [_ThreadCreated(thread_id, rule, account.id, key, integration_thread_id)]
    tickets: tuple[Ticket, ...] = ()
    if account.creates_tickets:
        tickets = (Ticket(id=new_id("ticket"), thread_id=thread_id),)
        events.append(_TicketCreated(thread_id, "R6", tickets[0].id))
    ticket_id = tickets[0].id if tickets else None
    # OPEN, not archived, never closed, its latest message now.
    thread = ThreadByPosition(
        thread_id, account.id, key, now, THREAD_OPEN, False, None, integration_thread_id, ticket_id, now
    )
    events.append(MessageAppendedByPosition(thread_id, rule, message_id, direction))
    return CREATED, thread, tickets, events


def message_decision(
    outcome: Outcome,
    thread: Thread,
    tickets: tuple[Ticket, ...],
    message: Message,
    events: list[Event],
    channel_id: str | None = None,
) -> Decision:
    return DecisionByPosition(
        outcome,
        _Changes(None, None, (thread,), tickets, message),
        tuple(events),
        channel_id,
        thread.channel_account_id,
        thread.id,
        thread.ticket_id,
        message.id,
    )
