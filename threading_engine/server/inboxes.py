"""Conversations v3 inboxes and actors, as far as the engine knows them.

The engine keeps no inboxes and no people, only what messages and accounts carry, so these routes answer from
that and nothing else:

- **Inboxes.** Each account names its inbox (``inboxId``, given when it is connected) and every thread is in
  its account's inbox. A portal's inboxes are the ids its accounts name: type ``INBOX``, never archived,
  created when the first account naming it was connected, updated when the last one was; the engine keeps no
  inbox names, so each is named ``Inbox <id>``.
- **Actors.** ``A-…``: an agent, known from the ``createdBy`` of its replies (``A-0`` for replies that named no
  agent); the engine keeps no agent names or emails. ``I-<channelId>``: the integration that publishes on a
  channel, named as the channel. ``V-<TYPE>:<value>``: a visitor, one per delivery identifier that wrote to
  or was written to by one of the portal's accounts (the ``associatedContactId`` of its thread, with ``V-``
  before it, when the thread has one identifier), named as its messages last named it, with the address as
  its email for ``HS_EMAIL_ADDRESS``.

A portal sees the actors of its own accounts' messages only; integrators are the app's, like channels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .. import hubspot
from ..errors import NotFoundError, ValidationError
from ..hubspot.rendering import UNNAMED_AGENT
from ..identifiers import IdentifierType
from ..model import ChannelAccount, Direction, Message, MessageOrigin
from ..storable import shown
from .service import Service, absent, flag, page

PREFIX = "/conversations/v3/conversations"
MAX_BATCH = 100
Json = dict[str, Any]


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


# -- inboxes --------------------------------------------------------------------------------------------------


def _inboxes(service: Service, portal: str) -> list[Json]:
    """The portal's inboxes, in the order their first accounts were connected."""
    accounts = sorted(service.accounts(portal), key=lambda account: account.created_at)
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for account in accounts:
        first.setdefault(account.inbox_id, account.created_at)
        last[account.inbox_id] = account.created_at
    return [
        {
            "id": inbox_id,
            "name": f"Inbox {inbox_id}",
            "type": "INBOX",
            "archived": False,
            "createdAt": hubspot.format_timestamp(created),
            "updatedAt": hubspot.format_timestamp(last[inbox_id]),
        }
        for inbox_id, created in first.items()
    ]


async def list_inboxes(request: Request) -> JSONResponse:
    """``archived=true`` lists none: the engine archives no inbox."""
    service = _service(request)
    portal = service.portal(request)
    inboxes = [] if flag(request, "archived") else await service.call(_inboxes, service, portal)
    results, after = page(inboxes, request)
    return JSONResponse(hubspot.collection_to_json(results, total=len(inboxes), after=after))


async def get_inbox(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    inbox_id = request.path_params["inboxId"]
    for inbox in await service.call(_inboxes, service, portal):
        if inbox["id"] == inbox_id:
            return JSONResponse(inbox)
    raise absent("inboxId", inbox_id, "inbox", None)


# -- actors ---------------------------------------------------------------------------------------------------


def _portal_messages(service: Service, portal: str) -> list[tuple[Message, ChannelAccount]]:
    """Every message on the portal's accounts' threads, oldest first."""
    accounts = {account.id: account for account in service.accounts(portal)}
    messages = [
        (message, accounts[thread.channel_account_id])
        for thread in service.engine.threads()
        if thread.channel_account_id in accounts
        for message in service.engine.messages(thread.id)
    ]
    return sorted(messages, key=lambda pair: pair[0].received_at)


def _actors(service: Service, portal: str, wanted: list[str]) -> dict[str, Json]:
    """The actors among ``wanted`` the portal's messages and the app's channels know, by id."""
    found: dict[str, Json] = {}
    want = set(wanted)
    for actor_id in want:
        if actor_id.startswith("I-"):
            try:
                channel = service.engine.channel(actor_id.removeprefix("I-"))
            except NotFoundError:
                continue
            found[actor_id] = {"id": actor_id, "type": "INTEGRATOR", "name": channel.name}
    if not any(actor_id.startswith(("A-", "V-")) for actor_id in want):
        return found
    for message, account in _portal_messages(service, portal):
        if message.origin is MessageOrigin.AGENT:
            agent = message.actor_id or UNNAMED_AGENT
            if agent in want:
                found[agent] = {"id": agent, "type": "AGENT"}
        visitors = message.senders if message.direction is Direction.INCOMING else message.recipients
        for participant in visitors:
            identifier = participant.delivery_identifier
            if identifier == account.delivery_identifier:
                continue
            actor_id = f"V-{identifier.type.value}:{identifier.value}"
            if actor_id not in want:
                continue
            visitor = found.setdefault(actor_id, {"id": actor_id, "type": "VISITOR"})
            if participant.name is not None:  # the latest name given wins (messages are oldest first)
                visitor["name"] = participant.name
            if identifier.type is IdentifierType.HS_EMAIL_ADDRESS:
                visitor["email"] = identifier.value
    return found


async def get_actor(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    actor_id = request.path_params["actorId"]
    found = await service.call(_actors, service, portal, [actor_id])
    if actor_id not in found:
        raise absent("actorId", actor_id, "actor", None)
    return JSONResponse(found[actor_id])


async def batch_read_actors(request: Request) -> JSONResponse:
    """HubSpot's batch read: 200 when every input was found, else 207 with an error for each one that was not."""
    service = _service(request)
    portal = service.portal(request)
    body = await service.json_body(request)
    inputs = body.get("inputs") if isinstance(body, dict) and body.keys() == {"inputs"} else None
    if not (isinstance(inputs, list) and all(isinstance(item, str) for item in inputs)):
        raise ValidationError(f"body {shown(body)} is not {{inputs: [actor ids]}}", field="inputs", value=body)
    if len(inputs) > MAX_BATCH:
        raise ValidationError(f"inputs holds more than {MAX_BATCH} actor ids", field="inputs", value=len(inputs))
    started = hubspot.format_timestamp(service.engine.clock())
    found = await service.call(_actors, service, portal, inputs)
    ordered = list(dict.fromkeys(inputs))
    answer: Json = {
        "status": "COMPLETE",
        "results": [found[actor_id] for actor_id in ordered if actor_id in found],
        "startedAt": started,
        "completedAt": hubspot.format_timestamp(service.engine.clock()),
    }
    missing = [actor_id for actor_id in ordered if actor_id not in found]
    if not missing:
        return JSONResponse(answer)
    answer["numErrors"] = len(missing)
    answer["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"actorId {shown(actor_id)} names no actor",
            "context": {"actorId": [actor_id]},
            "errors": [],
            "links": {},
        }
        for actor_id in missing
    ]
    return JSONResponse(answer, status_code=207)


def routes() -> list[Route]:
    return [
        Route(PREFIX + "/inboxes", list_inboxes, methods=["GET"]),
        Route(PREFIX + "/inboxes/{inboxId}", get_inbox, methods=["GET"]),
        Route(PREFIX + "/actors/batch/read", batch_read_actors, methods=["POST"]),
        Route(PREFIX + "/actors/{actorId}", get_actor, methods=["GET"]),
    ]
