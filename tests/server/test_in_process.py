"""The service as an ASGI application from Python: ``create_app`` served by uvicorn in a thread of this process.

The same application the ``serve`` process runs, on a loopback port, driven over HTTP, with webhooks to a real
receiver. It is how an embedding server uses it, and it lets the coverage measurement see the service's code,
which the process tests run in another interpreter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from threading_engine.cli import build_parser
from threading_engine.errors import ValidationError
from threading_engine.server import ServiceConfig, create_app
from threading_engine.server.webhooks import DeliveryPolicy

from .harness import (
    CHANNELS,
    CLOCK_START,
    OTHER_PORTAL,
    OTHER_TOKEN,
    PORTAL,
    SECRET,
    THREADS,
    TOKEN,
    Receiver,
    account_body,
    conforms,
    connect,
    free_port,
    incoming_body,
    publish,
    reply_body,
    wait_until,
)

CONVERSATIONS = "/conversations/v3/conversations"


def config(directory: Path, **changes: object) -> ServiceConfig:
    settings: dict[str, object] = {
        "store": f"sqlite:///{directory / 'engine.db'}",
        "tokens": {TOKEN: PORTAL, OTHER_TOKEN: OTHER_PORTAL},
        "client_secret": SECRET,
        "clock": "manual",
        "clock_start": datetime.fromisoformat(CLOCK_START),
        "delivery": DeliveryPolicy(timeout=2, backoff_base=0.05, backoff_max=0.2),
    }
    return ServiceConfig(**(settings | changes))  # type: ignore[arg-type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@contextmanager
def serving(app: Starlette) -> Iterator[httpx.Client]:
    """``app`` under uvicorn in a thread, on a free loopback port; a client with portal 1's token."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="uvicorn to start")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    with serving(create_app(config(tmp_path))) as started:
        yield started


def test_the_asgi_app_threads_reads_and_delivers_as_the_served_process_does(
    client: httpx.Client, receiver: Receiver
) -> None:
    channel_id, account_id = connect(client, receiver.url)
    first = publish(client, channel_id, account_id, "hello")
    thread_id = first["conversationsThreadId"]
    reply = client.post(f"{THREADS}/{thread_id}/messages", json=reply_body(channel_id, account_id, "hi back"))
    assert reply.status_code == 201
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == ["CHANNEL_ACCOUNT_CREATED", "OUTGOING_CHANNEL_MESSAGE_CREATED"]

    renamed = client.patch(f"{CHANNELS}/{channel_id}", json={"name": "Renamed"})
    assert renamed.json()["name"] == "Renamed"
    updated = client.patch(f"{CHANNELS}/{channel_id}/channel-accounts/{account_id}", json={"name": "Desk 2"})
    assert updated.json()["name"] == "Desk 2"
    assert receiver.wait_for(1, "CHANNEL_ACCOUNT_UPDATED")[0]["channelAccount"]["name"] == "Desk 2"

    listed = client.get(
        f"{CHANNELS}/{channel_id}/channel-accounts", params={"deliveryIdentifierType": "HS_PHONE_NUMBER"}
    )
    conforms("CollectionResponseWithTotalPublicChannelAccount", listed.json())
    assert [a["id"] for a in listed.json()["results"]] == [account_id]
    by_value = client.get(f"{CHANNELS}/{channel_id}/channel-accounts", params={"deliveryIdentifierValue": "+1999"})
    assert by_value.json()["results"] == []
    assert client.get(f"{CHANNELS}/{channel_id}/channel-accounts", params={"archived": "true"}).json()["total"] == 0
    bad_type = client.get(f"{CHANNELS}/{channel_id}/channel-accounts", params={"deliveryIdentifierType": "FAX"})
    assert bad_type.status_code == 400

    channels = client.get(f"{CONVERSATIONS}/channels").json()
    conforms("CollectionResponseWithTotalPublicChannel", channels)
    assert client.get(f"{CONVERSATIONS}/channels/{channel_id}").json() == {"id": channel_id, "name": "Renamed"}
    accounts = client.get(f"{CONVERSATIONS}/channel-accounts", params={"channelId": channel_id, "inboxId": "100"})
    assert [a["id"] for a in accounts.json()["results"]] == [account_id]
    assert client.get(f"{CONVERSATIONS}/channel-accounts/{account_id}").json()["id"] == account_id
    assert client.get(f"{CHANNELS}/{channel_id}/channel-accounts/{account_id}").json()["name"] == "Desk 2"
    assert client.get(f"{CHANNELS}/conversations").status_code == 404  # a channel id that names nothing

    in_thread = client.get(f"{THREADS}/{thread_id}/messages/{reply.json()['id']}")
    assert in_thread.json() == reply.json()
    assert client.get(f"{THREADS}/1/messages/{reply.json()['id']}").status_code == 404
    newest_first = client.get(f"{THREADS}/{thread_id}/messages", params={"sort": "-createdAt"}).json()["results"]
    assert [m["text"] for m in newest_first] == ["hi back", "hello"]
    assert client.get(f"{THREADS}/{thread_id}/messages", params={"sort": "text"}).status_code == 400

    client.post("/_engine/clock/advance", json={"seconds": 60})
    second = publish(client, channel_id, account_id, "another", sender="+442079460009")
    by_time = client.get(THREADS, params={"sort": "-latestMessageTimestamp"}).json()["results"]
    assert [t["id"] for t in by_time] == [second["conversationsThreadId"], thread_id]
    after = client.get(THREADS, params={"latestMessageTimestampAfter": "2026-01-05T09:00:30Z"}).json()["results"]
    assert [t["id"] for t in after] == [second["conversationsThreadId"]]
    contact = client.get(THREADS, params={"associatedContactId": by_time[1]["associatedContactId"]}).json()
    assert [t["id"] for t in contact["results"]] == [thread_id]
    assert client.get(THREADS, params={"associatedTicketId": "none"}).json()["results"] == []
    assert client.get(THREADS, params={"sort": "status"}).status_code == 400
    assert client.get(THREADS, params={"threadStatus": "ARCHIVED"}).status_code == 400
    # Both spellings given: each is checked, though threadStatus is the one applied.
    both = client.get(THREADS, params={"threadStatus": "OPEN", "status": "ARCHIVED"})
    assert both.status_code == 400 and "status 'ARCHIVED'" in both.json()["message"]
    assert client.get(THREADS, params={"limit": "0"}).status_code == 400
    assert client.get(THREADS, params={"archived": "maybe"}).status_code == 400
    assert client.get("/_engine/clock").json() == {"clock": "manual", "now": "2026-01-05T09:01:00Z"}

    archived = client.patch(f"{THREADS}/{thread_id}", json={"archived": True, "status": "CLOSED"})
    assert archived.json()["archived"] is True and archived.json()["status"] == "CLOSED"
    for body in ({"archived": True, "status": "OPEN"}, {"status": "SPAM"}, {"archived": "yes"}, {"assignee": 1}):
        assert client.patch(f"{THREADS}/{thread_id}", json=body).status_code == 400
    assert client.get("/_engine/health").json()["webhooksDelivered"] == 3


def test_an_agent_message_the_engine_cannot_keep_is_refused(client: httpx.Client) -> None:
    channel_id, account_id = connect(client, None)
    thread_id = publish(client, channel_id, account_id, "hello")["conversationsThreadId"]
    path = f"{THREADS}/{thread_id}/messages"
    body = reply_body(channel_id, account_id, "hi")
    refusals = [
        body | {"type": "COMMENT"},
        body | {"attachments": [{"type": "FILE"}]},  # V8: a file needs its fileId
        body | {"channelId": "other"},
        body | {"unknown": 1},
        {key: value for key, value in body.items() if key != "text"},
    ]
    for refused in refusals:
        response = client.post(path, json=refused)
        assert response.status_code == 400, refused
        conforms("Error", response.json())
    assert [m["text"] for m in client.get(path).json()["results"]] == ["hello"]


def test_a_failed_delivery_is_kept_listed_and_retried_in_process(tmp_path: Path) -> None:
    receiver = Receiver()  # not started: refused
    app = create_app(config(tmp_path, delivery=DeliveryPolicy(timeout=1, max_attempts=2, backoff_base=0.01)))
    with serving(app) as client:
        connect(client, receiver.url)

        def failed() -> list[dict[str, object]]:
            results: list[dict[str, object]] = client.get("/_engine/webhooks/failed").json()["results"]
            return results

        wait_until(lambda: len(failed()) == 1, what="the delivery to give up")
        event_id = failed()[0]["eventId"]
        assert client.post(f"/_engine/webhooks/failed/{event_id}/retry").json()["delivered"] is False
        receiver.start()
        try:
            assert client.post(f"/_engine/webhooks/failed/{event_id}/retry").json()["delivered"] is True
            assert failed() == [] and len(receiver.wait_for(1)) == 1
        finally:
            receiver.stop()


def test_the_manual_clock_survives_a_restart_of_the_app(tmp_path: Path) -> None:
    for expected in ("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"):
        with serving(create_app(config(tmp_path))) as client:
            assert client.post("/_engine/clock/advance", json={"duration": "PT1H"}).json()["now"] == expected


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"store": "postgresql://nobody@127.0.0.1:1/none"}, "state"),
        ({"clock": "sundial"}, "clock"),
        ({"tokens": {"t": "portal one"}}, "portalId"),
    ],
    ids=["postgres-without-state", "unknown-clock", "portal-not-digits"],
)
def test_a_service_that_cannot_run_as_configured_is_refused_before_it_starts(
    tmp_path: Path, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        create_app(config(tmp_path, **changes))
    assert refused.value.field == field


def test_serve_reads_its_options_and_refuses_bad_ones() -> None:
    parser = build_parser()
    args = parser.parse_args(["serve", "--token", "a=1", "--token", "b=22", "--clock-start", "2026-01-05T09:00:00Z"])
    assert args.token == [("a", "1"), ("b", "22")] and args.clock_start.isoformat() == "2026-01-05T09:00:00+00:00"
    assert args.store == "sqlite:///threading-engine.db" and args.webhook_max_attempts == 10
    for bad in (["--token", "a"], ["--token", "a=x"], ["--clock-start", "2026-01-05"], ["--webhook-timeout", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", *bad])


def test_the_account_body_helper_is_what_hubspot_takes() -> None:
    conforms("PublicChannelAccountEgg", account_body())


def test_refusals_and_portals_in_process(tmp_path: Path) -> None:
    with serving(create_app(config(tmp_path, max_body_bytes=1024))) as client:
        channel_id, account_id = connect(client, None)
        message = publish(client, channel_id, account_id, "hello")
        thread_id = message["conversationsThreadId"]
        assert client.get(CHANNELS, params={"limit": "1"}).json()["total"] == 1
        assert client.get(
            f"/conversations/custom-channels/v3?hapikey={TOKEN}", headers={"Authorization": ""}
        ).is_success
        assert client.get(f"{THREADS}/{thread_id}").json()["id"] == thread_id
        assert client.get(f"{CHANNELS}/{channel_id}/messages/{message['id']}").json() == message

        theirs = {"Authorization": f"Bearer {OTHER_TOKEN}"}
        for path in (
            f"{THREADS}/{thread_id}",
            f"{CHANNELS}/{channel_id}/messages/{message['id']}",
            f"{CONVERSATIONS}/channel-accounts/{account_id}",
            f"{CHANNELS}/1/channel-accounts/{account_id}",
            f"{CHANNELS}/1/messages/{message['id']}",
        ):
            headers = theirs if "/1/" not in path else {}
            absent = client.get(path, headers=headers)
            assert absent.status_code == 404, path
            conforms("Error", absent.json())

        statuses = {
            "no token": client.get(THREADS, headers={"Authorization": ""}).status_code,
            "basic": client.get(THREADS, headers={"Authorization": "Basic abc"}).status_code,
            "text": client.post(CHANNELS, content=b"{}", headers={"Content-Type": "text/plain"}).status_code,
            "large": client.post(CHANNELS, json={"name": "x" * 2000}).status_code,
            "nan": client.post(CHANNELS, content=b"NaN", headers={"Content-Type": "application/json"}).status_code,
            "method": client.put(f"{THREADS}/{thread_id}").status_code,
            "path": client.get("/conversations/v4/threads").status_code,
            "paging": client.get(THREADS, params={"limit": "0"}).status_code,
            "retry": client.post("/_engine/webhooks/failed/123/retry").status_code,
        }
        assert statuses == {
            "no token": 401,
            "basic": 401,
            "text": 415,
            "large": 413,
            "nan": 400,
            "method": 405,
            "path": 404,
            "paging": 400,
            "retry": 404,
        }
        # A cursor is an item's id: one that names nothing gives an empty page (``reads.py``).
        assert client.get(THREADS, params={"after": "99"}).json() == {"results": []}
        document = client.get("/openapi.json", headers={"Authorization": ""}).json()
        assert document["openapi"] == "3.1.0" and f"{THREADS}/{{threadId}}/messages" in document["paths"]
        assert document["paths"]["/_engine/health"]["get"]["security"] == []


def test_statuses_capabilities_attachments_and_archives_over_http(client: httpx.Client) -> None:
    """S1, V7, V8 and A1 under HubSpot's paths, each answer in HubSpot's shape."""
    channel_id, account_id = connect(client, None)
    published = publish(client, channel_id, account_id, "hello")
    assert published["status"] == {"statusType": "RECEIVED"}
    status_path = f"{CHANNELS}/{channel_id}/messages/{published['id']}"
    failed = client.patch(status_path, json={"statusType": "FAILED", "errorMessage": "carrier down"})
    assert failed.status_code == 200, failed.text
    conforms("PublicConversationsMessage", failed.json())
    assert failed.json()["status"]["failureDetails"]["errorMessage"] == "carrier down"
    assert client.get(status_path).json()["status"]["statusType"] == "FAILED"
    assert client.patch(status_path, json={"statusType": "RECEIVED"}).status_code == 400
    assert client.patch(f"{CHANNELS}/{channel_id}/messages/nothing", json={"statusType": "READ"}).status_code == 404

    thread_id = published["conversationsThreadId"]
    reply = reply_body(channel_id, account_id, "label attached") | {"attachments": [{"type": "FILE", "fileId": "7"}]}
    assert client.post(f"{THREADS}/{thread_id}/messages", json=reply).status_code == 403  # no FILE for agents yet
    capabilities = {
        "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"],
        "threadingModel": "DELIVERY_IDENTIFIER",
        "allowOutgoingMessages": True,
        "outgoingAttachmentTypes": ["FILE"],
    }
    widened = client.patch(f"{CHANNELS}/{channel_id}", json={"capabilities": capabilities})
    assert widened.status_code == 200, widened.text
    sent = client.post(f"{THREADS}/{thread_id}/messages", json=reply)
    assert sent.status_code == 201, sent.text
    assert sent.json()["attachments"] == [{"type": "FILE", "fileId": "7", "fileUsageType": "OTHER"}]
    assert sent.json()["recipients"][0]["name"] == "Ana"  # N1
    model_change = {**capabilities, "threadingModel": "INTEGRATION_THREAD_ID"}
    refused = client.patch(f"{CHANNELS}/{channel_id}", json={"capabilities": model_change})
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"

    assert client.delete(f"{CHANNELS}/{channel_id}").status_code == 204
    assert client.delete(f"{CHANNELS}/{channel_id}").status_code == 204  # again: already archived
    after = client.post(f"{CHANNELS}/{channel_id}/messages", json=incoming_body(account_id, "still there?"))
    assert after.status_code == 403
    assert client.get(f"{CHANNELS}/{channel_id}").json()["threadingEngine"]["archived"] is True
