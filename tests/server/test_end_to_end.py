"""The service end to end: a real process, a real receiver, HubSpot's bodies and the 24-hour rule (R4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Route

from threading_engine.server.app import all_routes

from .harness import (
    CHANNELS,
    CLOCK_START,
    PORTAL,
    THREADS,
    Receiver,
    Server,
    conforms,
    connect,
    publish,
    reply_body,
    running,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("serve")) as started:
        yield started


def test_r4_a_thread_closed_23h59m_ago_reopens_and_one_closed_over_24h_ago_does_not(
    tmp_path: Path, receiver: Receiver
) -> None:
    with running(tmp_path) as server, server.client() as client:
        channel_id, account_id = connect(client, receiver.url)
        (created,) = receiver.wait_for(1, "CHANNEL_ACCOUNT_CREATED")
        conforms("ChannelAccountCreatedWebhook", created)
        assert created["portalId"] == PORTAL and created["channelAccountId"] == account_id

        first = publish(client, channel_id, account_id, "My order has not arrived")
        conforms("PublicConversationsMessage", first)
        thread_id = first["conversationsThreadId"]
        assert first["createdAt"] == CLOCK_START  # the manual clock has not moved

        reply = client.post(
            f"{THREADS}/{thread_id}/messages", json=reply_body(channel_id, account_id, "It ships today")
        )
        assert reply.status_code == 201, reply.text
        conforms("PublicConversationsMessage", reply.json())
        (outgoing,) = receiver.wait_for(1, "OUTGOING_CHANNEL_MESSAGE_CREATED")
        conforms("OutgoingChannelMessageCreatedWebhook", outgoing)
        assert outgoing["channelIntegrationThreadIds"] == [thread_id]
        assert outgoing["message"]["text"] == "It ships today"
        assert outgoing["message"]["id"] == reply.json()["id"]

        closed = client.patch(f"{THREADS}/{thread_id}", json={"status": "CLOSED"})
        assert closed.status_code == 200 and closed.json()["status"] == "CLOSED"
        conforms("PublicThread", closed.json())
        advanced = client.post("/_engine/clock/advance", json={"duration": "PT23H59M"})
        assert advanced.json()["now"] == "2026-01-06T08:59:00Z"

        again = publish(client, channel_id, account_id, "Thanks!")
        assert again["conversationsThreadId"] == thread_id
        reopened = client.get(f"{THREADS}/{thread_id}").json()
        assert reopened["status"] == "OPEN" and "closedAt" not in reopened

        assert client.patch(f"{THREADS}/{thread_id}", json={"status": "CLOSED"}).json()["status"] == "CLOSED"
        client.post("/_engine/clock/advance", json={"seconds": 24 * 3600 + 1})
        later = publish(client, channel_id, account_id, "Another question")
        assert later["conversationsThreadId"] != thread_id
        history = client.get(f"{THREADS}/{thread_id}/messages").json()
        conforms("CollectionResponsePublicMessageForwardPaging", history)
        assert [m["text"] for m in history["results"]] == ["My order has not arrived", "It ships today", "Thanks!"]
        assert receiver.bad_signatures == 0


def test_the_dated_prefix_serves_the_same_channels_and_messages(server: Server) -> None:
    with server.client() as client:
        channel_id, account_id = connect(client, None, phone="+15550100101")
        dated = "/conversations/custom-channels/2026-09"
        channel = client.get(f"{dated}/{channel_id}")
        assert channel.status_code == 200 and channel.json() == client.get(f"{CHANNELS}/{channel_id}").json()
        conforms("PublicChannelIntegrationChannel", channel.json())
        message = client.post(f"{dated}/{channel_id}/messages", json={
            "channelAccountId": account_id, "messageDirection": "INCOMING", "text": "hello",
            "senders": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+442079460002"}}],
        })  # fmt: skip
        assert message.status_code == 201, message.text
        read = client.get(f"{CHANNELS}/{channel_id}/messages/{message.json()['id']}")
        assert read.json() == message.json()
        account = client.get(f"{dated}/{channel_id}/channel-accounts/{account_id}")
        conforms("PublicChannelAccount", account.json())
        assert account.json()["threadingEngine"]["portalId"] == PORTAL


def test_threads_are_listed_by_status_and_archived_and_paged_as_hubspot_pages(server: Server) -> None:
    with server.client() as client:
        channel_id, account_id = connect(client, None, phone="+15550100102")
        threads = [
            publish(client, channel_id, account_id, "hi", sender=f"+44207946010{n}")["conversationsThreadId"]
            for n in range(3)
        ]
        mine = {"inboxId": "100"}
        assert client.patch(f"{THREADS}/{threads[0]}", json={"status": "CLOSED"}).status_code == 200
        assert client.delete(f"{THREADS}/{threads[1]}").status_code == 204

        def ids(**query: str) -> list[str]:
            page = client.get(THREADS, params=mine | query).json()
            conforms("CollectionResponsePublicThreadForwardPaging", page)
            return [t["id"] for t in page["results"] if t["originalChannelAccountId"] == account_id]

        assert ids(threadStatus="CLOSED") == [threads[0]]
        assert ids(status="OPEN") == [threads[2]]
        assert ids(archived="true") == [threads[1]]
        assert ids() == [threads[0], threads[2]]

        first = client.get(THREADS, params={"limit": "1", "inboxId": "100"}).json()
        assert len(first["results"]) == 1 and "after" in first["paging"]["next"]
        rest = client.get(THREADS, params={"limit": "100", "inboxId": "100", "after": first["paging"]["next"]["after"]})
        assert first["results"][0]["id"] not in [t["id"] for t in rest.json()["results"]]
        assert "paging" not in rest.json()

        restored = client.patch(f"{THREADS}/{threads[1]}", json={"archived": False})
        assert restored.json()["archived"] is False and restored.json()["status"] == "CLOSED"  # R7
        reopened = client.patch(f"{THREADS}/{threads[0]}", json={"status": "OPEN"})
        assert reopened.json()["status"] == "OPEN"  # R8


def test_a_reply_on_a_closed_thread_is_hubspots_conflict(server: Server) -> None:
    with server.client() as client:
        channel_id, account_id = connect(client, None, phone="+15550100103")
        thread_id = publish(client, channel_id, account_id, "hi")["conversationsThreadId"]
        client.patch(f"{THREADS}/{thread_id}", json={"status": "CLOSED"})
        refused = client.post(f"{THREADS}/{thread_id}/messages", json=reply_body(channel_id, account_id, "late"))
        assert refused.status_code == 409
        conforms("Error", refused.json())
        assert refused.json()["subCategory"] == "THREAD_NOT_OPEN"


def test_the_openapi_document_describes_every_served_route(server: Server) -> None:
    document = server.client(None).get("/openapi.json").json()
    paths = document["paths"]
    assert paths[CHANNELS + "/{channelId}/messages"]["post"]["responses"]["201"]["content"]
    assert set(paths[THREADS + "/{threadId}"]) == {"get", "patch", "delete"}
    assert "/conversations/custom-channels/2026-09/{channelId}/channel-accounts" in paths
    references = {"PublicThread", "PublicConversationsMessage", "Error", "ChannelIntegrationMessageEgg"}
    assert references <= set(document["components"]["schemas"])
    assert "$id" not in document["components"]["schemas"]["PublicThread"]
    served = {
        (route.path, method.lower())
        for route in all_routes()
        if isinstance(route, Route) and route.methods
        for method in route.methods - {"HEAD"}
    }
    assert served == {(path, method) for path, operations in paths.items() for method in operations}
