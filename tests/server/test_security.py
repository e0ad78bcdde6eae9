"""Refused requests: the right 4xx with HubSpot's error body, and nothing changed (no state, no webhook)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .harness import (
    CHANNELS,
    OTHER_TOKEN,
    THREADS,
    TOKEN,
    Receiver,
    Server,
    account_body,
    channel_body,
    conforms,
    connect,
    incoming_body,
    publish,
    reply_body,
    running,
)

MAX_BODY = 65_536


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("serve"), "--max-body-bytes", str(MAX_BODY)) as started:
        yield started


@pytest.fixture(scope="module")
def world(server: Server, receiver: Receiver) -> dict[str, str]:
    """Portal 1's channel, account, thread and message; the receiver has had the account's webhook."""
    with server.client() as client:
        channel_id, account_id = connect(client, receiver.url)
        message = publish(client, channel_id, account_id, "hello")
    receiver.wait_for(1)
    return {
        "channel": channel_id,
        "account": account_id,
        "thread": message["conversationsThreadId"],
        "message": message["id"],
    }


def snapshot(server: Server) -> Any:
    """Everything both portals can read, and every webhook the receiver has had."""
    with server.client(TOKEN) as mine, server.client(OTHER_TOKEN) as theirs:
        return [
            client.get(path, params={"archived": archived}).json()
            for client in (mine, theirs)
            for path in (CHANNELS, THREADS, "/conversations/v3/conversations/channel-accounts")
            for archived in ("false", "true")
        ]


def requests(world: dict[str, str]) -> dict[str, tuple[str, str, Any]]:
    channel, account, thread, message = world["channel"], world["account"], world["thread"], world["message"]
    return {
        "create channel": ("POST", CHANNELS, channel_body(None)),
        "list channels": ("GET", CHANNELS, None),
        "connect account": ("POST", f"{CHANNELS}/{channel}/channel-accounts", account_body("+15550100199")),
        "rename account": ("PATCH", f"{CHANNELS}/{channel}/channel-accounts/{account}", {"name": "Theirs"}),
        "read account": ("GET", f"{CHANNELS}/{channel}/channel-accounts/{account}", None),
        "publish": ("POST", f"{CHANNELS}/{channel}/messages", incoming_body(account, "intruder")),
        "read message": ("GET", f"{CHANNELS}/{channel}/messages/{message}", None),
        "read thread": ("GET", f"{THREADS}/{thread}", None),
        "close thread": ("PATCH", f"{THREADS}/{thread}", {"status": "CLOSED"}),
        "archive thread": ("DELETE", f"{THREADS}/{thread}", None),
        "reply": ("POST", f"{THREADS}/{thread}/messages", reply_body(channel, account, "intruder")),
        "thread history": ("GET", f"{THREADS}/{thread}/messages", None),
        "advance clock": ("POST", "/_engine/clock/advance", {"seconds": 60}),
    }


NAMES = tuple(requests(dict.fromkeys(("channel", "account", "thread", "message"), "x")))
# What another portal may do: channels belong to the app and are shared (P1), as is the test clock.
SHARED = {"create channel", "list channels", "connect account"}


def refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    conforms("Error", response.json())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_request_without_a_known_token_is_401_and_changes_nothing(
    server: Server, world: dict[str, str], receiver: Receiver, name: str, token: str | None
) -> None:
    before, webhooks = snapshot(server), len(receiver.events)
    method, path, body = requests(world)[name]
    with server.client(token) as client:
        response = client.request(method, path, json=body)
    refused(response, 401)
    assert response.json()["category"] == "INVALID_AUTHENTICATION"
    assert snapshot(server) == before and len(receiver.events) == webhooks


@pytest.mark.parametrize("name", [name for name in NAMES if name not in SHARED and name != "advance clock"])
def test_another_portal_sees_nothing_of_this_portals_accounts_threads_and_messages(
    server: Server, world: dict[str, str], receiver: Receiver, name: str
) -> None:
    before, webhooks = snapshot(server), len(receiver.events)
    method, path, body = requests(world)[name]
    with server.client(OTHER_TOKEN) as client:
        response = client.request(method, path, json=body)
    refused(response, 404)
    assert response.json()["category"] == "OBJECT_NOT_FOUND"
    assert snapshot(server) == before and len(receiver.events) == webhooks


def test_another_portal_lists_none_of_this_portals_accounts_or_threads(server: Server, world: dict[str, str]) -> None:
    with server.client(OTHER_TOKEN) as theirs:
        assert theirs.get(THREADS).json()["results"] == []
        accounts = theirs.get(f"{CHANNELS}/{world['channel']}/channel-accounts").json()
        assert accounts["results"] == [] and accounts["total"] == 0
        assert world["channel"] in [c["id"] for c in theirs.get(CHANNELS).json()["results"]]  # shared


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"name": "SMS", "capabilities": ', "application/json", 400),
        (b"NaN", "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b'{"name": "SMS"}', "text/plain", 415),
        (b'{"name": "SMS"}', "", 415),
        (b'{"name": "' + b"x" * MAX_BODY + b'"}', "application/json", 413),
    ],
    ids=["truncated", "nan", "not-utf8", "text-plain", "no-content-type", "oversized"],
)
@pytest.mark.parametrize("name", ["create channel", "publish", "reply", "close thread"])
def test_a_malformed_oversized_or_mistyped_body_is_refused_and_changes_nothing(
    server: Server, world: dict[str, str], receiver: Receiver, name: str, content: bytes, content_type: str, status: int
) -> None:
    before, webhooks = snapshot(server), len(receiver.events)
    method, path, _ = requests(world)[name]
    with server.client() as client:
        response = client.request(method, path, content=content, headers={"Content-Type": content_type})
    refused(response, status)
    assert snapshot(server) == before and len(receiver.events) == webhooks


def test_invalid_input_is_the_engines_validation_error_with_the_field(server: Server, world: dict[str, str]) -> None:
    body = incoming_body(world["account"], "hi") | {
        "senders": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "12"}}]
    }
    with server.client() as client:
        response = client.post(f"{CHANNELS}/{world['channel']}/messages", json=body)
    refused(response, 400)
    assert response.json()["errors"][0]["in"] == "senders[0].deliveryIdentifier.value"


def test_an_unknown_path_and_a_method_not_served_get_hubspots_error_body(server: Server) -> None:
    with server.client() as client:
        refused(client.get("/conversations/v3/nothing-here"), 404)
        refused(client.put(f"{CHANNELS}/123"), 405)
        unknown = client.get(f"{THREADS}/123456789")
        refused(unknown, 404)
        assert unknown.json()["errors"][0]["in"] == "threadId"
