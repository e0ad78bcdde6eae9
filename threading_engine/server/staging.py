"""Connecting a channel account through a staging token (T1): HubSpot's PATCH under the Custom Channels prefixes,
and the engine's own route that plays HubSpot's inbox, where a user clicks "connect".

``POST /_engine/channels/{channelId}/staging-tokens`` (``{"inboxId", "userId"?}``) makes a token in the caller's
portal and answers with it and the link HubSpot would send the user to: the channel's
``channelAccountConnectionRedirectUrl`` with ``accountToken``, ``channelId``, ``inboxId`` and ``portalId`` added.
The integration then completes the token with HubSpot's PATCH, once; the account belongs to the token's portal,
and a token of another portal is NOT_FOUND, as if absent.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .. import hubspot
from ..errors import ValidationError
from ..model import StagingToken
from ..storable import shown
from .channels import PREFIXES
from .service import Service, absent


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _id_text(body: dict[str, object], key: str, default: str | None) -> object:
    """An id HubSpot's clients send as a number or a string; ``default`` when absent (``None``: required)."""
    value = body.get(key)
    if value is None:
        if default is None:
            raise ValidationError(f"{key} is required (T1)", field=key, value=None, rule="T1")
        return default
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return str(value)
    return value


async def create_staging_token(request: Request) -> JSONResponse:
    """HubSpot's inbox, as the engine plays it: a user of the caller's portal clicks "connect" (T1)."""
    service = _service(request)
    portal = service.portal(request)
    body = await service.json_body(request)
    if not isinstance(body, dict) or set(body) - {"inboxId", "userId"}:
        raise ValidationError(
            f"body {shown(body)} is not an object of inboxId and userId (T1)", field="body", value=body, rule="T1"
        )
    channel_id = request.path_params["channelId"]
    token = await service.call(
        service.engine.create_staging_token,
        channel_id,
        inbox_id=_id_text(body, "inboxId", None),
        portal_id=portal,
        user_id=_id_text(body, "userId", "0"),
    )
    channel = service.engine.channel(token.channel_id)
    document = {
        "stagingToken": hubspot.staging_token_to_json(token),
        "connectionUrl": hubspot.connection_url(channel, token),
    }
    return JSONResponse(document, status_code=201)


async def complete_staging_token(request: Request) -> JSONResponse:
    """HubSpot's ``PATCH /{channelId}/channel-account-staging-tokens/{accountToken}``: the account is created
    in the token's portal (P1), with CHANNEL_ACCOUNT_CREATED; a used token is refused (T1)."""
    service = _service(request)
    portal = service.portal(request)
    channel_id, account_token = request.path_params["channelId"], request.path_params["accountToken"]
    command = hubspot.parse_complete_staging_token(channel_id, account_token, await service.json_body(request))

    def connect() -> StagingToken:
        token = service.engine.staging_token(account_token)
        if token.portal_id != portal:
            raise absent("accountToken", account_token, "staging token", "T1")
        # Under the portal lock: the dispatcher never sees CHANNEL_ACCOUNT_CREATED before the account's portal.
        with service.portal_lock:
            result = service.engine.execute(command)
            assert result.channel_account_id is not None
            service.state.set_portal(result.channel_account_id, portal)
        return service.engine.staging_token(account_token)

    completed = await service.call(connect)
    return JSONResponse(hubspot.staging_token_to_json(completed))


def routes() -> list[Route]:
    served = [Route("/_engine/channels/{channelId}/staging-tokens", create_staging_token, methods=["POST"])]
    for prefix in PREFIXES:
        path = prefix + "/{channelId}/channel-account-staging-tokens/{accountToken}"
        served.append(Route(path, complete_staging_token, methods=["PATCH"]))
    return served
