"""HubSpot's staging-token operation (T1) at the edge: its PATCH body in, the token out, and the link HubSpot's
inbox sends the user to when they click "connect" (the channel's ``channelAccountConnectionRedirectUrl``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..commands import CompleteStagingToken
from ..model import Channel, StagingToken
from .parsing import _fields, _normalized, _require, parse_delivery_identifier
from .rendering import Json, format_timestamp, identifier_to_json

_MAX_INT64 = 2**63 - 1


def parse_complete_staging_token(channel_id: str, account_token: str, body: object) -> CompleteStagingToken:
    """``PATCH /{channelId}/channel-account-staging-tokens/{accountToken}``: the account's ``accountName`` and
    ``deliveryIdentifier``, both required (as 2026-09 requires them: the account cannot be made without)."""
    data = _fields(body, ("accountName", "deliveryIdentifier"), "a staging token update", "V2")
    identifier = _require(data, "deliveryIdentifier", "V2", why="is required to complete a staging token")
    command = CompleteStagingToken(
        channel_id=channel_id,
        account_token=account_token,
        account_name=_require(data, "accountName", "V2"),
        delivery_identifier=parse_delivery_identifier(identifier),
    )
    return _normalized(command)


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


def connection_url(channel: Channel, token: StagingToken) -> str | None:
    """Where HubSpot's inbox sends the user who clicked "connect": the channel's
    ``channelAccountConnectionRedirectUrl`` with ``accountToken``, ``channelId``, ``inboxId`` and ``portalId``
    added to its query (its own query kept, these replacing any of the same name); ``None`` without one."""
    base = channel.channel_account_connection_redirect_url
    if base is None:
        return None
    parts = urlsplit(base)
    added = {
        "accountToken": token.id,
        "channelId": token.channel_id,
        "inboxId": token.inbox_id,
        "portalId": token.portal_id,
    }
    kept = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in added]
    return urlunsplit(parts._replace(query=urlencode([*kept, *added.items()])))
