"""Rendering model values and events as JSON shaped as HubSpot shows the same objects."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import attrs

from ..events import (
    ChannelAccountCreated,
    ChannelAccountUpdated,
    ChannelCreated,
    ChannelUpdated,
    EventRecord,
    OutgoingMessageCreated,
    ThreadCreated,
    ThreadEvent,
)
from ..identifiers import DeliveryIdentifier, key_identifiers
from ..model import (
    Capabilities,
    Channel,
    ChannelAccount,
    Message,
    MessageOrigin,
    Participant,
    Thread,
    Ticket,
)

Json = dict[str, Any]


def camel_case(snake: str) -> str:
    """The camelCase JSON name of a snake_case attribute (``allow_outgoing_messages`` -> ``allowOutgoingMessages``)."""
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)


# The JSON key of every capability, mapped to its attribute: both directions read from the one model class.
CAPABILITY_FIELDS = {camel_case(f.name): f.name for f in attrs.fields(Capabilities)}


def format_timestamp(value: datetime) -> str:
    """The one time format of the JSON edge: UTC ISO-8601 with ``Z``, microseconds only when non-zero."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no timezone offset (V5)")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _optional_time(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def identifier_to_json(identifier: DeliveryIdentifier) -> Json:
    """HubSpot's ``{type, value}`` for a delivery identifier (canonical value, V4)."""
    return {"type": identifier.type.value, "value": identifier.value}


def participant_to_json(participant: Participant) -> Json:
    """A sender or recipient as HubSpot's messages list them: ``{deliveryIdentifier, name}``."""
    return {"deliveryIdentifier": identifier_to_json(participant.delivery_identifier), "name": participant.name}


def capabilities_to_json(capabilities: Capabilities) -> Json:
    """Every capability key, camelCased; :func:`parse_capabilities` reads it back to an equal value."""
    return {key: _plain(getattr(capabilities, name)) for key, name in CAPABILITY_FIELDS.items()}


def channel_to_json(channel: Channel) -> Json:
    """A channel as HubSpot's channel endpoints return it (V3's logo and description included)."""
    return {
        "id": channel.id,
        "name": channel.name,
        "capabilities": capabilities_to_json(channel.capabilities),
        "webhookUrl": channel.webhook_url,
        "channelLogoUrl": channel.channel_logo_url,
        "channelDescription": channel.channel_description,
        "createdAt": format_timestamp(channel.created_at),
    }


def account_to_json(account: ChannelAccount) -> Json:
    """HubSpot's ``PublicChannelAccount``, plus the engine's own ``createsTickets``."""
    return {
        "id": account.id,
        "channelId": account.channel_id,
        "inboxId": account.inbox_id,
        "name": account.name,
        "authorized": account.authorized,
        "deliveryIdentifier": identifier_to_json(account.delivery_identifier),
        "createsTickets": account.creates_tickets,
        "archived": False,
        "createdAt": format_timestamp(account.created_at),
    }


def message_to_json(message: Message) -> Json:
    """HubSpot's ``PublicConversationsMessage``: ``createdAt`` is when the engine received it (R4)."""
    return {
        "id": message.id,
        "type": "MESSAGE",
        "conversationsThreadId": message.thread_id,
        "channelAccountId": message.channel_account_id,
        "direction": message.direction.value,
        "senders": [participant_to_json(p) for p in message.senders],
        "recipients": [participant_to_json(p) for p in message.recipients],
        "text": message.text,
        # HubSpot's clientType tells an agent's message (HUBSPOT) from one the integration published.
        "client": {"clientType": "HUBSPOT" if message.origin is MessageOrigin.AGENT else "INTEGRATION"},
        "createdAt": format_timestamp(message.received_at),
        "timestamp": format_timestamp(message.timestamp),
        "integrationThreadId": message.integration_thread_id,
        "integrationIdempotencyId": message.integration_idempotency_id,
    }


def thread_to_json(thread: Thread) -> Json:
    """A thread; ``deliveryIdentifiers`` is its key (R0), ``closedAt`` is set only while it is closed."""
    return {
        "id": thread.id,
        "channelAccountId": thread.channel_account_id,
        "status": thread.status.value,
        "archived": thread.archived,
        "deliveryIdentifiers": [identifier_to_json(i) for i in key_identifiers(thread.key)],
        "integrationThreadId": thread.integration_thread_id,
        "ticketId": thread.ticket_id,
        "createdAt": format_timestamp(thread.created_at),
        "closedAt": _optional_time(thread.closed_at),
        "latestMessageTimestamp": _optional_time(thread.latest_message_at),
    }


def ticket_to_json(ticket: Ticket) -> Json:
    """A help-desk ticket; its status follows its thread's (R6)."""
    return {"id": ticket.id, "threadId": ticket.thread_id, "status": ticket.status.value}


def event_to_json(record: EventRecord) -> Json:
    """An event from the outbox: E1's webhooks as HubSpot sends them, E2's domain events with their rule."""
    event = record.event
    head: Json = {
        "type": event.type,
        "eventId": record.event_id,
        "sequence": record.sequence,
        "eventTimestamp": format_timestamp(record.timestamp),
    }
    if isinstance(event, ChannelAccountCreated | ChannelAccountUpdated):
        account = event.account
        return head | {
            "channelId": account.channel_id,
            "channelAccountId": account.id,
            "channelAccount": account_to_json(account),
        }
    if isinstance(event, OutgoingMessageCreated):
        # R5: deployed integrations read the list form, so both carry the same thread id.
        thread_ref = event.channel_integration_thread_id
        return head | {
            "channelId": event.channel_id,
            "channelIntegrationThreadId": thread_ref,
            "channelIntegrationThreadIds": [thread_ref],
            "message": message_to_json(event.message),
        }
    if isinstance(event, ChannelCreated | ChannelUpdated):
        return head | {"channelId": event.channel.id, "channel": channel_to_json(event.channel)}
    if isinstance(event, ThreadEvent):
        fields: Json = {"rule": event.rule, "threadId": event.thread_id}
        for attribute in attrs.fields(type(event)):
            if attribute.name not in ("rule", "thread_id"):
                fields[camel_case(attribute.name)] = _plain(getattr(event, attribute.name))
        if isinstance(event, ThreadCreated):
            fields["key"] = [identifier_to_json(i) for i in key_identifiers(event.key)]
        return head | fields
    raise TypeError(f"no JSON form for event {event!r}")


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
