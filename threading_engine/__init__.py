"""threading_engine: decides which conversation thread every message belongs to.

It follows HubSpot's Custom Channels API: HubSpot-managed threading by delivery identifiers
(``DELIVERY_IDENTIFIER``) and integration-managed threading (``INTEGRATION_THREAD_ID``). Rule ids in the
docstrings (R4, V2, ...) refer to the specification summarised in the README.

Importing this package loads no database driver and no test library.
"""

from .clock import utc_now
from .command_methods import Result
from .commands import (
    UNSET,
    ArchiveChannel,
    ArchiveChannelAccount,
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    CompleteStagingToken,
    CreateChannel,
    CreateChannelAccount,
    CreateStagingToken,
    PublishMessage,
    ReopenThread,
    Reply,
    RestoreThread,
    StartConversation,
    ThreadCommand,
    UpdateChannel,
    UpdateChannelAccount,
    UpdateMessageStatus,
)
from .decisions import Outcome, Policy, ReopenClock
from .engine import Engine
from .errors import (
    IdempotencyConflictError,
    KeyConflictError,
    NotAllowedError,
    NotFoundError,
    StorageError,
    ThreadingError,
    ThreadNotOpenError,
    ValidationError,
    WriteConflict,
)
from .events import EventRecord
from .identifiers import DeliveryIdentifier, IdentifierType
from .ids import HubSpotIds, SequentialIds, UniqueIds, unique_id
from .model import (
    Capabilities,
    Channel,
    ChannelAccount,
    Direction,
    Message,
    MessageStatus,
    Participant,
    StagingToken,
    Thread,
    ThreadingModel,
    ThreadStatus,
    Ticket,
    TicketStatus,
)
from .repository import Repository, UnitOfWork
from .stores import open_repository, store_schemes

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "ArchiveThread",
    "Capabilities",
    "Channel",
    "ChannelAccount",
    "CloseThread",
    "CloseTicket",
    "Command",
    "CreateChannel",
    "CreateChannelAccount",
    "DeliveryIdentifier",
    "Direction",
    "Engine",
    "EventRecord",
    "HubSpotIds",
    "IdempotencyConflictError",
    "IdentifierType",
    "KeyConflictError",
    "Message",
    "NotAllowedError",
    "NotFoundError",
    "Outcome",
    "Participant",
    "Policy",
    "PublishMessage",
    "ReopenClock",
    "ReopenThread",
    "Reply",
    "Repository",
    "RestoreThread",
    "Result",
    "SequentialIds",
    "StartConversation",
    "StorageError",
    "Thread",
    "ThreadCommand",
    "ThreadNotOpenError",
    "ThreadStatus",
    "ThreadingError",
    "ThreadingModel",
    "Ticket",
    "TicketStatus",
    "UniqueIds",
    "UnitOfWork",
    "ArchiveChannel",
    "ArchiveChannelAccount",
    "UpdateChannel",
    "UpdateChannelAccount",
    "UpdateMessageStatus",
    "MessageStatus",
    "CompleteStagingToken",
    "CreateStagingToken",
    "StagingToken",
    "ValidationError",
    "WriteConflict",
    "__version__",
    "open_repository",
    "store_schemes",
    "unique_id",
    "utc_now",
]
