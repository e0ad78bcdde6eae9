"""Value types for the engine's state: channels, accounts, threads, tickets and messages (SPEC section 1).

Every type is frozen; a change is a new value made with :func:`attrs.evolve`. Constructors do no checking:
values are validated once where they enter the engine (``validation.py``), and the model knows nothing of
HubSpot's JSON (the ``hubspot`` package).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from .attachments import Attachment
from .identifiers import DeliveryIdentifier, IdentifierType
from .positional import by_position


class ThreadingModel(enum.StrEnum):
    """Who decides the thread: the integration (I rules) or the engine from delivery identifiers (R rules)."""

    INTEGRATION_THREAD_ID = "INTEGRATION_THREAD_ID"
    DELIVERY_IDENTIFIER = "DELIVERY_IDENTIFIER"


class ThreadStatus(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class TicketStatus(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class Direction(enum.StrEnum):
    INCOMING = "INCOMING"
    OUTGOING = "OUTGOING"


class MessageOrigin(enum.StrEnum):
    """Who sent a message into the engine: the integration (publish) or an agent (reply, conversation start)."""

    INTEGRATION = "INTEGRATION"
    AGENT = "AGENT"


class MessageStatus(enum.StrEnum):
    """A message's delivery status as the integration reports it (S1). ``RECEIVED`` is never set: it is how an
    incoming message without a reported status reads back."""

    SENT = "SENT"
    FAILED = "FAILED"
    READ = "READ"
    RECEIVED = "RECEIVED"


# CPython 3.11 reads an enum member through its class (``ThreadStatus.OPEN``) by way of the metaclass's
# ``__getattr__`` hook, about ten times the cost of a global read: code run for every message compares with
# these module-level names instead.
THREAD_OPEN: Final = ThreadStatus.OPEN
TICKET_OPEN: Final = TicketStatus.OPEN
TICKET_CLOSED: Final = TicketStatus.CLOSED
INCOMING: Final = Direction.INCOMING
OUTGOING: Final = Direction.OUTGOING
BY_INTEGRATION_THREAD_ID: Final = ThreadingModel.INTEGRATION_THREAD_ID
FROM_INTEGRATION: Final = MessageOrigin.INTEGRATION
FROM_AGENT: Final = MessageOrigin.AGENT


DEFAULT_PORTAL_ID: Final = "0"
"""The portal (HubSpot account id) an account belongs to when none is given (P1)."""


@attrs.frozen
class Capabilities:
    """What a channel can do. The threading keys matter to the rules; the rest is kept and type-checked."""

    delivery_identifier_types: tuple[IdentifierType, ...]
    threading_model: ThreadingModel = ThreadingModel.INTEGRATION_THREAD_ID
    allow_outgoing_messages: bool = False
    allow_conversation_start: bool = False
    allow_multiple_recipients: bool = False
    allow_inline_images: bool = False
    rich_text: tuple[str, ...] = ()
    outgoing_attachment_types: tuple[str, ...] = ()
    allowed_file_attachment_mime_types: tuple[str, ...] = ()
    max_file_attachment_count: int | None = None
    max_file_attachment_size_bytes: int | None = None
    max_total_file_attachment_size_bytes: int | None = None


@attrs.frozen
class Channel:
    id: str
    name: str
    capabilities: Capabilities
    created_at: datetime
    webhook_url: str | None = None
    channel_logo_url: str | None = None
    channel_description: str | None = None
    archived: bool = False
    archived_at: datetime | None = None
    # Where HubSpot sends a user who connects an account, with an account token for the staging-token step.
    channel_account_connection_redirect_url: str | None = None


@attrs.frozen
class ChannelAccount:
    """One connected instance of a channel: an inbox's phone number, mailbox or bot (SPEC section 1).

    It takes messages while it is ``authorized`` (V5) and not ``archived`` (A1), and its channel is not archived.
    It belongs to one portal, the HubSpot account that connected it (P1).
    """

    id: str
    channel_id: str
    name: str
    inbox_id: str
    delivery_identifier: DeliveryIdentifier
    created_at: datetime
    authorized: bool = True
    creates_tickets: bool = False
    archived: bool = False
    archived_at: datetime | None = None
    portal_id: str = DEFAULT_PORTAL_ID

    @property
    def active(self) -> bool:
        """HubSpot's ``active``: the account takes messages as far as its own state goes (V5, A1)."""
        return self.authorized and not self.archived


@attrs.frozen
class StagingToken:
    """A channel account connection in progress (T1): what HubSpot's inbox makes when a user of ``portal_id``
    clicks "connect" on the channel in inbox ``inbox_id``. The integration completes it once, with the account's
    name and delivery identifier; the account it then made is ``channel_account_id`` (``None`` until then)."""

    id: str  # HubSpot's ``accountToken``
    channel_id: str
    portal_id: str
    inbox_id: str
    user_id: str
    created_at: datetime
    account_name: str | None = None
    delivery_identifier: DeliveryIdentifier | None = None
    channel_account_id: str | None = None
    completed_at: datetime | None = None

    @property
    def completed(self) -> bool:
        return self.channel_account_id is not None


@attrs.frozen
class Participant:
    """A sender or recipient of a message."""

    delivery_identifier: DeliveryIdentifier
    name: str | None = None


@attrs.frozen
class Thread:
    """A conversation. ``key`` is R0's canonical key text; ``closed_at`` is set exactly while CLOSED."""

    id: str
    channel_account_id: str
    key: str
    created_at: datetime
    status: ThreadStatus = ThreadStatus.OPEN
    archived: bool = False
    closed_at: datetime | None = None
    integration_thread_id: str | None = None
    ticket_id: str | None = None
    latest_message_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Open and not archived: the only state that accepts outgoing messages (R3)."""
        return self.status is THREAD_OPEN and not self.archived

    def touched(self, at: datetime, reopened: bool = False) -> Thread:
        """This thread with a message appended at ``at`` (``latest_message_at`` never moves back); ``reopened``,
        OPEN again too (R4, I1), in the same new value rather than one value for each change.

        Written out rather than ``attrs.evolve``, and by position (see ``positional``): it runs once per message,
        and evolve costs several times more.
        """
        latest = at if self.latest_message_at is None or at > self.latest_message_at else self.latest_message_at
        return ThreadByPosition(
            self.id,
            self.channel_account_id,
            self.key,
            self.created_at,
            THREAD_OPEN if reopened else self.status,
            self.archived,
            None if reopened else self.closed_at,
            self.integration_thread_id,
            self.ticket_id,
            latest,
        )

    def in_state(self, status: ThreadStatus, archived: bool, closed_at: datetime | None) -> Thread:
        """This thread with another lifecycle state (written out for speed, as :meth:`touched`)."""
        return ThreadByPosition(
            self.id,
            self.channel_account_id,
            self.key,
            self.created_at,
            status,
            archived,
            closed_at,
            self.integration_thread_id,
            self.ticket_id,
            self.latest_message_at,
        )


# Built for every message (``Thread.touched``, a new thread): by position (see ``positional``).
ThreadByPosition = by_position(
    Thread,
    "id",
    "channel_account_id",
    "key",
    "created_at",
    "status",
    "archived",
    "closed_at",
    "integration_thread_id",
    "ticket_id",
    "latest_message_at",
)


@attrs.frozen
class Ticket:
    """A help-desk ticket; its status follows its thread's (R6)."""

    id: str
    thread_id: str
    status: TicketStatus = TicketStatus.OPEN


# With ``__slots__``, like the other stored values, though without them attrs would fill a frozen message's
# ``__dict__`` for 6,400 fewer instructions per append (callgrind): the store keeps every message, and the
# ``__dict__`` makes each one 112 bytes larger, which put a thread over the 1 KiB per thread it is held to.
@attrs.frozen
class Message:
    """A message as stored: ``timestamp`` is the provider's time, ``received_at`` the engine's.

    ``status`` is the last status the integration reported (S1), ``None`` until it reports one;
    ``status_error`` is the error it gave with ``FAILED``. ``attachments`` are kept as given (V8).
    ``actor_id`` is the agent (``A-…``) who sent an agent's message, or the ``senderActorId`` a published one
    came with, when it was named (N1). ``rich_text``
    (HubSpot's HTML form of the text) and ``in_reply_to_id`` (the message it answers) are kept as given.
    """

    id: str
    thread_id: str
    channel_account_id: str
    direction: Direction
    senders: tuple[Participant, ...]
    recipients: tuple[Participant, ...]
    text: str
    timestamp: datetime
    received_at: datetime
    origin: MessageOrigin = MessageOrigin.INTEGRATION
    integration_thread_id: str | None = None
    integration_idempotency_id: str | None = None
    status: MessageStatus | None = None
    status_error: str | None = None
    attachments: tuple[Attachment, ...] = ()
    actor_id: str | None = None
    rich_text: str | None = None
    in_reply_to_id: str | None = None


# Built for every message: by position (see ``positional``).
MessageByPosition = by_position(
    Message,
    "id",
    "thread_id",
    "channel_account_id",
    "direction",
    "senders",
    "recipients",
    "text",
    "timestamp",
    "received_at",
    "origin",
    "integration_thread_id",
    "integration_idempotency_id",
)
