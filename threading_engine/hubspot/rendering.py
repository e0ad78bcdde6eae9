"""Rendering model values and events as JSON shaped as HubSpot shows the same objects."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import attrs

from ..attachments import attachment_to_json
from ..events import (
    ChannelAccountCreated,
    ChannelAccountUpdated,
    ChannelCreated,
    ChannelUpdated,
    EventRecord,
    OutgoingMessageCreated,
    StagingTokenCreated,
    ThreadCreated,
    ThreadEvent,
)
from ..identifiers import DeliveryIdentifier, key_identifiers
from ..model import (
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


# HubSpot's ``createdBy`` is an actor id. The engine knows no agents yet, so every agent's message is created by
# one unnamed agent; a message the integration published is created by the integration, named by its channel.
UNNAMED_AGENT = "A-0"


def identifier_to_json(identifier: DeliveryIdentifier) -> Json:
    """HubSpot's ``{type, value}`` for a delivery identifier (canonical value, V4)."""
    return {"type": identifier.type.value, "value": identifier.value}


def participant_to_json(participant: Participant) -> Json:
    """A sender or recipient as HubSpot's messages list them: ``{deliveryIdentifier, name?}`` (N1: a name is a
    string or absent, never ``null``)."""
    rendered: Json = {"deliveryIdentifier": identifier_to_json(participant.delivery_identifier)}
    if participant.name is not None:
        rendered["name"] = participant.name
    return rendered


def capabilities_to_json(capabilities: Capabilities) -> Json:
    """Every capability key, camelCased; :func:`parse_capabilities` reads it back to an equal value. A size
    limit that is not set is left out."""
    rendered = {key: _plain(getattr(capabilities, name)) for key, name in CAPABILITY_FIELDS.items()}
    return {key: value for key, value in rendered.items() if value is not None}


def channel_to_json(channel: Channel) -> Json:
    """HubSpot's ``PublicChannelIntegrationChannel`` (V3's logo and description included, when set). HubSpot's
    document has no field for an archived channel (A1): it is told under ``threadingEngine``."""
    rendered = _without_none(
        {
            "id": channel.id,
            "name": channel.name,
            "capabilities": capabilities_to_json(channel.capabilities),
            "webhookUrl": channel.webhook_url,
            "channelLogoUrl": channel.channel_logo_url,
            "channelAccountConnectionRedirectUrl": channel.channel_account_connection_redirect_url,
            "channelDescription": channel.channel_description,
            "createdAt": format_timestamp(channel.created_at),
        }
    )
    if channel.archived_at is not None:
        rendered["threadingEngine"] = {"archived": True, "archivedAt": format_timestamp(channel.archived_at)}
    return rendered


def account_to_json(account: ChannelAccount, *, portal_id: str | None = None, engine_facts: bool = True) -> Json:
    """HubSpot's ``PublicChannelAccount``; the engine's own facts (its portal, ``createsTickets``) go under
    ``threadingEngine`` unless ``engine_facts`` is false (a webhook body carries HubSpot's document alone)."""
    rendered: Json = {
        "id": account.id,
        "channelId": account.channel_id,
        "inboxId": account.inbox_id,
        "name": account.name,
        "authorized": account.authorized,
        "active": account.active,
        "archived": account.archived,
        "createdAt": format_timestamp(account.created_at),
        "deliveryIdentifier": identifier_to_json(account.delivery_identifier),
    }
    if account.archived_at is not None:
        rendered["archivedAt"] = format_timestamp(account.archived_at)
    if engine_facts:
        portal = account.portal_id if portal_id is None else portal_id
        rendered["threadingEngine"] = {"portalId": portal, "createsTickets": account.creates_tickets}
    return rendered


def message_to_json(message: Message, *, channel_id: str, engine_facts: bool = True) -> Json:
    """HubSpot's ``PublicConversationsMessage``: ``createdAt`` is when the engine received it (R4); the
    provider's ``timestamp`` and the ids it was published with go under ``threadingEngine`` unless
    ``engine_facts`` is false (a webhook body carries HubSpot's document alone)."""
    agent = message.origin is MessageOrigin.AGENT
    rendered: Json = {
        "id": message.id,
        "type": "MESSAGE",
        "conversationsThreadId": message.thread_id,
        "channelId": channel_id,
        "channelAccountId": message.channel_account_id,
        "direction": message.direction.value,
        "senders": _senders(message, agent),
        "recipients": [participant_to_json(p) for p in message.recipients],
        "text": message.text,
        **({} if message.rich_text is None else {"richText": message.rich_text}),
        **({} if message.in_reply_to_id is None else {"inReplyToId": message.in_reply_to_id}),
        "attachments": [attachment_to_json(a) for a in message.attachments],
        "status": status_to_json(message),
        "truncationStatus": "NOT_TRUNCATED",
        # HubSpot's clientType tells an agent's message (HUBSPOT) from one the integration published.
        "client": {"clientType": "HUBSPOT" if agent else "INTEGRATION"},
        "createdAt": format_timestamp(message.received_at),
        "createdBy": (message.actor_id or UNNAMED_AGENT) if agent else f"I-{channel_id}",
        "archived": False,
    }
    if engine_facts:
        rendered["threadingEngine"] = _without_none(
            {
                "timestamp": format_timestamp(message.timestamp),
                "integrationThreadId": message.integration_thread_id,
                "integrationIdempotencyId": message.integration_idempotency_id,
            }
        )
    return rendered


def _senders(message: Message, agent: bool) -> list[Json]:
    """The senders; an agent's message names its agent as the sender's ``actorId`` when it was named, and a
    published one the ``senderActorId`` it was published with (N1)."""
    senders = [participant_to_json(p) for p in message.senders]
    if message.actor_id is not None:
        for sender in senders:
            sender["actorId"] = message.actor_id
    return senders


_MAX_INT64 = 2**63 - 1


def _number(value: str) -> int | str:
    """An id as HubSpot's integer when it is one (HubSpot's ids, ``HubSpotIds``'), else as the engine's text."""
    if value.isascii() and value.isdigit() and int(value) <= _MAX_INT64:
        return int(value)
    return value


def staging_token_to_json(token: StagingToken, *, engine_facts: bool = True) -> Json:
    """HubSpot's ``PublicChannelAccountStagingToken``: ``genericChannelId``, ``inboxId`` and ``userId`` are
    integers there, so numeric ids are rendered as numbers. The portal, and once completed the account it made
    and when, go under ``threadingEngine`` unless ``engine_facts`` is false."""
    rendered: Json = {
        "accountToken": token.id,
        "createdAt": format_timestamp(token.created_at),
        "genericChannelId": _number(token.channel_id),
        "inboxId": _number(token.inbox_id),
        "userId": _number(token.user_id),
    }
    if token.account_name is not None:
        rendered["accountName"] = token.account_name
    if token.delivery_identifier is not None:
        rendered["deliveryIdentifier"] = identifier_to_json(token.delivery_identifier)
    if engine_facts:
        facts: Json = {"portalId": token.portal_id}
        if token.channel_account_id is not None and token.completed_at is not None:
            facts["channelAccountId"] = token.channel_account_id
            facts["completedAt"] = format_timestamp(token.completed_at)
        rendered["threadingEngine"] = facts
    return rendered


def status_to_json(message: Message) -> Json:
    """HubSpot's ``PublicMessageStatus`` (S1): the status the integration last reported; before it reports one,
    ``RECEIVED`` for an incoming message and ``SENT`` for an outgoing one. A failure carries its error."""
    status = message.status
    if status is None:
        status = MessageStatus.RECEIVED if message.direction is Direction.INCOMING else MessageStatus.SENT
    rendered: Json = {"statusType": status.value}
    if status is MessageStatus.FAILED:
        details: Json = {"errorMessageTokens": {}}
        if message.status_error is not None:
            details["errorMessage"] = message.status_error
        rendered["failureDetails"] = details
    return rendered


def thread_to_json(thread: Thread, *, account: ChannelAccount, portal_id: str | None = None) -> Json:
    """HubSpot's ``PublicThread`` (Conversations v3). ``closedAt`` is present only while it is closed; its ticket
    is its ``threadAssociations``; ``associatedContactId`` is its key (R0), the engine's name for the visitor
    until it knows contacts. The key's identifiers, the integration thread id and the portal go under
    ``threadingEngine``."""
    rendered: Json = {
        "id": thread.id,
        "inboxId": account.inbox_id,
        "status": thread.status.value,
        "archived": thread.archived,
        "spam": False,
        "associatedContactId": thread.key,
        "originalChannelId": account.channel_id,
        "originalChannelAccountId": thread.channel_account_id,
        "createdAt": format_timestamp(thread.created_at),
    }
    if thread.closed_at is not None:
        rendered["closedAt"] = format_timestamp(thread.closed_at)
    if thread.latest_message_at is not None:
        rendered["latestMessageTimestamp"] = format_timestamp(thread.latest_message_at)
    if thread.ticket_id is not None:
        rendered["threadAssociations"] = {"associatedTicketId": thread.ticket_id}
    rendered["threadingEngine"] = _without_none(
        {
            "portalId": account.portal_id if portal_id is None else portal_id,
            "deliveryIdentifiers": [identifier_to_json(i) for i in key_identifiers(thread.key)],
            "integrationThreadId": thread.integration_thread_id,
        }
    )
    return rendered


def ticket_to_json(ticket: Ticket) -> Json:
    """A help-desk ticket; its status follows its thread's (R6)."""
    return {"id": ticket.id, "threadId": ticket.thread_id, "status": ticket.status.value}


def collection_to_json(results: list[Json], *, total: int | None = None, after: str | None = None) -> Json:
    """A page of HubSpot's collections: ``{results, total?, paging: {next: {after}}?}`` (the next page's cursor,
    when there is one)."""
    page: Json = {"results": results}
    if total is not None:
        page["total"] = total
    if after is not None:
        page["paging"] = {"next": {"after": after}}
    return page


def event_to_json(record: EventRecord, *, portal_id: str | None = None) -> Json:
    """An event from the outbox: E1's webhooks as HubSpot posts them (with the ``portalId`` of the account they
    concern (P1), or ``portal_id`` when given; HubSpot's documents alone), E2's domain events marked
    ``domainEvent: true``, with their sequence and rule."""
    event = record.event
    if isinstance(event, ChannelAccountCreated | ChannelAccountUpdated):
        account = event.account
        return {
            "type": event.type,
            "portalId": account.portal_id if portal_id is None else portal_id,
            "channelId": account.channel_id,
            "eventId": record.event_id,
            "eventTimestamp": format_timestamp(record.timestamp),
            "channelAccountId": account.id,
            "channelAccount": account_to_json(account, engine_facts=False),
        }
    if isinstance(event, OutgoingMessageCreated):
        # R5: deployed integrations read the list form, so both carry the same thread id.
        thread_ref = event.channel_integration_thread_id
        return {
            "type": event.type,
            "portalId": event.portal_id if portal_id is None else portal_id,
            "channelId": event.channel_id,
            "eventId": record.event_id,
            "eventTimestamp": format_timestamp(record.timestamp),
            "channelIntegrationThreadId": thread_ref,
            "channelIntegrationThreadIds": [thread_ref],
            "message": message_to_json(event.message, channel_id=event.channel_id, engine_facts=False),
        }
    head: Json = {
        "type": event.type,
        "domainEvent": True,
        "eventId": record.event_id,
        "sequence": record.sequence,
        "eventTimestamp": format_timestamp(record.timestamp),
    }
    if isinstance(event, ChannelCreated | ChannelUpdated):
        return head | {"channelId": event.channel.id, "channel": channel_to_json(event.channel)}
    if isinstance(event, StagingTokenCreated):
        token = event.token
        return head | {"rule": event.rule, "channelId": token.channel_id, "stagingToken": staging_token_to_json(token)}
    if isinstance(event, ThreadEvent):
        fields: Json = {"rule": event.rule, "threadId": event.thread_id}
        for attribute in attrs.fields(type(event)):
            value = getattr(event, attribute.name)
            if attribute.name not in ("rule", "thread_id") and value is not None:  # unset: left out, not null
                fields[camel_case(attribute.name)] = _plain(value)
        if isinstance(event, ThreadCreated):
            fields["key"] = [identifier_to_json(i) for i in key_identifiers(event.key)]
        return head | fields
    raise TypeError(f"no JSON form for event {event!r}")


def _without_none(document: Json) -> Json:
    """``document`` without its keys whose value is ``None``: HubSpot leaves an unset field out."""
    return {key: value for key, value in document.items() if value is not None}


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
