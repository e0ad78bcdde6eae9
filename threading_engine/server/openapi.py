"""The OpenAPI 3.1 document of what the service serves, at ``/openapi.json``.

Written from the routes themselves (every served path and method is in it, and nothing else), with each
operation's body and answer named after HubSpot's schemas, which the engine ships as JSON Schemas
(``threading_engine.hubspot.schemas``) and this document embeds under ``components``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from starlette.routing import BaseRoute, Route

from ..hubspot import schemas
from . import channels, conversations

Json = dict[str, Any]
_PATH_PARAMETER = re.compile(r"{(\w+)}")
_PAGING = ("after", "limit")


@attrs.frozen
class Operation:
    """What the document says of one endpoint: its summary, body, success status and answer, query parameters."""

    summary: str
    status: int = 200
    answer: str | None = None
    body: str | None = None
    query: tuple[str, ...] = ()


_OPERATIONS: dict[Callable[..., Any], Operation] = {
    channels.create_channel: Operation(
        "Create a channel", 201, "PublicChannelIntegrationChannel", "PublicChannelIntegrationChannelCreate"
    ),
    channels.list_channels: Operation(
        "List channels", 200, "CollectionResponseWithTotalPublicChannelIntegrationChannel", query=_PAGING
    ),
    channels.get_channel: Operation("Read a channel", 200, "PublicChannelIntegrationChannel"),
    channels.update_channel: Operation(
        "Update a channel's name, webhookUrl, logo or description",
        200,
        "PublicChannelIntegrationChannel",
        "PublicChannelIntegrationChannelPatch",
    ),
    channels.create_account: Operation(
        "Connect a channel account", 201, "PublicChannelAccount", "PublicChannelAccountEgg"
    ),
    channels.list_accounts: Operation(
        "List a channel's accounts",
        200,
        "CollectionResponseWithTotalPublicChannelAccount",
        query=(*_PAGING, "archived", "deliveryIdentifierType", "deliveryIdentifierValue"),
    ),
    channels.get_account: Operation("Read a channel account", 200, "PublicChannelAccount"),
    channels.update_account: Operation(
        "Rename or (de)authorize a channel account", 200, "PublicChannelAccount", "PublicChannelAccountUpdateRequest"
    ),
    channels.publish_message: Operation(
        "Publish a message", 201, "PublicConversationsMessage", "ChannelIntegrationMessageEgg"
    ),
    channels.get_message: Operation("Read a message", 200, "PublicConversationsMessage"),
    conversations.list_threads: Operation(
        "List threads",
        200,
        "CollectionResponsePublicThreadForwardPaging",
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
    conversations.get_thread: Operation("Read a thread", 200, "PublicThread"),
    conversations.update_thread: Operation(
        "Close, reopen, archive or restore a thread", 200, "PublicThread", "PublicThreadUpdateRequest"
    ),
    conversations.archive_thread: Operation("Archive a thread", 204),
    conversations.list_messages: Operation(
        "A thread's messages", 200, "CollectionResponsePublicMessageForwardPaging", query=(*_PAGING, "sort")
    ),
    conversations.send_message: Operation(
        "Reply on a thread as an agent", 201, "PublicConversationsMessage", "PublicConversationsMessageEgg"
    ),
    conversations.get_message: Operation("Read a thread's message", 200, "PublicConversationsMessage"),
    conversations.list_channels: Operation(
        "List channels", 200, "CollectionResponseWithTotalPublicChannel", query=_PAGING
    ),
    conversations.get_channel: Operation("Read a channel", 200, "PublicChannel"),
    conversations.list_accounts: Operation(
        "List channel accounts",
        200,
        "CollectionResponseWithTotalPublicChannelAccount",
        query=(*_PAGING, "archived", "channelId", "inboxId"),
    ),
    conversations.get_account: Operation("Read a channel account", 200, "PublicChannelAccount"),
}
# The service's own routes: described without HubSpot schemas (they are not HubSpot's).
_CONTROL = {
    "/_engine/health": Operation("Whether the service is up", 200),
    "/_engine/clock": Operation("The engine's clock", 200),
    "/_engine/clock/advance": Operation('Advance the manual clock: {"seconds": N} or {"duration": "PT23H59M"}', 200),
    "/_engine/webhooks/failed": Operation("Webhook deliveries that gave up", 200),
    "/_engine/webhooks/failed/{eventId}/retry": Operation("Deliver a failed webhook event again", 200),
    "/openapi.json": Operation("This document", 200),
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
    parameters += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in operation.query]
    answer: Json = {"description": operation.summary}
    if operation.answer is not None:
        answer["content"] = {"application/json": {"schema": _ref(operation.answer)}}
    elif operation.status != 204:
        answer["content"] = {"application/json": {"schema": {"type": "object"}}}
    described: Json = {
        "operationId": name,
        "summary": operation.summary,
        "parameters": parameters,
        "responses": {
            str(operation.status): answer,
            "default": {
                "description": "HubSpot's error body",
                "content": {"application/json": {"schema": _ref("Error")}},
            },
        },
    }
    if operation.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.body)}}}
    elif method == "POST":
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    if route.path in _PUBLIC:
        described["security"] = []
    return described


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


@functools.cache
def _components() -> Json:
    return {name: _local_refs(schemas.schema(name)) for name in schemas.names()}


def _local_refs(node: Any) -> Any:
    """A shipped schema with its file references (``Error.json``) made references within this document."""
    if isinstance(node, dict):
        return {
            key: (
                _ref(value.removesuffix(".json")) if key == "$ref" and value.endswith(".json") else _local_refs(value)
            )
            for key, value in node.items()
            if key not in ("$schema", "$id")
        }
    if isinstance(node, list):
        return [_local_refs(value) for value in node]
    return node
