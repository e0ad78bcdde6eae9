"""Conversations v3 inboxes and actors over HTTP: what the engine knows of them, and nothing it does not.

The service runs in this process under uvicorn on a loopback port (``serving``), driven with httpx; every
answer is checked against HubSpot's schema as the engine ships it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from threading_engine.server import create_app

from .harness import CHANNELS, OTHER_TOKEN, THREADS, account_body, conforms, connect, incoming_body, reply_body
from .test_in_process import config, serving

CONVERSATIONS = "/conversations/v3/conversations"
ANA = "+442079460001"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    with serving(create_app(config(tmp_path))) as started:
        yield started


def other_portal(client: httpx.Client) -> httpx.Client:
    return httpx.Client(base_url=client.base_url, headers={"Authorization": f"Bearer {OTHER_TOKEN}"})


def publish_as(client: httpx.Client, channel_id: str, account_id: str, text: str, name: str | None) -> str:
    body = incoming_body(account_id, text, ANA)
    if name is None:
        del body["senders"][0]["name"]
    else:
        body["senders"][0]["name"] = name
    answer = client.post(f"{CHANNELS}/{channel_id}/messages", json=body)
    assert answer.status_code == 201, answer.text
    thread_id: str = answer.json()["conversationsThreadId"]
    return thread_id


def test_inboxes_are_the_ones_the_portals_accounts_name(client: httpx.Client) -> None:
    channel_id, _ = connect(client, None)
    second = client.post(
        f"{CHANNELS}/{channel_id}/channel-accounts", json={**account_body("+15550100200"), "inboxId": "200"}
    )
    assert second.status_code == 201

    listed = client.get(f"{CONVERSATIONS}/inboxes")
    conforms("CollectionResponseWithTotalPublicInbox", listed.json())
    assert [inbox["id"] for inbox in listed.json()["results"]] == ["100", "200"]
    assert listed.json()["total"] == 2
    one = client.get(f"{CONVERSATIONS}/inboxes/200")
    conforms("PublicInbox", one.json())
    assert one.json() | {"createdAt": None, "updatedAt": None} == {
        "id": "200",
        "name": "Inbox 200",
        "type": "INBOX",
        "archived": False,
        "createdAt": None,
        "updatedAt": None,
    }
    paged = client.get(f"{CONVERSATIONS}/inboxes", params={"limit": 1})
    assert [inbox["id"] for inbox in paged.json()["results"]] == ["100"]
    assert paged.json()["paging"]["next"]["after"] == "1"
    assert client.get(f"{CONVERSATIONS}/inboxes", params={"archived": "true"}).json() == {"results": [], "total": 0}

    absent = client.get(f"{CONVERSATIONS}/inboxes/999")
    assert absent.status_code == 404 and absent.json()["category"] == "OBJECT_NOT_FOUND"
    with other_portal(client) as other:  # P1: another portal's accounts name no inbox of its own
        assert other.get(f"{CONVERSATIONS}/inboxes").json() == {"results": [], "total": 0}
        assert other.get(f"{CONVERSATIONS}/inboxes/100").status_code == 404


def test_every_thread_is_in_an_inbox_the_list_names(client: httpx.Client) -> None:
    channel_id, account_id = connect(client, None)
    thread_id = publish_as(client, channel_id, account_id, "hello", "Ana")
    inbox_id = client.get(f"{THREADS}/{thread_id}").json()["inboxId"]
    assert client.get(f"{CONVERSATIONS}/inboxes/{inbox_id}").status_code == 200
    in_inbox = client.get(THREADS, params={"inboxId": inbox_id}).json()["results"]
    assert [thread["id"] for thread in in_inbox] == [thread_id]


def test_n1_actors_are_the_agents_visitors_and_integrations_of_the_portals_messages(client: httpx.Client) -> None:
    channel_id, account_id = connect(client, None)
    thread_id = publish_as(client, channel_id, account_id, "hello", "Ana")
    publish_as(client, channel_id, account_id, "again", "Ana Lima")  # the latest name given wins
    publish_as(client, channel_id, account_id, "no name", None)  # a message without a name keeps the last one
    named = client.post(f"{THREADS}/{thread_id}/messages", json=reply_body(channel_id, account_id, "hi"))
    unnamed_body = reply_body(channel_id, account_id, "hi again")
    del unnamed_body["senderActorId"]
    unnamed = client.post(f"{THREADS}/{thread_id}/messages", json=unnamed_body)
    assert (named.json()["createdBy"], unnamed.json()["createdBy"]) == ("A-1", "A-0")
    visitor_id = f"V-HS_PHONE_NUMBER:{ANA}"

    expected = {
        "A-1": {"id": "A-1", "type": "AGENT"},
        "A-0": {"id": "A-0", "type": "AGENT"},
        visitor_id: {"id": visitor_id, "type": "VISITOR", "name": "Ana Lima"},
        f"I-{channel_id}": {"id": f"I-{channel_id}", "type": "INTEGRATOR", "name": "SMS line"},
    }
    for actor_id, actor in expected.items():
        answer = client.get(f"{CONVERSATIONS}/actors/{actor_id}")
        assert answer.status_code == 200, answer.text
        conforms("PublicActor", answer.json())
        assert answer.json() == actor
    for unknown in ("A-9", "V-HS_PHONE_NUMBER:+15550100100", "I-0", "X-1"):  # the account's own number is no visitor
        missing = client.get(f"{CONVERSATIONS}/actors/{unknown}")
        assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"

    with other_portal(client) as other:  # P1: agents and visitors are the portal's; integrations the app's
        assert other.get(f"{CONVERSATIONS}/actors/A-1").status_code == 404
        assert other.get(f"{CONVERSATIONS}/actors/{visitor_id}").status_code == 404
        assert other.get(f"{CONVERSATIONS}/actors/I-{channel_id}").status_code == 200


def test_actors_batch_read_is_200_when_all_are_found_and_207_with_errors_otherwise(client: httpx.Client) -> None:
    channel_id, account_id = connect(client, None)
    thread_id = publish_as(client, channel_id, account_id, "hello", "Ana")
    client.post(f"{THREADS}/{thread_id}/messages", json=reply_body(channel_id, account_id, "hi"))
    read = f"{CONVERSATIONS}/actors/batch/read"

    found = client.post(read, json={"inputs": ["A-1", f"I-{channel_id}", "A-1"]})
    assert found.status_code == 200
    conforms("BatchResponsePublicActor", found.json())
    assert [actor["id"] for actor in found.json()["results"]] == ["A-1", f"I-{channel_id}"]
    assert found.json()["status"] == "COMPLETE"

    partly = client.post(read, json={"inputs": ["A-7", "A-1"]})
    assert partly.status_code == 207
    conforms("BatchResponsePublicActorWithErrors", partly.json())
    assert [actor["id"] for actor in partly.json()["results"]] == ["A-1"]
    assert partly.json()["numErrors"] == 1
    assert partly.json()["errors"][0]["context"] == {"actorId": ["A-7"]}

    for bad in ({"inputs": "A-1"}, {"inputs": [1]}, {"ids": ["A-1"]}, ["A-1"], {"inputs": ["A-1"] * 101}):
        refused = client.post(read, json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["category"] == "VALIDATION_ERROR"


def test_an_email_visitor_carries_its_address_as_its_email(client: httpx.Client) -> None:
    capabilities = {"deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS"], "threadingModel": "DELIVERY_IDENTIFIER"}
    channel = client.post(CHANNELS, json={"name": "Mail", "capabilities": capabilities}).json()
    account = client.post(
        f"{CHANNELS}/{channel['id']}/channel-accounts",
        json={**account_body(), "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "desk@example.com"}},
    ).json()
    sender = {"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "ana@example.com"}}
    body = {**incoming_body(account["id"], "hello"), "senders": [sender]}
    assert client.post(f"{CHANNELS}/{channel['id']}/messages", json=body).status_code == 201

    actor = client.get(f"{CONVERSATIONS}/actors/V-HS_EMAIL_ADDRESS:ana@example.com").json()
    assert actor == {"id": "V-HS_EMAIL_ADDRESS:ana@example.com", "type": "VISITOR", "email": "ana@example.com"}
