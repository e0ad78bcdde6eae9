"""Exact round trips of model values and events to JSON-ready primitives, for stores that persist them.

This is the storage format, not HubSpot's wire format (the ``hubspot`` package): it keeps every field, including
time-zone offsets, so that what a SQL backend reads back equals what was written. Its tables are built when it
is imported and never change.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

import attrs

from .attachments import Attachment, AttachmentType
from .codec_text import event_text, field_names, message_text
from .events import EVENT_TYPES, Event
from .identifiers import DeliveryIdentifier, IdentifierType
from .model import (
    Capabilities,
    Channel,
    ChannelAccount,
    Direction,
    Message,
    MessageOrigin,
    MessageStatus,
    Participant,
    StagingToken,
    Thread,
    ThreadingModel,
    ThreadStatus,
    Ticket,
    TicketStatus,
)

Primitive = dict[str, Any]
_Encoder = Callable[[Any], object]

# One encoder object for every document: ``json.dumps`` with options builds a new one on each call.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(data: object) -> str:
    return _JSON.encode(data)


def _encode(value: object) -> object:
    """``value`` as JSON-ready primitives: the encoder for each type the model holds was chosen at import, and is
    looked up; any other type (a subclass of the caller's own) has its encoder chosen at each call.

    This runs for every stored message and event, so it avoids ``attrs.asdict`` and chains of ``isinstance``.
    """
    kind = type(value)
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _encoder_for(kind)
    return encoder(value)


def _unchanged(value: object) -> object:
    return value


def _enum_value(value: enum.Enum) -> object:
    return value.value


def _time_text(value: datetime) -> str:
    return value.isoformat()


def _identifier_pair(value: DeliveryIdentifier) -> list[str]:
    return [value.type.value, value.value]


def _items(value: tuple[object, ...]) -> list[object]:
    return [_encode(item) for item in value]


def _record(names: tuple[str, ...]) -> _Encoder:
    """The encoder of an attrs class with fields ``names``: a dict in field order, as ``attrs.asdict`` gives."""

    def encode(value: object) -> Primitive:
        return {name: _encode(getattr(value, name)) for name in names}

    return encode


def _encoder_for(kind: type) -> _Encoder:
    if issubclass(kind, enum.Enum):
        return _enum_value
    if issubclass(kind, datetime):
        return _time_text
    if issubclass(kind, DeliveryIdentifier):
        return _identifier_pair
    if issubclass(kind, tuple):
        return _items
    if attrs.has(kind):
        return _record(field_names(kind))
    return _unchanged


def _participant(value: Participant) -> Primitive:
    identifier = value.delivery_identifier
    return {"delivery_identifier": [identifier.type.value, identifier.value], "name": value.name}


def _message(value: Message) -> Primitive:
    """A message, written out: one is stored with every publish, and this is several times faster than
    :func:`_record`. Used only while the class has exactly the fields of ``_MESSAGE_FIELDS``."""
    return {
        "id": value.id,
        "thread_id": value.thread_id,
        "channel_account_id": value.channel_account_id,
        "direction": value.direction.value,
        "senders": [_participant(p) for p in value.senders],
        "recipients": [_participant(p) for p in value.recipients],
        "text": value.text,
        "timestamp": value.timestamp.isoformat(),
        "received_at": value.received_at.isoformat(),
        "origin": value.origin.value,
        "integration_thread_id": value.integration_thread_id,
        "integration_idempotency_id": value.integration_idempotency_id,
        "status": None if value.status is None else value.status.value,
        "status_error": value.status_error,
        "attachments": [{"type": a.type.value, "document": a.document} for a in value.attachments],
        "actor_id": value.actor_id,
        "rich_text": value.rich_text,
        "in_reply_to_id": value.in_reply_to_id,
    }


_MESSAGE_FIELDS = (
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
    "status",
    "status_error",
    "attachments",
    "actor_id",
    "rich_text",
    "in_reply_to_id",
)


def _written_out() -> dict[type, _Encoder]:
    """The written-out encoders whose class still has exactly the fields they were written for: should a
    class gain or lose a field, the generic encoder takes over, so stored documents stay complete."""
    candidates: tuple[tuple[type, tuple[str, ...], _Encoder], ...] = (
        (Participant, ("delivery_identifier", "name"), _participant),
        (Message, _MESSAGE_FIELDS, _message),
    )
    return {kind: encoder for kind, names, encoder in candidates if field_names(kind) == names}


# Every type a stored value is made of.
_MODEL_TYPES: tuple[type, ...] = (
    str,
    int,
    bool,
    float,
    type(None),
    tuple,
    datetime,
    DeliveryIdentifier,
    IdentifierType,
    ThreadingModel,
    ThreadStatus,
    TicketStatus,
    Direction,
    MessageOrigin,
    MessageStatus,
    AttachmentType,
    Attachment,
    Capabilities,
    Channel,
    ChannelAccount,
    Participant,
    Thread,
    Ticket,
    Message,
    StagingToken,
    *EVENT_TYPES.values(),
)
_ENCODERS: dict[type, _Encoder] = {kind: _encoder_for(kind) for kind in _MODEL_TYPES} | _written_out()
# Decided once: whether ``Message`` still has the fields its written-out encoders were written for.
_MESSAGE_WRITTEN_OUT = _ENCODERS.get(Message) is _message


def to_primitive(value: Channel | ChannelAccount | Message | StagingToken | Event) -> Primitive:
    """Encode a channel, account, message, staging token or event; events carry their ``type``."""
    data = _encode(value)
    assert isinstance(data, dict)
    if isinstance(value, Event):
        data["type"] = value.type
    return data


# -- JSON text written out, for the values stored with every message (``codec_text``) ------------------------


def message_json(value: Message) -> str:
    """``dumps(to_primitive(value))``, written out while ``Message`` has the fields it was written for."""
    if _MESSAGE_WRITTEN_OUT and type(value) is Message:
        return message_text(value, value.timestamp.isoformat(), value.received_at.isoformat())
    return dumps(to_primitive(value))


def message_json_with_times(value: Message, timestamp_text: str, received_at_text: str) -> str:
    """:func:`message_json`, given the ``isoformat()`` of the message's ``timestamp`` and ``received_at``: a
    store that writes many values of one time formats it once (``isoformat`` costs as much as the rest)."""
    if _MESSAGE_WRITTEN_OUT and type(value) is Message:
        return message_text(value, timestamp_text, received_at_text)
    return dumps(to_primitive(value))


def event_json(event_id: str, timestamp: datetime, event: Event) -> str:
    """The stored form of an event: its fields (and ``type``) under ``event``, with its id and time."""
    return event_json_with_time(event_id, timestamp.isoformat(), event)


def event_json_with_time(event_id: str, timestamp_text: str, event: Event) -> str:
    """:func:`event_json`, given the ``isoformat()`` of its ``timestamp`` (see :func:`message_json_with_times`)."""
    text = event_text(event)
    if text is None:
        text = dumps(to_primitive(event))
    return f'{{"event_id":{encode_basestring(event_id)},"timestamp":"{timestamp_text}","event":{text}}}'


def _time(raw: str | None) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def _identifier(raw: list[str]) -> DeliveryIdentifier:
    return DeliveryIdentifier(type=IdentifierType(raw[0]), value=raw[1])


def channel_from_primitive(data: Primitive) -> Channel:
    caps: Primitive = dict(data["capabilities"])
    caps["delivery_identifier_types"] = tuple(IdentifierType(t) for t in caps["delivery_identifier_types"])
    caps["threading_model"] = ThreadingModel(caps["threading_model"])
    for name in ("rich_text", "outgoing_attachment_types", "allowed_file_attachment_mime_types"):
        caps[name] = tuple(caps[name])
    created_at = _time(data["created_at"])
    assert created_at is not None
    # ``archived_at`` is absent from documents stored before A1: the field's default then applies.
    archived_at = _time(data.get("archived_at"))
    return Channel(
        **{**data, "capabilities": Capabilities(**caps), "created_at": created_at, "archived_at": archived_at}
    )


def account_from_primitive(data: Primitive) -> ChannelAccount:
    created_at = _time(data["created_at"])
    assert created_at is not None
    return ChannelAccount(
        **{
            **data,
            "delivery_identifier": _identifier(data["delivery_identifier"]),
            "created_at": created_at,
            "archived_at": _time(data.get("archived_at")),  # absent from documents stored before A1
        }
    )


def staging_token_from_primitive(data: Primitive) -> StagingToken:
    created_at = _time(data["created_at"])
    assert created_at is not None
    identifier = data["delivery_identifier"]
    return StagingToken(
        **{
            **data,
            "created_at": created_at,
            "delivery_identifier": None if identifier is None else _identifier(identifier),
            "completed_at": _time(data["completed_at"]),
        }
    )


def _participants(raw: list[Primitive]) -> tuple[Participant, ...]:
    return tuple(Participant(delivery_identifier=_identifier(p["delivery_identifier"]), name=p["name"]) for p in raw)


def message_from_primitive(data: Primitive) -> Message:
    timestamp, received_at = _time(data["timestamp"]), _time(data["received_at"])
    assert timestamp is not None and received_at is not None
    return Message(
        **{
            **data,
            "direction": Direction(data["direction"]),
            "origin": MessageOrigin(data["origin"]),
            "senders": _participants(data["senders"]),
            "recipients": _participants(data["recipients"]),
            "timestamp": timestamp,
            "received_at": received_at,
            # Absent from documents stored before S1: no status reported.
            "status": None if data.get("status") is None else MessageStatus(data["status"]),
            "attachments": tuple(
                Attachment(type=AttachmentType(a["type"]), document=a["document"]) for a in data.get("attachments", ())
            ),
        }
    )


_FIELD_DECODERS: dict[str, Any] = {
    "channel": channel_from_primitive,
    "account": account_from_primitive,
    "message": message_from_primitive,
    "direction": Direction,
    "status": MessageStatus,
    "token": staging_token_from_primitive,
}


def event_from_primitive(data: Primitive) -> Event:
    cls = EVENT_TYPES[data["type"]]
    # A field added since the event was stored (with a default) is absent from it: the default then applies.
    kwargs = {
        f.name: _FIELD_DECODERS.get(f.name, lambda v: v)(data[f.name])
        for f in attrs.fields(cls)
        if f.name in data or f.default is attrs.NOTHING
    }
    return cls(**kwargs)
