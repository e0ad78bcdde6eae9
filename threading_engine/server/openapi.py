"""The OpenAPI 3.1 document of what the service serves, at ``/openapi.json``.

Written from the routes themselves (every served path and method is in it, and nothing else), with each
operation's body and answer named after HubSpot's schemas, which the engine ships as JSON Schemas
(``threading_engine.hubspot.schemas``) and this document embeds under ``components``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from starlette.routing import BaseRoute, Route

from ..hubspot import schemas
from ..identifiers import IdentifierType
from ..model import ThreadStatus
from . import channels, conversations, inboxes, staging
from .service import MAX_LIMIT

Json = dict[str, Any]
_PATH_PARAMETER = re.compile(r"{(\w+)}")
_PAGING = ("after", "limit")
# What each query parameter takes, as the handlers check it; one not named here is any string.
_QUERY_SCHEMAS: dict[str, Json] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    "archived": {"type": "boolean"},
    "threadStatus": {"type": "string", "enum": [status.value for status in ThreadStatus]},
    "status": {"type": "string", "enum": [status.value for status in ThreadStatus]},
    "deliveryIdentifierType": {"type": "string", "enum": [kind.value for kind in IdentifierType]},
    "latestMessageTimestampAfter": {"type": "string", "format": "date-time"},
}
_SORTS: dict[Callable[..., Any], list[str]] = {
    conversations.list_threads: ["id", "-id", "latestMessageTimestamp", "-latestMessageTimestamp"],
    conversations.list_messages: ["createdAt", "-createdAt"],
}
# The refusals an operation can answer with HubSpot's error body: a read can be refused for its query or
# path (400, 404) and a write for its body and the stored state too; both when the store fails (503).
_READ_REFUSALS = (400, 401, 404, 503)
_WRITE_REFUSALS = (400, 401, 403, 404, 409, 413, 415, 503)


@attrs.frozen
class Operation:
    """What the document says of one endpoint: its summary, body, success status and answer, query parameters."""

    summary: str
    status: int = 200
    answer: str | None = None
    body: str | None = None
    query: tuple[str, ...] = ()
    partial: str | None = None  # a batch's answer when some inputs failed (207)


_OPERATIONS: dict[Callable[..., Any], Operation] = {
    channels.create_channel: Operation(
        summary="Create a channel",
        status=201,
        answer="PublicChannelIntegrationChannel",
        body="PublicChannelIntegrationChannelCreate",
    ),
    channels.list_channels: Operation(
        summary="List channels",
        status=200,
        answer="CollectionResponseWithTotalPublicChannelIntegrationChannel",
        query=_PAGING,
    ),
    channels.get_channel: Operation(summary="Read a channel", status=200, answer="PublicChannelIntegrationChannel"),
    channels.archive_channel: Operation(summary="Archive a channel", status=204),
    channels.update_channel: Operation(
        summary="Update a channel's name, webhookUrl, logo, description or capabilities",
        status=200,
        answer="PublicChannelIntegrationChannel",
        body="PublicChannelIntegrationChannelPatch",
    ),
    channels.create_account: Operation(
        summary="Connect a channel account", status=201, answer="PublicChannelAccount", body="PublicChannelAccountEgg"
    ),
    channels.list_accounts: Operation(
        summary="List a channel's accounts",
        status=200,
        answer="CollectionResponseWithTotalPublicChannelAccount",
        query=(*_PAGING, "archived", "deliveryIdentifierType", "deliveryIdentifierValue"),
    ),
    channels.get_account: Operation(summary="Read a channel account", status=200, answer="PublicChannelAccount"),
    channels.update_account: Operation(
        summary="Rename or (de)authorize a channel account",
        status=200,
        answer="PublicChannelAccount",
        body="PublicChannelAccountUpdateRequest",
    ),
    channels.publish_message: Operation(
        summary="Publish a message",
        status=201,
        answer="PublicConversationsMessage",
        body="ChannelIntegrationMessageEgg",
    ),
    channels.get_message: Operation(summary="Read a message", status=200, answer="PublicConversationsMessage"),
    channels.update_message_status: Operation(
        summary="Update a message's status",
        status=200,
        answer="PublicConversationsMessage",
        body="PublicChannelIntegrationMessageUpdateRequest",
    ),
    staging.complete_staging_token: Operation(
        summary="Complete a channel account staging token: the account is created (once)",
        status=200,
        answer="PublicChannelAccountStagingToken",
        body="PublicChannelAccountStagingTokenUpdateRequest",
    ),
    conversations.list_threads: Operation(
        summary="List threads",
        status=200,
        answer="CollectionResponsePublicThreadForwardPaging",
        query=(
            *_PAGING,
            "threadStatus",
            "status",
            "archived",
            "inboxId",
            "associatedContactId",
            "associatedTicketId",
            "latestMessageTimestampAfter",
            "sort",
        ),
    ),
    conversations.get_thread: Operation(summary="Read a thread", status=200, answer="PublicThread"),
    conversations.update_thread: Operation(
        summary="Close, reopen, archive or restore a thread",
        status=200,
        answer="PublicThread",
        body="PublicThreadUpdateRequest",
    ),
    conversations.archive_thread: Operation(summary="Archive a thread", status=204),
    conversations.list_messages: Operation(
        summary="A thread's messages",
        status=200,
        answer="CollectionResponsePublicMessageForwardPaging",
        query=(*_PAGING, "sort"),
    ),
    conversations.send_message: Operation(
        summary="Reply on a thread as an agent",
        status=201,
        answer="PublicConversationsMessage",
        body="PublicConversationsMessageEgg",
    ),
    conversations.get_message: Operation(
        summary="Read a thread's message", status=200, answer="PublicConversationsMessage"
    ),
    conversations.list_channels: Operation(
        summary="List channels", status=200, answer="CollectionResponseWithTotalPublicChannel", query=_PAGING
    ),
    conversations.get_channel: Operation(summary="Read a channel", status=200, answer="PublicChannel"),
    conversations.list_accounts: Operation(
        summary="List channel accounts",
        status=200,
        answer="CollectionResponseWithTotalPublicChannelAccount",
        query=(*_PAGING, "archived", "channelId", "inboxId"),
    ),
    conversations.get_account: Operation(summary="Read a channel account", status=200, answer="PublicChannelAccount"),
    inboxes.list_inboxes: Operation(
        summary="List inboxes",
        status=200,
        answer="CollectionResponseWithTotalPublicInbox",
        query=(*_PAGING, "archived"),
    ),
    inboxes.get_inbox: Operation(summary="Read an inbox", status=200, answer="PublicInbox"),
    inboxes.get_actor: Operation(summary="Read an actor", status=200, answer="PublicActor"),
    inboxes.batch_read_actors: Operation(
        summary="Read actors",
        status=200,
        answer="BatchResponsePublicActor",
        body="BatchInputString",
        partial="BatchResponsePublicActorWithErrors",
    ),
}
# The service's own routes: described without HubSpot schemas (they are not HubSpot's).
_CONTROL = {
    "/_engine/health": Operation(summary="Whether the service is up", status=200),
    "/_engine/clock": Operation(summary="The engine's clock", status=200),
    "/_engine/clock/advance": Operation(
        summary='Advance the manual clock: {"seconds": N} or {"duration": "PT23H59M"}', status=200
    ),
    "/_engine/webhooks/failed": Operation(summary="Webhook deliveries that gave up", status=200),
    "/_engine/webhooks/failed/{eventId}/retry": Operation(summary="Deliver a failed webhook event again", status=200),
    "/openapi.json": Operation(summary="This document", status=200),
    "/_engine/channels/{channelId}/staging-tokens": Operation(
        summary="What HubSpot's inbox does on \"connect\": a staging token and the link to the channel's "
        'connection page ({"inboxId", "userId"?})',
        status=201,
    ),
}
_PUBLIC = {"/_engine/health", "/openapi.json"}


def document(routes: Sequence[BaseRoute]) -> Json:
    """The OpenAPI document of ``routes``."""
    paths: dict[str, Json] = {}
    for route in routes:
        if not isinstance(route, Route) or route.methods is None:
            continue
        operation = _CONTROL.get(route.path) or _OPERATIONS[route.endpoint]
        for method in sorted(route.methods - {"HEAD"}):
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, method, operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "threading-engine serve: HubSpot Custom Channels v3 and Conversations v3, locally",
            "version": "0.1.0",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": _components(), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _operation(route: Route, method: str, operation: Operation) -> Json:
    name = f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', route.path)}"
    parameters: list[Json] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _PATH_PARAMETER.findall(route.path)
    ]
    parameters += [
        {"name": q, "in": "query", "required": False, "schema": _query_schema(route, q)} for q in operation.query
    ]
    answer: Json = {"description": operation.summary}
    if operation.answer is not None:
        answer["content"] = {"application/json": {"schema": _ref(operation.answer)}}
    elif operation.status != 204:
        answer["content"] = {"application/json": {"schema": {"type": "object"}}}
    described: Json = {
        "operationId": name,
        "summary": operation.summary,
        "parameters": parameters,
        "responses": {str(operation.status): answer},
    }
    if operation.partial is not None:
        described["responses"]["207"] = {
            "description": "Some inputs were not found",
            "content": {"application/json": {"schema": _ref(operation.partial)}},
        }
    if route.path not in _PUBLIC:
        refused = {"description": "HubSpot's error body", "content": {"application/json": {"schema": _ref("Error")}}}
        for status in _READ_REFUSALS if method == "GET" else _WRITE_REFUSALS:
            described["responses"][str(status)] = refused
    if operation.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.body)}}}
    elif method == "POST":
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    if route.path in _PUBLIC:
        described["security"] = []
    return described


def _query_schema(route: Route, name: str) -> Json:
    if name == "sort":
        return {"type": "string", "enum": _SORTS[route.endpoint]}
    return _QUERY_SCHEMAS.get(name, {"type": "string"})


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _components() -> Json:
    return {name: _local_refs(schemas.schema(name)) for name in schemas.names()}


def _local_refs(node: Any) -> Any:
    """A shipped schema with its file references (``Error.json``) made references within this document."""
    if isinstance(node, dict):
        # ``{"$ref": "Error.json"}`` becomes ``{"$ref": "#/components/schemas/Error"}``: the key keeps a string.
        return {
            key: (
                _ref(value.removesuffix(".json"))["$ref"]
                if key == "$ref" and value.endswith(".json")
                else _local_refs(value)
            )
            for key, value in node.items()
            if key not in ("$schema", "$id")
        }
    if isinstance(node, list):
        return [_local_refs(value) for value in node]
    return node
