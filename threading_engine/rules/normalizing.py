"""Step 1: checks that need no state (V1-V6's shapes, V4's canonical identifiers, ``storable``'s limits),
returning each command in canonical form. Bad input stops here, before anything is read."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import attrs

from ..attachments import check_attachments
from ..commands import (
    PUBLISH_MESSAGE_FIELDS,
    ArchiveChannel,
    ArchiveChannelAccount,
    Command,
    CompleteStagingToken,
    CreateChannel,
    CreateChannelAccount,
    CreateStagingToken,
    PublishMessage,
    PublishMessageByPosition,
    Reply,
    StartConversation,
    ThreadAction,
    ThreadCommand,
    UpdateChannel,
    UpdateChannelAccount,
    UpdateMessageStatus,
)
from ..errors import ValidationError
from ..identifiers import KnownSpellings
from ..lifecycle import THREAD_COMMAND_RULES
from ..model import Direction
from ..storable import MAX_EXTERNAL_ID_LENGTH, MAX_ID_LENGTH, MAX_TEXT_LENGTH, has_surrogate, is_plain_id, shown
from ..validation import (
    are_known_canonical,
    check_agent_actor,
    check_id,
    check_moment,
    check_participants,
    check_reference,
    check_text,
    fail,
)
from .channels import (
    normalize_archive_account,
    normalize_archive_channel,
    normalize_create_account,
    normalize_create_channel,
    normalize_update_account,
    normalize_update_channel,
)
from .staging import normalize_complete_token, normalize_create_token
from .statuses import normalize_message_status


def normalize(command: Command, spellings: KnownSpellings | None = None) -> Command:
    """Validate ``command`` without state and return it in canonical form (V1-V6, and ``storable``'s limits).

    ``spellings`` is an engine's memo of the identifier spellings it checked: with it, a message whose
    identifiers it knows is checked in one go. Without it every command is checked in full, to the same result.
    """
    if spellings is not None and type(command) is PublishMessage and _is_canonical_publish(command, spellings):
        return command
    normalizer = _NORMALIZERS.get(type(command))
    if normalizer is None:
        normalizer = _normalizer_for(type(command))
    return normalizer(command, spellings)


# Every normalizer takes the command and the engine's spelling memo (or ``None``), which those of commands
# without identifiers leave alone.
_Normalizer = Callable[[Any, KnownSpellings | None], Command]


def _normalizer_for(kind: type) -> _Normalizer:
    """The normalizer of a class the table does not list: a subclass of a command takes its parent's, so that a
    subclass is validated as fully as its parent; anything else is not a command."""
    for parent in kind.__mro__[1:]:
        normalizer = _NORMALIZERS.get(parent)
        if normalizer is not None:
            return normalizer
    return not_a_command


def not_a_command(command: object, spellings: KnownSpellings | None = None) -> NoReturn:
    raise ValidationError(f"command {shown(command)} is not a command the engine knows", field="command", value=command)


def _normalize_publish(command: PublishMessage, spellings: KnownSpellings | None = None) -> PublishMessage:
    account_id = check_reference(command.channel_account_id, "channelAccountId", "channel account", "V5")
    if not isinstance(command.direction, Direction):
        raise fail("messageDirection", command.direction, "is not INCOMING or OUTGOING", "V5")
    senders = check_participants(command.senders, "senders", spellings)
    if not senders:
        raise fail("senders", [], "needs at least one sender", "V5")
    fields = (
        account_id,
        command.direction,
        senders,
        check_text(command.text, "text", limit=MAX_TEXT_LENGTH),
        check_participants(command.recipients, "recipients", spellings),
        None if command.timestamp is None else check_moment(command.timestamp, "timestamp"),
        _optional_id(command.integration_thread_id, "integrationThreadId", "V6"),
        _optional_id(command.integration_idempotency_id, "integrationIdempotencyId", "D1"),
        check_attachments(command.attachments),
        _optional_text(command.rich_text, "richText"),
        _optional_id(command.in_reply_to_id, "inReplyToId", "V5"),
        check_agent_actor(command.actor_id),
    )
    # The command itself when every check handed back the very value it was given (a message from a sender
    # not seen before, in canonical form); else the rebuilt command. Compared by identity, not equality: a
    # plain string equals its IdentifierType and still is not canonical.
    if type(command) is PublishMessage and all(map(operator.is_, fields, _publish_fields(command))):
        return command
    return PublishMessageByPosition(*fields)


# The fields of a publish in ``PublishMessageByPosition``'s order.
_publish_fields = operator.attrgetter(*PUBLISH_MESSAGE_FIELDS)


def _is_canonical_publish(command: PublishMessage, spellings: KnownSpellings) -> bool:
    """Whether the checks of :func:`_normalize_publish` would pass ``command`` unchanged, as they do for nearly
    every message, decided in one go; ``False`` only means "check in full", which also names what is wrong.
    Every ``storable`` rule is decided here too: a lone surrogate or a time without a UTC form never passes.
    """
    recipients, timestamp, text = command.recipients, command.timestamp, command.text
    thread_ref, idempotency_id = command.integration_thread_id, command.integration_idempotency_id
    account_id = command.channel_account_id
    # ``storable``'s is_plain_id, is_plain_text and is_plain_moment, written out: this runs for every message,
    # and a call costs more than each check (``tests/test_storable.py`` holds these to the full checks).
    return (
        account_id.__class__ is str
        and 0 < len(account_id) <= MAX_ID_LENGTH
        and account_id.isascii()
        and account_id.isprintable()
        and not account_id.isspace()
        and isinstance(command.direction, Direction)
        and bool(command.senders)
        and are_known_canonical(command.senders, spellings)
        and (are_known_canonical(recipients, spellings) if recipients else type(recipients) is tuple)
        and isinstance(text, str)
        and len(text) <= MAX_TEXT_LENGTH
        and (text.isascii() or not has_surrogate(text))
        and command.attachments.__class__ is tuple
        and not command.attachments
        and command.rich_text is None
        and command.in_reply_to_id is None
        and command.actor_id is None
        and (
            timestamp is None
            or (isinstance(timestamp, datetime) and timestamp.tzinfo is UTC and 1 < timestamp.year < 9999)
        )
        and (thread_ref is None or is_plain_id(thread_ref, MAX_EXTERNAL_ID_LENGTH))
        and (
            idempotency_id is None
            or (
                idempotency_id.__class__ is str
                and 0 < len(idempotency_id) <= MAX_EXTERNAL_ID_LENGTH
                and idempotency_id.isascii()
                and idempotency_id.isprintable()
                and not idempotency_id.isspace()
            )
        )
    )


def _optional_text(value: object, field: str) -> str | None:
    return None if value is None else check_text(value, field, limit=MAX_TEXT_LENGTH)


def _optional_id(value: object, field: str, rule: str) -> str | None:
    if value is None:
        return None
    return check_id(value, field, rule=rule, limit=MAX_EXTERNAL_ID_LENGTH)


def _normalize_start(command: StartConversation, spellings: KnownSpellings | None) -> StartConversation:
    check_reference(command.channel_account_id, "channelAccountId", "channel account", "R3")
    recipients = check_participants(command.recipients, "recipients", spellings)
    if not recipients:
        raise fail("recipients", [], "needs at least one recipient", "R3")
    text = check_text(command.text, "text", limit=MAX_TEXT_LENGTH)
    attachments = check_attachments(command.attachments)
    check_agent_actor(command.actor_id)
    _optional_text(command.rich_text, "richText")
    # The checks hand back what they were given when it is canonical: no new command then.
    if recipients is command.recipients and attachments is command.attachments:
        return command
    return attrs.evolve(command, recipients=recipients, text=text, attachments=attachments)


def _normalize_reply(command: Reply, spellings: KnownSpellings | None) -> Reply:
    check_reference(command.thread_id, "threadId", "thread", "R3")
    check_text(command.text, "text", limit=MAX_TEXT_LENGTH)  # returns the text itself: no copy needed
    attachments = check_attachments(command.attachments)
    check_agent_actor(command.actor_id)
    _optional_text(command.rich_text, "richText")
    return command if attachments is command.attachments else attrs.evolve(command, attachments=attachments)


def _normalize_thread_command(command: ThreadCommand, spellings: KnownSpellings | None) -> ThreadCommand:
    action = getattr(type(command), "action", None)
    if not isinstance(action, ThreadAction):
        not_a_command(command)
    check_reference(command.thread_id, "threadId", "thread", THREAD_COMMAND_RULES[action])
    return command


_NORMALIZERS: dict[type, _Normalizer] = {
    CreateChannel: normalize_create_channel,
    UpdateChannel: normalize_update_channel,
    CreateChannelAccount: normalize_create_account,
    UpdateChannelAccount: normalize_update_account,
    ArchiveChannel: normalize_archive_channel,
    ArchiveChannelAccount: normalize_archive_account,
    UpdateMessageStatus: normalize_message_status,
    CreateStagingToken: normalize_create_token,
    CompleteStagingToken: normalize_complete_token,
    PublishMessage: _normalize_publish,
    StartConversation: _normalize_start,
    Reply: _normalize_reply,
    ThreadCommand: _normalize_thread_command,
    **{kind: _normalize_thread_command for kind in ThreadCommand.__subclasses__()},
}
