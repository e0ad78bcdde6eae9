"""A thread's lifecycle under agent commands (SPEC R6, R7, R8; I1 and I2 for restore).

A thread is in one of three states: OPEN, CLOSED, or ARCHIVED (archiving closes first, R7, so an archived
thread is always closed). The table below is the whole state machine for the five agent actions; guards that
depend on other threads (R8's key conflict, I1's restore conflict) and R6's ticket changes are applied around
it. Messages move threads too (R4 reopens), but that lives in ``rules.publishing``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from .commands import ThreadAction, ThreadCommand
from .decisions import Changes, Decision, Outcome, View
from .errors import KeyConflictError, NotAllowedError, NotFoundError
from .events import (
    Event,
    ThreadArchived,
    ThreadClosed,
    ThreadReopened,
    ThreadRestored,
    TicketClosed,
    TicketReopened,
)
from .model import THREAD_OPEN, TICKET_CLOSED, TICKET_OPEN, Thread, ThreadStatus, Ticket, TicketStatus
from .positional import by_position

_ThreadReopened = by_position(ThreadReopened, "thread_id", "rule")
_TicketReopened = by_position(TicketReopened, "thread_id", "rule", "ticket_id")
_Ticket = by_position(Ticket, "id", "thread_id", "status")


class LifeState(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    ARCHIVED = "ARCHIVED"


class Refused(enum.Enum):
    """An action that is an error in that state rather than a transition or a no-op."""

    ARCHIVED_MUST_BE_RESTORED = "ARCHIVED_MUST_BE_RESTORED"


# (state, action) -> the state after it, the rule that decides it; ``None`` means UNCHANGED (R8's no-ops).
TRANSITIONS: dict[tuple[LifeState, ThreadAction], tuple[LifeState | Refused | None, str]] = {
    (LifeState.OPEN, ThreadAction.CLOSE): (LifeState.CLOSED, "R6"),
    (LifeState.OPEN, ThreadAction.ARCHIVE): (LifeState.ARCHIVED, "R7"),
    (LifeState.OPEN, ThreadAction.RESTORE): (None, "R8"),
    (LifeState.OPEN, ThreadAction.REOPEN): (None, "R8"),
    (LifeState.OPEN, ThreadAction.CLOSE_TICKET): (LifeState.CLOSED, "R6"),
    (LifeState.CLOSED, ThreadAction.CLOSE): (None, "R8"),
    (LifeState.CLOSED, ThreadAction.ARCHIVE): (LifeState.ARCHIVED, "R7"),
    (LifeState.CLOSED, ThreadAction.RESTORE): (None, "R8"),
    (LifeState.CLOSED, ThreadAction.REOPEN): (LifeState.OPEN, "R8"),
    (LifeState.CLOSED, ThreadAction.CLOSE_TICKET): (None, "R8"),
    (LifeState.ARCHIVED, ThreadAction.CLOSE): (None, "R8"),
    (LifeState.ARCHIVED, ThreadAction.ARCHIVE): (None, "R8"),
    (LifeState.ARCHIVED, ThreadAction.RESTORE): (LifeState.CLOSED, "R7"),
    (LifeState.ARCHIVED, ThreadAction.REOPEN): (Refused.ARCHIVED_MUST_BE_RESTORED, "R8"),
    (LifeState.ARCHIVED, ThreadAction.CLOSE_TICKET): (None, "R8"),
}


# The rule each action applies, cited when the thread it names does not exist.
THREAD_COMMAND_RULES: dict[ThreadAction, str] = {
    ThreadAction.CLOSE: "R6",
    ThreadAction.CLOSE_TICKET: "R6",
    ThreadAction.ARCHIVE: "R7",
    ThreadAction.RESTORE: "R7",
    ThreadAction.REOPEN: "R8",
}


def life_state(thread: Thread) -> LifeState:
    if thread.archived:
        return LifeState.ARCHIVED
    return LifeState.OPEN if thread.status is ThreadStatus.OPEN else LifeState.CLOSED


def decide_thread_command(view: View, command: ThreadCommand, now: datetime) -> Decision:
    """Apply one agent action to ``view.thread``."""
    thread = view.thread
    if thread is None:
        rule = THREAD_COMMAND_RULES[command.action]
        raise NotFoundError(
            f"threadId {command.thread_id!r} names no thread ({rule})",
            field="threadId",
            value=command.thread_id,
            rule=rule,
        )
    ticket = view.ticket_of(thread)
    if command.action is ThreadAction.CLOSE_TICKET and ticket is None:
        raise NotFoundError(f"threadId {thread.id!r} has no ticket (R8)", field="threadId", value=thread.id, rule="R8")
    before = life_state(thread)
    after, rule = TRANSITIONS[(before, command.action)]
    unchanged = Decision(
        Outcome.UNCHANGED,
        channel_account_id=thread.channel_account_id,
        thread_id=thread.id,
        ticket_id=thread.ticket_id,
    )
    if after is None:
        return unchanged
    if after is Refused.ARCHIVED_MUST_BE_RESTORED:
        raise NotAllowedError(
            f"threadId {thread.id!r} is archived: restore it before reopening (R8)",
            field="threadId",
            value=thread.id,
            rule="R8",
        )
    _check_conflicts(view, thread, after)
    events: list[Event] = []
    if before is LifeState.OPEN:
        thread, ticket = close(thread, ticket, now, rule, events)
    if after is LifeState.ARCHIVED:
        thread = thread.in_state(thread.status, True, thread.closed_at)
        events.append(ThreadArchived(thread_id=thread.id, rule="R7"))
    elif after is LifeState.OPEN:
        thread, ticket = reopen(thread, ticket, rule, events)
    elif before is LifeState.ARCHIVED:
        thread = thread.in_state(thread.status, False, thread.closed_at)
        events.append(ThreadRestored(thread_id=thread.id, rule="R7"))
    changes = Changes(threads=(thread,), tickets=() if ticket is None else (ticket,))
    return Decision(
        outcome=Outcome.CHANGED,
        changes=changes,
        events=tuple(events),
        channel_account_id=unchanged.channel_account_id,
        thread_id=unchanged.thread_id,
        ticket_id=unchanged.ticket_id,
    )


def _check_conflicts(view: View, thread: Thread, after: LifeState) -> None:
    if after is LifeState.OPEN and thread.integration_thread_id is None:
        other = view.open_thread
        if other is not None and other.id != thread.id:
            raise KeyConflictError(
                f"threadId {thread.id!r} cannot reopen: thread {other.id!r} is open for the same key (R8)",
                field="threadId",
                value=thread.id,
                rule="R8",
            )
    if after is LifeState.CLOSED and thread.archived and thread.integration_thread_id is not None:
        other = view.integration_thread
        if other is not None and other.id != thread.id:
            raise KeyConflictError(
                f"threadId {thread.id!r} cannot be restored: thread {other.id!r} is live for "
                f"integrationThreadId {thread.integration_thread_id!r} (I1)",
                field="threadId",
                value=thread.id,
                rule="I1",
            )


def close(
    thread: Thread, ticket: Ticket | None, now: datetime, rule: str, events: list[Event]
) -> tuple[Thread, Ticket | None]:
    """Close an open thread and, by R6, its ticket."""
    thread = thread.in_state(ThreadStatus.CLOSED, thread.archived, now)
    events.append(ThreadClosed(thread_id=thread.id, rule=rule))
    if ticket is not None and ticket.status is TicketStatus.OPEN:
        ticket = Ticket(id=ticket.id, thread_id=ticket.thread_id, status=TicketStatus.CLOSED)
        events.append(TicketClosed(thread_id=thread.id, rule="R6", ticket_id=ticket.id))
    return thread, ticket


def reopen(
    thread: Thread, ticket: Ticket | None, rule: str, events: list[Event], message_at: datetime | None = None
) -> tuple[Thread, Ticket | None]:
    """Reopen a closed thread and, by R6, its ticket. Every message R4 or I1 reopens a thread with comes here:
    its values are built by position (see ``positional``), and the thread, reopened and touched by the message
    at ``message_at``, is one new value."""
    if message_at is None:
        thread = thread.in_state(THREAD_OPEN, thread.archived, None)
    else:
        thread = thread.touched(message_at, reopened=True)
    events.append(_ThreadReopened(thread.id, rule))
    if ticket is not None and ticket.status is TICKET_CLOSED:
        ticket = _Ticket(ticket.id, ticket.thread_id, TICKET_OPEN)
        events.append(_TicketReopened(thread.id, "R6", ticket.id))
    return thread, ticket
