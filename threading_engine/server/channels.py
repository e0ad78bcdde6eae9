"""Custom Channels v3: channels, channel accounts and published messages, under HubSpot's paths.

Served under ``/conversations/v3/custom-channels`` and the dated ``/conversations/custom-channels/2026-09``
(HubSpot's file also lists and creates channels at ``/conversations/custom-channels/v3``). Channels belong to
the app and are shared by every portal; accounts belong to the portal that connected them.
"""

from __future__ import annotations

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import hubspot
from ..errors import ValidationError
from ..identifiers import IdentifierType
from ..reads import AccountFilter
from ..storable import shown
from .service import Service, absent, flag, paging

PREFIXES = ("/conversations/v3/custom-channels", "/conversations/custom-channels/2026-09")
CHANNEL_LIST_PREFIXES = (*PREFIXES, "/conversations/custom-channels/v3")


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def create_channel(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    command = hubspot.parse_create_channel(await service.json_body(request))
    result = await service.call(service.engine.execute, command)
    assert result.channel_id is not None
    return JSONResponse(hubspot.channel_to_json(service.engine.channel(result.channel_id)), status_code=201)


async def list_channels(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    after, limit = paging(request)
    found = await service.call(service.engine.channels_page, after=after, limit=limit)
    documents = [hubspot.channel_to_json(channel) for channel in found.results]
    return JSONResponse(hubspot.collection_to_json(documents, total=found.total, after=found.after))


async def get_channel(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    channel = await service.call(service.engine.channel, request.path_params["channelId"])
    return JSONResponse(hubspot.channel_to_json(channel))


async def update_channel(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    command = hubspot.parse_update_channel(request.path_params["channelId"], await service.json_body(request))
    result = await service.call(service.engine.execute, command)
    assert result.channel_id is not None
    return JSONResponse(hubspot.channel_to_json(service.engine.channel(result.channel_id)))


async def archive_channel(request: Request) -> Response:
    """HubSpot's DELETE of a channel: archived, its accounts take no more messages (A1)."""
    service = _service(request)
    service.portal(request)
    await service.call(service.engine.archive_channel, request.path_params["channelId"])
    return Response(status_code=204)


async def create_account(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    command = hubspot.parse_create_account(request.path_params["channelId"], await service.json_body(request))
    command = attrs.evolve(command, portal_id=portal)  # the account belongs to the caller's portal (P1)

    def connect() -> str:
        # Under the portal lock: the dispatcher never sees CHANNEL_ACCOUNT_CREATED before the account's portal.
        with service.portal_lock:
            result = service.engine.execute(command)
            assert result.channel_account_id is not None
            service.state.set_portal(result.channel_account_id, portal)
            return result.channel_account_id

    account_id = await service.call(connect)
    account = service.engine.channel_account(account_id)
    return JSONResponse(hubspot.account_to_json(account, portal_id=portal), status_code=201)


async def list_accounts(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    channel_id = request.path_params["channelId"]
    await service.call(service.engine.channel, channel_id)  # NOT_FOUND for an unknown channel
    types = request.query_params.getlist("deliveryIdentifierType")
    for name in types:
        if name not in IdentifierType.__members__:
            known = ", ".join(IdentifierType.__members__)
            raise ValidationError(
                f"deliveryIdentifierType {shown(name)} is not one of {known}",
                field="deliveryIdentifierType",
                value=name,
            )
    where = AccountFilter(
        channel_ids=(channel_id,),
        portal_id=portal,  # a portal sees the accounts it connected (P1)
        archived=flag(request, "archived") is True,  # HubSpot's: the archived ones with true, the others otherwise
        identifier_types=tuple(IdentifierType(name) for name in types),
        identifier_values=tuple(request.query_params.getlist("deliveryIdentifierValue")),
    )
    after, limit = paging(request)
    found = await service.call(service.engine.accounts_page, where, after=after, limit=limit)
    documents = [hubspot.account_to_json(account, portal_id=portal) for account in found.results]
    return JSONResponse(hubspot.collection_to_json(documents, total=found.total, after=found.after))


async def get_account(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    account = await service.call(service.account, portal, request.path_params["channelAccountId"])
    check_channel(account.channel_id, request, "channelAccountId", account.id)
    return JSONResponse(hubspot.account_to_json(account, portal_id=portal))


async def update_account(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    account_id = request.path_params["channelAccountId"]
    body = await service.json_body(request)
    account = await service.call(service.account, portal, account_id, "V2")
    check_channel(account.channel_id, request, "channelAccountId", account.id)
    await service.call(service.engine.execute, hubspot.parse_update_account(account.id, body))
    return JSONResponse(hubspot.account_to_json(service.engine.channel_account(account.id), portal_id=portal))


async def publish_message(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    command = hubspot.parse_publish_message(await service.json_body(request))
    account = await service.call(service.account, portal, command.channel_account_id, "V5")
    check_channel(account.channel_id, request, "channelAccountId", account.id, "V5")
    result = await service.call(service.engine.execute, command)
    assert result.message_id is not None
    message = service.engine.message(result.message_id)
    return JSONResponse(hubspot.message_to_json(message, channel_id=account.channel_id), status_code=201)


async def get_message(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    message, account = await service.call(service.message, portal, request.path_params["messageId"])
    check_channel(account.channel_id, request, "messageId", message.id)
    return JSONResponse(hubspot.message_to_json(message, channel_id=account.channel_id))


async def update_message_status(request: Request) -> JSONResponse:
    """The integration reports a message's delivery status (S1): SENT, FAILED or READ."""
    service = _service(request)
    portal = service.portal(request)
    body = await service.json_body(request)
    message, account = await service.call(service.message, portal, request.path_params["messageId"])
    check_channel(account.channel_id, request, "messageId", message.id)
    command = hubspot.parse_update_message_status(account.channel_id, message.id, body)
    await service.call(service.engine.execute, command)
    return JSONResponse(hubspot.message_to_json(service.engine.message(message.id), channel_id=account.channel_id))


def check_channel(channel_id: str, request: Request, field: str, value: str, rule: str | None = None) -> None:
    """What the path's channel does not hold is absent from it (NOT_FOUND)."""
    if channel_id != request.path_params["channelId"]:
        names = {"channelAccountId": "channel account", "messageId": "message"}[field]
        raise absent(field, value, names, rule)


def routes() -> list[Route]:
    """Every Custom Channels route, under each prefix."""
    served = [Route(prefix, create_channel, methods=["POST"]) for prefix in CHANNEL_LIST_PREFIXES]
    served += [Route(prefix, list_channels, methods=["GET"]) for prefix in CHANNEL_LIST_PREFIXES]
    for prefix in PREFIXES:
        channel = prefix + "/{channelId}"
        account = channel + "/channel-accounts/{channelAccountId}"
        served += [
            Route(channel, get_channel, methods=["GET"]),
            Route(channel, update_channel, methods=["PATCH"]),
            Route(channel, archive_channel, methods=["DELETE"]),
            Route(channel + "/channel-accounts", create_account, methods=["POST"]),
            Route(channel + "/channel-accounts", list_accounts, methods=["GET"]),
            Route(account, get_account, methods=["GET"]),
            Route(account, update_account, methods=["PATCH"]),
            Route(channel + "/messages", publish_message, methods=["POST"]),
            Route(channel + "/messages/{messageId}", get_message, methods=["GET"]),
            Route(channel + "/messages/{messageId}", update_message_status, methods=["PATCH"]),
        ]
    return served
