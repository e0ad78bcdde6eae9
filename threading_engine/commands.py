"""What callers ask the engine to do. Imperative names; plain data; validated by the rules, not here."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar, Final

import attrs

from .attachments import Attachment
from .identifiers import DeliveryIdentifier
from .model import DEFAULT_PORTAL_ID, Capabilities, Direction, MessageStatus, Participant
from .positional import by_position


class Unset(enum.Enum):
    """Marks an update field the caller did not mention (``None`` means "clear it")."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


@attrs.frozen
class Command:
    """Base of every command."""


@attrs.frozen
class CreateChannel(Command):
    name: str
    capabilities: Capabilities
    webhook_url: str | None = None
    channel_logo_url: str | None = None
    channel_description: str | None = None
    channel_account_connection_redirect_url: str | None = None


@attrs.frozen
class UpdateChannel(Command):
    """Change a channel: its presentation, and its capabilities within what its accounts allow (V7)."""

    channel_id: str
    name: str | Unset = UNSET
    webhook_url: str | Unset | None = UNSET
    channel_logo_url: str | Unset | None = UNSET
    channel_description: str | Unset | None = UNSET
    capabilities: Capabilities | Unset = UNSET
    channel_account_connection_redirect_url: str | Unset | None = UNSET


@attrs.frozen
class ArchiveChannel(Command):
    """Archive a channel (HubSpot's DELETE): its accounts take no more messages; its threads stay readable (A1)."""

    channel_id: str


@attrs.frozen
class CreateChannelAccount(Command):
    channel_id: str
    name: str
    inbox_id: str
    delivery_identifier: DeliveryIdentifier
    authorized: bool = True
    creates_tickets: bool = False
    portal_id: str = DEFAULT_PORTAL_ID


@attrs.frozen
class CreateStagingToken(Command):
    """What HubSpot's inbox does when a user of ``portal_id`` clicks "connect" on a channel (T1): a single-use
    token the integration completes with :class:`CompleteStagingToken`. ``user_id`` is the HubSpot user."""

    channel_id: str
    inbox_id: str
    portal_id: str = DEFAULT_PORTAL_ID
    user_id: str = "0"  # no user named: HubSpot's ids start at 1


@attrs.frozen
class CompleteStagingToken(Command):
    """HubSpot's ``PATCH /{channelId}/channel-account-staging-tokens/{accountToken}`` (T1): the token's account
    is created, in the token's portal and inbox, with this name and delivery identifier (V2)."""

    channel_id: str
    account_token: str
    account_name: str
    delivery_identifier: DeliveryIdentifier


@attrs.frozen
class UpdateChannelAccount(Command):
    channel_account_id: str
    name: str | Unset = UNSET
    authorized: bool | Unset = UNSET


@attrs.frozen
class ArchiveChannelAccount(Command):
    """Archive one channel account: it takes no more messages; its threads stay readable (A1).

    HubSpot publishes no operation for this (its accounts are archived when a user disconnects them); the
    engine offers it so that the state HubSpot renders as ``archived`` can be reached and tested.
    """

    channel_account_id: str


@attrs.frozen
class PublishMessage(Command):
    """A message the integration publishes: one it received (INCOMING) or one it mirrors (OUTGOING).

    ``recipients`` of an incoming message default to the account's own identifier; ``timestamp`` (the
    provider's time) defaults to the engine's time.
    """

    channel_account_id: str
    direction: Direction
    senders: tuple[Participant, ...]
    text: str
    recipients: tuple[Participant, ...] = ()
    timestamp: datetime | None = None
    integration_thread_id: str | None = None
    integration_idempotency_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    rich_text: str | None = None
    in_reply_to_id: str | None = None
    actor_id: str | None = None  # the senders' ``senderActorId`` (``A-…``, N1), kept and rendered as their actorId


@attrs.frozen
class UpdateMessageStatus(Command):
    """The integration reports a message's delivery status: SENT, FAILED (with ``error_message``) or READ (S1).

    ``channel_id`` is the channel of HubSpot's path: a message of another channel is not found.
    """

    channel_id: str
    message_id: str
    status: MessageStatus
    error_message: str | None = None


@attrs.frozen
class Reply(Command):
    """An agent's reply on one thread (R3: the thread must be open), perhaps with attachments (V8)."""

    thread_id: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    actor_id: str | None = None  # the agent sending it (HubSpot's ``senderActorId``, ``A-…``)
    rich_text: str | None = None  # the text as HTML, kept as given


@attrs.frozen
class StartConversation(Command):
    """An agent's message addressed by recipients rather than by thread (R3; NOT_ALLOWED under I1)."""

    channel_account_id: str
    recipients: tuple[Participant, ...]
    text: str
    attachments: tuple[Attachment, ...] = ()
    actor_id: str | None = None  # the agent sending it (HubSpot's ``senderActorId``, ``A-…``)
    rich_text: str | None = None  # the text as HTML, kept as given


class ThreadAction(enum.StrEnum):
    CLOSE = "close"
    ARCHIVE = "archive"
    RESTORE = "restore"
    REOPEN = "reopen"
    CLOSE_TICKET = "closeTicket"


@attrs.frozen
class ThreadCommand(Command):
    """An agent's change to one thread's lifecycle (R6-R8)."""

    action: ClassVar[ThreadAction]
    thread_id: str


@attrs.frozen
class CloseThread(ThreadCommand):
    action: ClassVar[ThreadAction] = ThreadAction.CLOSE


@attrs.frozen
class ArchiveThread(ThreadCommand):
    action: ClassVar[ThreadAction] = ThreadAction.ARCHIVE


@attrs.frozen
class RestoreThread(ThreadCommand):
    action: ClassVar[ThreadAction] = ThreadAction.RESTORE


@attrs.frozen
class ReopenThread(ThreadCommand):
    action: ClassVar[ThreadAction] = ThreadAction.REOPEN


@attrs.frozen
class CloseTicket(ThreadCommand):
    """Close the ticket of a thread, which closes the thread too (R6)."""

    action: ClassVar[ThreadAction] = ThreadAction.CLOSE_TICKET


# Built for every published message: by position (see ``positional``), in this order.
PUBLISH_MESSAGE_FIELDS = (
    "channel_account_id",
    "direction",
    "senders",
    "text",
    "recipients",
    "timestamp",
    "integration_thread_id",
    "integration_idempotency_id",
    "attachments",
    "rich_text",
    "in_reply_to_id",
    "actor_id",
)
PublishMessageByPosition = by_position(PublishMessage, *PUBLISH_MESSAGE_FIELDS)
