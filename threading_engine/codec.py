"""Exact round trips of model values and events to JSON-ready primitives, for stores that persist them.

This is the storage format, not HubSpot's wire format (``hubspot.py``): it keeps every field, including
time-zone offsets, so that what a SQL backend reads back equals what was written.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from .events import EVENT_TYPES, Event
from .identifiers import DeliveryIdentifier, IdentifierType
from .model import (
    Capabilities,
    Channel,
    ChannelAccount,
    Direction,
    Message,
    MessageOrigin,
    Participant,
    ThreadingModel,
)

Primitive = dict[str, Any]
_Encoder = Callable[[Any], object]

# One encoder object for every document: ``json.dumps`` with options builds a new one on each call.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(data: object) -> str:
    return _JSON.encode(data)


def _encode(value: object) -> object:
    """``value`` as JSON-ready primitives: the encoder for its type is chosen once, then looked up.

    This runs for every stored message and event, so it avoids ``attrs.asdict`` and chains of ``isinstance``.
    """
    kind = type(value)
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder_for(kind)
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
        return _record(_field_names(kind))
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
)


def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(kind))


def _written_out() -> dict[type, _Encoder]:
    """The written-out encoders whose class still has exactly the fields they were written for: should a
    class gain or lose a field, the generic encoder takes over, so stored documents stay complete."""
    candidates: tuple[tuple[type, tuple[str, ...], _Encoder], ...] = (
        (Participant, ("delivery_identifier", "name"), _participant),
        (Message, _MESSAGE_FIELDS, _message),
    )
    return {kind: encoder for kind, names, encoder in candidates if _field_names(kind) == names}


_ENCODERS: dict[type, _Encoder] = _written_out()


def to_primitive(value: Channel | ChannelAccount | Message | Event) -> Primitive:
    """Encode a channel, account, message or event; events carry their ``type``."""
    data = _encode(value)
    assert isinstance(data, dict)
    if isinstance(value, Event):
        data["type"] = value.type
    return data


def _time(raw: str | None) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def _identifier(raw: list[str]) -> DeliveryIdentifier:
    return DeliveryIdentifier(IdentifierType(raw[0]), raw[1])


def channel_from_primitive(data: Primitive) -> Channel:
    caps: Primitive = dict(data["capabilities"])
    caps["delivery_identifier_types"] = tuple(IdentifierType(t) for t in caps["delivery_identifier_types"])
    caps["threading_model"] = ThreadingModel(caps["threading_model"])
    for name in ("rich_text", "outgoing_attachment_types", "allowed_file_attachment_mime_types"):
        caps[name] = tuple(caps[name])
    created_at = _time(data["created_at"])
    assert created_at is not None
    return Channel(**{**data, "capabilities": Capabilities(**caps), "created_at": created_at})


def account_from_primitive(data: Primitive) -> ChannelAccount:
    created_at = _time(data["created_at"])
    assert created_at is not None
    return ChannelAccount(
        **{**data, "delivery_identifier": _identifier(data["delivery_identifier"]), "created_at": created_at}
    )


def _participants(raw: list[Primitive]) -> tuple[Participant, ...]:
    return tuple(Participant(_identifier(p["delivery_identifier"]), p["name"]) for p in raw)


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
        }
    )


_FIELD_DECODERS: dict[str, Any] = {
    "channel": channel_from_primitive,
    "account": account_from_primitive,
    "message": message_from_primitive,
    "direction": Direction,
}


def event_from_primitive(data: Primitive) -> Event:
    cls = EVENT_TYPES[data["type"]]
    kwargs = {f.name: _FIELD_DECODERS.get(f.name, lambda v: v)(data[f.name]) for f in attrs.fields(cls)}
    return cls(**kwargs)
