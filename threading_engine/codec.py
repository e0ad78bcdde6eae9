"""Exact round trips of model values and events to JSON-ready primitives, for stores that persist them.

This is the storage format, not HubSpot's wire format (``hubspot.py``): it keeps every field, including
time-zone offsets, so that what a SQL backend reads back equals what was written.
"""

from __future__ import annotations

import enum
import json
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


def dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _encode(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, DeliveryIdentifier):
        return [value.type.value, value.value]
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if attrs.has(type(value)):
        return {name: _encode(item) for name, item in attrs.asdict(value, recurse=False).items()}  # type: ignore[arg-type]
    return value


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
