"""Webhook delivery under faults: a receiver that is down, fails, answers late, or a service SIGKILLed.

Every webhook event must arrive at least once, each account's in order, none lost (counted, Jepsen-style);
an event the receiver never acknowledges is kept as failed, listed, and delivered again by hand.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from threading_engine.server import sign, verify_signature

from .harness import (
    THREADS,
    Receiver,
    Server,
    connect,
    free_port,
    publish,
    reply_body,
    running,
    wait_until,
)

REPLIES = 5


def traffic(client: httpx.Client, receiver_url: str, phone: str = "+15550100100") -> list[str]:
    """An account, an incoming message and REPLIES agent replies: the webhook events' order, by what they carry."""
    channel_id, account_id = connect(client, receiver_url, phone)
    thread_id = publish(client, channel_id, account_id, "hello")["conversationsThreadId"]
    for n in range(REPLIES):
        reply = client.post(f"{THREADS}/{thread_id}/messages", json=reply_body(channel_id, account_id, f"reply {n}"))
        assert reply.status_code == 201, reply.text
    return [f"account {account_id}"] + [f"reply {n}" for n in range(REPLIES)]


def first_arrivals(events: list[dict[str, Any]]) -> list[str]:
    """What each event carries, in the order each event first arrived (a repeat is left out)."""
    seen: set[str] = set()
    order = []
    for event in events:
        if event["eventId"] in seen:
            continue
        seen.add(event["eventId"])
        if event["type"] == "CHANNEL_ACCOUNT_CREATED":
            order.append(f"account {event['channelAccountId']}")
        else:
            order.append(event["message"]["text"])
    return order


def test_events_held_while_the_receiver_is_down_arrive_in_order_once_it_is_up(tmp_path: Path) -> None:
    receiver = Receiver(free_port())  # not listening yet: connections are refused
    with running(tmp_path, "--webhook-max-attempts", "1000") as server, server.client() as client:
        expected = traffic(client, receiver.url)
        time.sleep(0.5)  # several refused attempts
        receiver.start()
        try:
            receiver.wait_for(len(expected))
            assert first_arrivals(receiver.events) == expected
            assert len(receiver.events) == len(expected)  # no crash, so no repeat
            assert receiver.bad_signatures == 0
        finally:
            receiver.stop()


def test_a_receiver_that_fails_or_answers_late_gets_every_event_in_order(tmp_path: Path) -> None:
    receiver = Receiver().start()
    receiver.failures, receiver.slow, receiver.slow_seconds = 3, 1, 1.0
    options = ("--webhook-timeout", "0.3", "--webhook-max-attempts", "1000")
    try:
        with running(tmp_path, *options) as server, server.client() as client:
            expected = traffic(client, receiver.url)
            wait_until(lambda: len(set(e["eventId"] for e in receiver.events)) == len(expected), what="every event")
            assert first_arrivals(receiver.events) == expected
    finally:
        receiver.stop()


def test_each_accounts_events_keep_their_order_while_another_accounts_receiver_is_down(tmp_path: Path) -> None:
    up, down = Receiver().start(), Receiver(free_port())
    try:
        with running(tmp_path, "--webhook-max-attempts", "1000") as server, server.client() as client:
            blocked = traffic(client, down.url, phone="+15550100111")
            flowing = traffic(client, up.url, phone="+15550100112")
            up.wait_for(len(flowing))
            assert first_arrivals(up.events) == flowing  # not held up by the other account's receiver
            down.start()
            down.wait_for(len(blocked))
            assert first_arrivals(down.events) == blocked
    finally:
        up.stop()
        down.stop()


def test_a_sigkilled_service_resumes_delivery_from_the_outbox_after_restart(tmp_path: Path) -> None:
    receiver = Receiver(free_port())
    first = Server(tmp_path, "--webhook-max-attempts", "1000").start()
    try:
        with first.client() as client:
            expected = traffic(client, receiver.url)
        time.sleep(0.3)
    finally:
        first.stop(kill=True)
    receiver.start()
    try:
        with running(tmp_path, "--webhook-max-attempts", "1000") as second:
            receiver.wait_for(len(expected))
            assert first_arrivals(receiver.events) == expected
            with second.client() as client:
                assert client.get("/_engine/webhooks/failed").json()["results"] == []
    finally:
        receiver.stop()


def test_an_event_given_up_on_is_listed_and_delivered_again_by_hand(tmp_path: Path) -> None:
    receiver = Receiver(free_port())
    with running(tmp_path, "--webhook-max-attempts", "2") as server, server.client() as client:
        _, account_id = connect(client, receiver.url)

        def failed() -> list[dict[str, Any]]:
            results: list[dict[str, Any]] = client.get("/_engine/webhooks/failed").json()["results"]
            return results

        wait_until(lambda: len(failed()) == 1, what="the delivery to give up")
        (given_up,) = failed()
        assert given_up["attempts"] == 2 and given_up["event"]["channelAccountId"] == account_id
        assert "ConnectError" in given_up["lastError"]

        receiver.start()
        try:
            retried = client.post(f"/_engine/webhooks/failed/{given_up['eventId']}/retry")
            assert retried.json() == {"eventId": given_up["eventId"], "delivered": True, "error": None}
            assert failed() == []
            (created,) = receiver.wait_for(1)
            assert created == given_up["event"]
            assert client.post(f"/_engine/webhooks/failed/{given_up['eventId']}/retry").status_code == 404
        finally:
            receiver.stop()


def test_verify_signature_accepts_hubspots_v3_signature_and_nothing_else() -> None:
    uri, body, now = "https://example.com/hubspot?x=1", b'{"type":"X"}', 1_767_600_000_000
    signature = sign("secret", "POST", uri, body, now)

    def verified(
        secret: str = "secret",
        uri: str = uri,
        body: bytes = body,
        signature: str | None = signature,
        timestamp: str | None = str(now),
        now_ms: int = now,
    ) -> bool:
        return verify_signature(
            secret, method="POST", uri=uri, body=body, signature=signature, timestamp=timestamp, now_ms=now_ms
        )

    assert verified()
    assert verified(now_ms=now + 300_000)  # five minutes old is still fresh
    assert not verified(now_ms=now + 300_001)
    assert not verified(secret="other secret")
    assert not verified(body=b'{"type":"Y"}')
    assert not verified(uri="https://example.com/hubspot")
    assert not verified(signature=None)
    assert not verified(timestamp="soon")
