"""What happened: domain events (E2) and webhook events (E1), and their stored envelope.

Events are past-tense value objects. The rules produce them without ids or sequence numbers; the engine gives
each an ``event_id`` and time, and the store gives it a sequence number when it commits the change the event
describes, in the same transaction (a transactional outbox).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from .model import DEFAULT_PORTAL_ID, Channel, ChannelAccount, Direction, Message, MessageStatus, StagingToken
from .positional import by_position


@attrs.frozen
class Event:
    """Base of every event. ``type`` is the name used in JSON; ``webhook`` marks E1's events."""

    type: ClassVar[str] = "EVENT"
    webhook: ClassVar[bool] = False


@attrs.frozen
class ChannelCreated(Event):
    type: ClassVar[str] = "CHANNEL_CREATED"
    channel: Channel


@attrs.frozen
class ChannelUpdated(Event):
    type: ClassVar[str] = "CHANNEL_UPDATED"
    channel: Channel


@attrs.frozen
class StagingTokenCreated(Event):
    """T1: a staging token was made, as HubSpot's inbox makes one when a user clicks "connect" (no webhook)."""

    type: ClassVar[str] = "STAGING_TOKEN_CREATED"
    token: StagingToken
    rule: str = "T1"


@attrs.frozen
class ChannelAccountCreated(Event):
    """E1: an account was connected to an inbox (HubSpot's ``CHANNEL_ACCOUNT_CREATED``)."""

    type: ClassVar[str] = "CHANNEL_ACCOUNT_CREATED"
    webhook: ClassVar[bool] = True
    account: ChannelAccount


@attrs.frozen
class ChannelAccountUpdated(Event):
    """E1: an account's name or authorization changed (HubSpot's ``CHANNEL_ACCOUNT_UPDATED``)."""

    type: ClassVar[str] = "CHANNEL_ACCOUNT_UPDATED"
    webhook: ClassVar[bool] = True
    account: ChannelAccount


@attrs.frozen
class OutgoingMessageCreated(Event):
    """E1/R5: an agent's message for the integration to deliver, with the thread id it must use."""

    type: ClassVar[str] = "OUTGOING_CHANNEL_MESSAGE_CREATED"
    webhook: ClassVar[bool] = True
    channel_id: str
    message: Message
    channel_integration_thread_id: str
    portal_id: str = DEFAULT_PORTAL_ID  # the account's portal (P1), which the webhook carries


@attrs.frozen
class ThreadEvent(Event):
    """A change to one thread, naming the rule that caused it (E2)."""

    thread_id: str
    rule: str


@attrs.frozen
class ThreadCreated(ThreadEvent):
    type: ClassVar[str] = "THREAD_CREATED"
    channel_account_id: str
    key: str
    integration_thread_id: str | None


@attrs.frozen
class ThreadReopened(ThreadEvent):
    type: ClassVar[str] = "THREAD_REOPENED"


@attrs.frozen
class ThreadClosed(ThreadEvent):
    type: ClassVar[str] = "THREAD_CLOSED"


@attrs.frozen
class ThreadArchived(ThreadEvent):
    type: ClassVar[str] = "THREAD_ARCHIVED"


@attrs.frozen
class ThreadRestored(ThreadEvent):
    type: ClassVar[str] = "THREAD_RESTORED"


@attrs.frozen
class MessageAppended(ThreadEvent):
    type: ClassVar[str] = "MESSAGE_APPENDED"
    message_id: str
    direction: Direction


@attrs.frozen
class MessageStatusUpdated(ThreadEvent):
    """S1: the integration reported a message's delivery status (``error_message`` with ``FAILED``)."""

    type: ClassVar[str] = "MESSAGE_STATUS_UPDATED"
    message_id: str
    status: MessageStatus
    error_message: str | None = None


@attrs.frozen
class TicketEvent(ThreadEvent):
    ticket_id: str


@attrs.frozen
class TicketCreated(TicketEvent):
    type: ClassVar[str] = "TICKET_CREATED"


@attrs.frozen
class TicketReopened(TicketEvent):
    type: ClassVar[str] = "TICKET_REOPENED"


@attrs.frozen
class TicketClosed(TicketEvent):
    type: ClassVar[str] = "TICKET_CLOSED"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        ChannelCreated,
        ChannelUpdated,
        ChannelAccountCreated,
        ChannelAccountUpdated,
        OutgoingMessageCreated,
        StagingTokenCreated,
        ThreadCreated,
        ThreadReopened,
        ThreadClosed,
        ThreadArchived,
        ThreadRestored,
        MessageAppended,
        MessageStatusUpdated,
        TicketCreated,
        TicketReopened,
        TicketClosed,
    )
}


@attrs.frozen
class EventRecord:
    """An event as the outbox holds it: unique id, store-wide increasing sequence, and when it happened."""

    sequence: int
    event_id: str
    timestamp: datetime
    event: Event


# Made for every event a store records: by position, checked at import (see ``positional``).
EventRecordByPosition = by_position(EventRecord, "sequence", "event_id", "timestamp", "event")
