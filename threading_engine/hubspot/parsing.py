"""Parsing HubSpot request bodies into normalized commands (V1-V6), naming the camelCase field path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from .. import rules
from ..attachments import Attachment, AttachmentType, check_attachments
from ..channel_validation import check_capabilities
from ..commands import (
    UNSET,
    Command,
    CreateChannel,
    CreateChannelAccount,
    PublishMessage,
    Reply,
    StartConversation,
    UpdateChannel,
    UpdateChannelAccount,
    UpdateMessageStatus,
)
from ..errors import ValidationError
from ..identifiers import DeliveryIdentifier, IdentifierType
from ..model import (
    Capabilities,
    Direction,
    MessageStatus,
    Participant,
    ThreadingModel,
)
from ..rules.statuses import SETTABLE_STATUSES
from ..storable import shown
from ..validation import check_moment, fail
from .rendering import CAPABILITY_FIELDS

_C = TypeVar("_C", bound=Command)

# HubSpot fields the engine accepts and deliberately does not keep: they play no part in threading.
_IGNORED_MESSAGE_FIELDS = frozenset({"associateWithContactId", "preResolvedContacts"})
_IGNORED_PARTICIPANT_FIELDS = frozenset({"senderActorId"})
_CHANNEL_FIELDS = frozenset(
    {
        "name",
        "capabilities",
        "webhookUrl",
        "channelLogoUrl",
        "channelDescription",
        "channelAccountConnectionRedirectUrl",
    }
)
_ACCOUNT_FIELDS = frozenset({"name", "inboxId", "deliveryIdentifier", "authorized", "createsTickets"})
_MESSAGE_FIELDS = frozenset(
    {"channelAccountId", "messageDirection", "senders", "recipients", "text", "timestamp", "attachments"}
    | {"integrationThreadId", "integrationIdempotencyId", "richText", "inReplyToId"}
)


# -- parsing: shared pieces ---------------------------------------------------------------------------------


def _fields(value: object, known: Iterable[str], what: str, rule: str, field: str | None = None) -> Mapping[str, Any]:
    """``value`` as a JSON object holding only ``known`` keys: a misspelt key would otherwise be dropped silently."""
    if not isinstance(value, dict):
        where = field if field is not None else "request body"
        raise ValidationError(
            f"{where} {shown(value)} is not a JSON object ({rule})", field=field, value=value, rule=rule
        )
    allowed = frozenset(known)
    for key, item in value.items():
        if key not in allowed:
            raise fail(_path(field, key), item, f"is not a field of {what}", rule)
    return value


def _path(parent: str | None, key: str) -> str:
    return key if parent is None else f"{parent}.{key}"


def _present(body: Mapping[str, Any], key: str) -> bool:
    """Whether an optional field was given a value; ``null`` counts as absent, as HubSpot clients send it."""
    return body.get(key) is not None


def _require(body: Mapping[str, Any], key: str, rule: str, parent: str | None = None, why: str = "is required") -> Any:
    if not _present(body, key):
        field = _path(parent, key)
        raise ValidationError(f"{field} {why} ({rule})", field=field, value=None, rule=rule)
    return body[key]


def parse_timestamp(value: object, field: str = "timestamp") -> datetime:
    """An ISO-8601 date-time with an offset (``Z`` included) and a UTC form; a naive one is rejected (V5)."""
    if not isinstance(value, str):
        raise fail(field, value, "is not an ISO-8601 date-time string", "V5")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(field, value, "is not an ISO-8601 date-time", "V5") from None
    return check_moment(parsed, field)


def parse_delivery_identifier(value: object, field: str = "deliveryIdentifier") -> DeliveryIdentifier:
    """A ``{type, value}`` object, validated and brought to canonical form (V4)."""
    body = _fields(value, ("type", "value"), "a delivery identifier {type, value}", "V4", field)
    return DeliveryIdentifier.of(_require(body, "type", "V4", field), _require(body, "value", "V4", field), field=field)


def parse_participants(value: object, field: str) -> tuple[Participant, ...]:
    """``[{deliveryIdentifier: {type, value}, name?}]``: the senders or recipients of a message (V5)."""
    if not isinstance(value, list):
        raise fail(field, value, "is not a list of participants {deliveryIdentifier, name?}", "V5")
    participants = []
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        known = ("deliveryIdentifier", "name", *_IGNORED_PARTICIPANT_FIELDS)
        body = _fields(item, known, "a participant {deliveryIdentifier, name?}", "V5", where)
        raw_identifier = _require(body, "deliveryIdentifier", "V5", where)
        identifier = parse_delivery_identifier(raw_identifier, f"{where}.deliveryIdentifier")
        participants.append(Participant(identifier, body.get("name")))
    return tuple(participants)


# -- parsing: capabilities (V1) ----------------------------------------------------------------------------


def parse_capabilities(value: object, field: str = "capabilities") -> Capabilities:
    """A channel's ``capabilities`` map (V1); keys left out take their defaults, ``null`` counts as left out."""
    body = _fields(value, CAPABILITY_FIELDS, "capabilities", "V1", field)
    if "deliveryIdentifierTypes" not in body:
        _require(body, "deliveryIdentifierTypes", "V1", field, why="is required when creating a channel")
    values: dict[str, Any] = {
        CAPABILITY_FIELDS[key]: tuple(raw) if isinstance(raw, list) else raw
        for key, raw in body.items()
        if raw is not None
    }
    values["delivery_identifier_types"] = _identifier_types(
        body["deliveryIdentifierTypes"], f"{field}.deliveryIdentifierTypes"
    )
    if "threading_model" in values:
        values["threading_model"] = _threading_model(values["threading_model"], f"{field}.threadingModel")
    _check_capability_entries(body, field)
    # The remaining keys' types (booleans, lists of strings, counts) are V1's existing checks.
    return check_capabilities(Capabilities(**values))


def _identifier_types(value: object, field: str) -> tuple[IdentifierType, ...]:
    wanted = 'a non-empty list of delivery identifier type names such as "HS_PHONE_NUMBER"'
    if not isinstance(value, list) or not value:
        raise fail(field, value, f"must be {wanted}", "V1")
    if any(isinstance(item, dict) for item in value):
        # V1: HubSpot's own error for this (INVALID_CHANNEL_CAPABILITY_VALUES) is a frequent question.
        names = [item.get("type") for item in value if isinstance(item, dict)]
        hint = (
            f"; did you mean {shown(names)}?"
            if all(isinstance(n, str) and n in IdentifierType.__members__ for n in names)
            else ""
        )
        raise fail(field, value, f"holds {{type, value}} objects, a common mistake: it must be {wanted}{hint}", "V1")
    types: list[IdentifierType] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or item not in IdentifierType.__members__:
            known = ", ".join(t.value for t in IdentifierType)
            raise fail(f"{field}[{index}]", item, f"is not a delivery identifier type name (one of {known})", "V1")
        if IdentifierType(item) in types:  # HubSpot's schema: unique items, as for the other list capabilities
            raise fail(f"{field}[{index}]", item, "is listed twice", "V1")
        types.append(IdentifierType(item))
    return tuple(types)


_MIME_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/([A-Za-z0-9!#$&^_.+-]+|\*)")


def _check_capability_entries(body: Mapping[str, Any], field: str) -> None:
    """The entries of the list capabilities as HubSpot's Capabilities schema has them (V1): none listed twice,
    ``outgoingAttachmentTypes`` of the seven attachment types (V8), ``allowedFileAttachmentMimeTypes`` as
    ``type/subtype`` or ``type/*``. A list that is not of strings is left to V1's own check, which names it."""
    for key in ("richText", "outgoingAttachmentTypes", "allowedFileAttachmentMimeTypes"):
        entries = body.get(key)
        if not (isinstance(entries, list) and all(isinstance(entry, str) for entry in entries)):
            continue
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            where = f"{field}.{key}[{index}]"
            if entry in seen:
                raise fail(where, entry, "is listed twice", "V1")
            seen.add(entry)
            if key == "outgoingAttachmentTypes" and entry not in AttachmentType.__members__:
                known = ", ".join(AttachmentType)
                raise fail(where, entry, f"is not an attachment type (one of {known})", "V8")
            if key == "allowedFileAttachmentMimeTypes" and not _MIME_TYPE.fullmatch(entry):
                raise fail(where, entry, "is not a MIME type such as image/png or image/*", "V1")


def _threading_model(value: object, field: str) -> ThreadingModel:
    if isinstance(value, str) and value in ThreadingModel.__members__:
        return ThreadingModel(value)
    known = " or ".join(m.value for m in ThreadingModel)
    raise fail(field, value, f"is not a threading model ({known})", "V1")


# -- parsing: request bodies -------------------------------------------------------------------------------


def parse_create_channel(body: object) -> CreateChannel:
    """``POST /conversations/v3/custom-channels``: a new channel (V1, V3)."""
    data = _fields(body, _CHANNEL_FIELDS, "a channel", "V3")
    command = CreateChannel(
        name=_require(data, "name", "V3"),
        capabilities=parse_capabilities(_require(data, "capabilities", "V1")),
        webhook_url=data.get("webhookUrl"),
        channel_logo_url=data.get("channelLogoUrl"),
        channel_account_connection_redirect_url=data.get("channelAccountConnectionRedirectUrl"),
        channel_description=data.get("channelDescription"),
    )
    return _normalized(command)


def parse_update_channel(channel_id: str, body: object) -> UpdateChannel:
    """``PATCH /{channelId}``: the keys given change, ``null`` clears an optional one (V3). ``capabilities``
    replaces the channel's capabilities as a whole, within what its accounts allow (V7)."""
    data = _fields(body, _CHANNEL_FIELDS, "a channel", "V3")
    command = UpdateChannel(
        channel_id,
        name=data.get("name", UNSET),
        webhook_url=data.get("webhookUrl", UNSET),
        channel_logo_url=data.get("channelLogoUrl", UNSET),
        channel_account_connection_redirect_url=data.get("channelAccountConnectionRedirectUrl", UNSET),
        channel_description=data.get("channelDescription", UNSET),
        capabilities=parse_capabilities(data["capabilities"]) if "capabilities" in data else UNSET,
    )
    return _normalized(command)


def parse_create_account(channel_id: str, body: object) -> CreateChannelAccount:
    """``POST /{channelId}/channel-accounts``: a connected account; ``createsTickets`` is the engine's own (V2)."""
    data = _fields(body, _ACCOUNT_FIELDS, "a channel account", "V2")
    inbox_id = _require(data, "inboxId", "V2")
    if isinstance(inbox_id, int) and not isinstance(inbox_id, bool) and inbox_id.bit_length() <= 64:
        inbox_id = str(inbox_id)  # HubSpot's ids are numbers in some clients and strings in others
    elif not isinstance(inbox_id, str):
        raise fail("inboxId", inbox_id, "is not a string or a 64-bit integer", "V2")
    identifier = _require(data, "deliveryIdentifier", "V2", why="is required when creating a channel account")
    command = CreateChannelAccount(
        channel_id,
        name=_require(data, "name", "V2"),
        inbox_id=inbox_id,
        delivery_identifier=parse_delivery_identifier(identifier),
        authorized=data.get("authorized", True),
        creates_tickets=data.get("createsTickets", False),
    )
    return _normalized(command)


def parse_update_account(channel_account_id: str, body: object) -> UpdateChannelAccount:
    """``PATCH /{channelId}/channel-accounts/{channelAccountId}``: ``name`` and ``authorized`` only (V2)."""
    data = _fields(body, ("name", "authorized"), "a channel account update", "V2")
    name, authorized = data.get("name", UNSET), data.get("authorized", UNSET)
    return _normalized(UpdateChannelAccount(channel_account_id, name=name, authorized=authorized))


def parse_publish_message(body: object) -> PublishMessage:
    """``POST /{channelId}/messages``: a message the integration publishes (V5, V6, D1)."""
    data = _fields(body, _MESSAGE_FIELDS | _IGNORED_MESSAGE_FIELDS, "a message", "V5")
    direction = _require(data, "messageDirection", "V5")
    if not isinstance(direction, str) or direction not in Direction.__members__:
        raise fail("messageDirection", direction, "is not INCOMING or OUTGOING", "V5")
    command = PublishMessage(
        channel_account_id=_require(data, "channelAccountId", "V5"),
        direction=Direction(direction),
        senders=parse_participants(_require(data, "senders", "V5"), "senders"),
        text=_require(data, "text", "V5"),
        recipients=parse_participants(data["recipients"], "recipients") if _present(data, "recipients") else (),
        timestamp=parse_timestamp(data["timestamp"]) if _present(data, "timestamp") else None,
        integration_thread_id=data.get("integrationThreadId"),
        integration_idempotency_id=data.get("integrationIdempotencyId"),
        attachments=_attachments(data),
        rich_text=data.get("richText"),
        in_reply_to_id=data.get("inReplyToId"),
        actor_id=_sender_actor(data["senders"]),
    )
    return _normalized(command)


def _sender_actor(senders: list[Any]) -> str | None:
    """The senders' ``senderActorId`` (N1): one actor sends a message, so every sender that names one names
    the same (a recipient's is not a sender's, and is ignored). ``parse_participants`` checked the shape."""
    found: str | None = None
    for index, sender in enumerate(senders):
        actor = sender.get("senderActorId")
        if actor is None:
            continue
        if found is not None and actor != found:
            raise fail(f"senders[{index}].senderActorId", actor, f"differs from the other senders' {found!r}", "N1")
        found = actor
    return found


def parse_update_message_status(channel_id: str, message_id: str, body: object) -> UpdateMessageStatus:
    """``PATCH /{channelId}/messages/{messageId}``: ``{statusType: SENT|FAILED|READ, errorMessage?}`` (S1)."""
    data = _fields(body, ("statusType", "errorMessage"), "a message status", "S1")
    status = _require(data, "statusType", "S1")
    settable = [status.value for status in SETTABLE_STATUSES]
    if not isinstance(status, str) or status not in settable:
        raise fail("statusType", status, f"is not one of {settable}", "S1")
    error_message = data.get("errorMessage")
    command = UpdateMessageStatus(
        channel_id=channel_id, message_id=message_id, status=MessageStatus(status), error_message=error_message
    )
    return _normalized(command)


def parse_reply(thread_id: str, body: object) -> Reply:
    """An agent's reply on one thread: ``{text}`` (R3)."""
    data = _fields(body, ("text", "richText", "attachments", "senderActorId"), "a reply", "V5")
    command = Reply(
        thread_id=thread_id,
        text=_require(data, "text", "V5"),
        attachments=_attachments(data),
        actor_id=data.get("senderActorId"),
        rich_text=data.get("richText"),
    )
    return _normalized(command)


def parse_start_conversation(channel_account_id: str, body: object) -> StartConversation:
    """An agent's message addressed by recipients: ``{recipients, text}`` (R3)."""
    known = ("recipients", "text", "richText", "attachments", "senderActorId")
    data = _fields(body, known, "a conversation start", "V5")
    command = StartConversation(
        channel_account_id=channel_account_id,
        recipients=parse_participants(_require(data, "recipients", "R3"), "recipients"),
        text=_require(data, "text", "V5"),
        attachments=_attachments(data),
        actor_id=data.get("senderActorId"),
        rich_text=data.get("richText"),
    )
    return _normalized(command)


def _attachments(data: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """HubSpot's ``attachments``, each checked for shape (V8); absent or ``null`` is none."""
    return check_attachments(data["attachments"]) if _present(data, "attachments") else ()


def _normalized(command: _C) -> _C:
    # The rest of the V rules, written once in ``rules``; the engine normalizing again is harmless.
    normalized = rules.normalize(command)
    assert isinstance(normalized, type(command))
    return normalized
