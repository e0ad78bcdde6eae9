"""S1: the delivery status an integration reports for a message. It never moves the message: only the status
and its error change, and a domain event records it."""

from __future__ import annotations

import attrs

from ..commands import UpdateMessageStatus
from ..decisions import Changes, Decision, Outcome, View
from ..events import MessageStatusUpdated
from ..identifiers import KnownSpellings
from ..model import MessageStatus
from ..storable import MAX_NAME_LENGTH
from ..validation import check_optional_text, check_reference, fail, not_found

# What an integration may set; RECEIVED is only how an incoming message without a status reads back.
SETTABLE_STATUSES = (MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.READ)


def normalize_message_status(
    command: UpdateMessageStatus, spellings: KnownSpellings | None = None
) -> UpdateMessageStatus:
    """The status must be one an integration sets; an ``errorMessage`` is kept with FAILED only (HubSpot
    accepts one with any status, and documents it for failures)."""
    check_reference(command.channel_id, "channelId", "channel", "S1")
    check_reference(command.message_id, "messageId", "message", "S1")
    if not isinstance(command.status, MessageStatus) or command.status not in SETTABLE_STATUSES:
        shown_status = command.status.value if isinstance(command.status, MessageStatus) else command.status
        raise fail("statusType", shown_status, f"is not one of {[s.value for s in SETTABLE_STATUSES]}", "S1")
    error_message = check_optional_text(command.error_message, "errorMessage", rule="S1", limit=MAX_NAME_LENGTH)
    kept = error_message if command.status is MessageStatus.FAILED else None
    if kept == command.error_message:
        return command
    return attrs.evolve(command, error_message=kept)


def decide_message_status(view: View, command: UpdateMessageStatus) -> Decision:
    """S1: the message of the path's channel with its new status; the same status again changes nothing."""
    message, account = view.message, view.account
    if message is None or account is None or account.channel_id != command.channel_id:
        raise not_found("messageId", command.message_id, "message of this channel", "S1")
    unchanged = Decision(
        Outcome.UNCHANGED,
        channel_id=account.channel_id,
        channel_account_id=account.id,
        thread_id=message.thread_id,
        message_id=message.id,
    )
    if (message.status, message.status_error) == (command.status, command.error_message):
        return unchanged
    changed = attrs.evolve(message, status=command.status, status_error=command.error_message)
    event = MessageStatusUpdated(
        thread_id=message.thread_id,
        rule="S1",
        message_id=message.id,
        status=command.status,
        error_message=command.error_message,
    )
    return attrs.evolve(unchanged, outcome=Outcome.CHANGED, changes=Changes(changed_message=changed), events=(event,))
