"""HubSpot's staging-token operation (T1) at the edge: its PATCH body in, the token out, and the link HubSpot's
inbox sends the user to when they click "connect" (the channel's ``channelAccountConnectionRedirectUrl``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..commands import CompleteStagingToken
from ..model import Channel, StagingToken
from .parsing import _fields, _normalized, _require, parse_delivery_identifier
from .rendering import staging_token_to_json

__all__ = ["connection_url", "parse_complete_staging_token", "staging_token_to_json"]


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
