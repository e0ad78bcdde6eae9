"""T1 over HTTP: the engine's "connect" route makes a staging token, HubSpot's PATCH completes it once, under
both of HubSpot's prefixes; the account belongs to the token's portal and its webhook is delivered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from threading_engine.server import create_app

from .harness import CHANNELS, OTHER_TOKEN, PORTAL, Receiver, channel_body, conforms
from .test_in_process import config, serving

DATED = "/conversations/custom-channels/2026-09"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    with serving(create_app(config(tmp_path))) as started:
        yield started


def _channel(client: httpx.Client, webhook_url: str) -> str:
    body = channel_body(webhook_url) | {"channelAccountConnectionRedirectUrl": "https://example.com/connect?app=7"}
    created = client.post(CHANNELS, json=body)
    assert created.status_code == 201, created.text
    channel_id: str = created.json()["id"]
    return channel_id


def _identifier(phone: str) -> dict[str, object]:
    return {"accountName": "Front desk", "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": phone}}


def test_t1_connect_then_complete_once_creates_the_account_in_the_tokens_portal(
    client: httpx.Client, receiver: Receiver
) -> None:
    channel_id = _channel(client, receiver.url)
    made = client.post(f"/_engine/channels/{channel_id}/staging-tokens", json={"inboxId": 100, "userId": "55"})
    assert made.status_code == 201, made.text
    token = made.json()["stagingToken"]
    conforms("PublicChannelAccountStagingToken", token)
    assert (token["genericChannelId"], token["inboxId"], token["userId"]) == (int(channel_id), 100, 55)
    assert token["threadingEngine"] == {"portalId": PORTAL}
    link = urlsplit(made.json()["connectionUrl"])
    assert (link.scheme, link.netloc, link.path) == ("https", "example.com", "/connect")
    assert parse_qs(link.query) == {
        "app": ["7"],
        "accountToken": [token["accountToken"]],
        "channelId": [channel_id],
        "inboxId": ["100"],
        "portalId": [PORTAL],
    }

    path = f"{CHANNELS}/{channel_id}/channel-account-staging-tokens/{token['accountToken']}"
    completed = client.patch(path, json=_identifier("+1 (555) 010-0200"))
    assert completed.status_code == 200, completed.text
    conforms("PublicChannelAccountStagingToken", completed.json())
    assert completed.json()["accountName"] == "Front desk"
    assert completed.json()["deliveryIdentifier"] == {"type": "HS_PHONE_NUMBER", "value": "+15550100200"}
    account_id = completed.json()["threadingEngine"]["channelAccountId"]
    account = client.get(f"{CHANNELS}/{channel_id}/channel-accounts/{account_id}").json()
    assert (account["name"], account["inboxId"], account["threadingEngine"]["portalId"]) == (
        "Front desk",
        "100",
        PORTAL,
    )
    webhook = receiver.wait_for(1, "CHANNEL_ACCOUNT_CREATED")[0]
    assert (webhook["portalId"], webhook["channelAccountId"]) == (PORTAL, account_id)

    again = client.patch(
        f"{DATED}/{channel_id}/channel-account-staging-tokens/{token['accountToken']}", json=_identifier("+15550100201")
    )
    assert again.status_code == 403
    conforms("Error", again.json())
    assert again.json()["errors"][0]["context"]["rule"] == ["T1"]


def test_t1_unknown_foreign_and_invalid_tokens_are_refused_and_change_nothing(
    client: httpx.Client, receiver: Receiver
) -> None:
    channel_id = _channel(client, receiver.url)
    unknown = client.patch(
        f"{DATED}/{channel_id}/channel-account-staging-tokens/nope", json=_identifier("+15550100300")
    )
    assert unknown.status_code == 404
    token = client.post(f"/_engine/channels/{channel_id}/staging-tokens", json={"inboxId": "100"}).json()
    account_token = token["stagingToken"]["accountToken"]
    path = f"{DATED}/{channel_id}/channel-account-staging-tokens/{account_token}"
    foreign = client.patch(path, json=_identifier("+15550100300"), headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert foreign.status_code == 404
    missing = client.patch(path, json={"accountName": "Front desk"})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["in"] == "deliveryIdentifier"
    wrong_type = client.patch(
        path, json={"accountName": "x", "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "a@b.c"}}
    )
    assert wrong_type.status_code == 400
    assert client.get(f"{CHANNELS}/{channel_id}/channel-accounts").json()["total"] == 0
    assert client.patch(path, json=_identifier("+15550100300")).status_code == 200
    assert client.post(f"/_engine/channels/{channel_id}/staging-tokens", json={}).status_code == 400
    assert client.post("/_engine/channels/404/staging-tokens", json={"inboxId": "1"}).status_code == 404
