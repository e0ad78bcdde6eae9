"""S1: the integration reports a message's delivery status; the message keeps its thread, a domain event
records the change, and HubSpot's ``status`` reads it back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from helpers import A, delivery_world, integration_world, snapshot, thread_id_of

from threading_engine import Engine, MessageStatus, NotFoundError, Outcome, SequentialIds, ValidationError
from threading_engine.hubspot import message_to_json, parse_update_message_status
from threading_engine.replay import replay


def test_s1_a_status_changes_the_message_in_place_with_a_domain_event() -> None:
    world = delivery_world()
    published = world.incoming(A)
    thread_before = world.thread(published.thread_id)
    world.clock.advance(timedelta(minutes=1))
    assert published.message_id is not None
    result = world.engine.update_message_status(
        world.channel_id, published.message_id, MessageStatus.FAILED, error_message="carrier down"
    )
    assert (result.outcome, result.thread_id, result.message_id) == (
        Outcome.CHANGED,
        published.thread_id,
        published.message_id,
    )
    assert [(r.event.type, getattr(r.event, "rule", None)) for r in result.events] == [("MESSAGE_STATUS_UPDATED", "S1")]
    message = world.message(published)
    assert (message.status, message.status_error) == (MessageStatus.FAILED, "carrier down")
    assert (message.thread_id, message.text) == (published.thread_id, "hello")
    assert world.thread(published.thread_id) == thread_before  # the thread is not touched


def test_s1_the_same_status_again_changes_nothing() -> None:
    world = integration_world()
    published = world.incoming(A, integration_thread_id="conv-1")
    assert published.message_id is not None
    world.engine.update_message_status(world.channel_id, published.message_id, MessageStatus.READ)
    before = snapshot(world.engine)
    again = world.engine.update_message_status(world.channel_id, published.message_id, MessageStatus.READ)
    assert (again.outcome, again.events) == (Outcome.UNCHANGED, ())
    assert snapshot(world.engine) == before


def test_s1_an_error_message_is_kept_with_failed_only() -> None:
    world = delivery_world()
    published = world.outgoing(A)
    assert published.message_id is not None
    world.engine.update_message_status(world.channel_id, published.message_id, MessageStatus.SENT, error_message="x")
    assert world.message(published).status_error is None


def test_s1_an_unknown_message_or_another_channels_path_is_not_found() -> None:
    world = delivery_world()
    published = world.incoming(A)
    assert published.message_id is not None
    before = snapshot(world.engine)
    for channel_id, message_id in (
        (world.channel_id, "no-such-message"),
        ("another-channel", published.message_id),
    ):
        with pytest.raises(NotFoundError) as raised:
            world.engine.update_message_status(channel_id, message_id, MessageStatus.READ)
        assert (raised.value.rule, raised.value.field) == ("S1", "messageId")
    assert snapshot(world.engine) == before


def test_s1_received_is_read_back_but_never_set() -> None:
    world = delivery_world()
    published = world.incoming(A)
    assert published.message_id is not None
    with pytest.raises(ValidationError) as raised:
        world.engine.update_message_status(world.channel_id, published.message_id, MessageStatus.RECEIVED)
    assert (raised.value.rule, raised.value.field, raised.value.value) == ("S1", "statusType", "RECEIVED")


def test_s1_d1_a_retried_publish_after_a_status_is_still_a_duplicate() -> None:
    world = delivery_world()
    first = world.incoming(A, idempotency_id="m-1")
    assert first.message_id is not None
    world.engine.update_message_status(world.channel_id, first.message_id, MessageStatus.READ)
    again = world.incoming(A, idempotency_id="m-1")
    assert (again.outcome, again.message_id) == (Outcome.DUPLICATE, first.message_id)


def test_s1_rendered_as_hubspots_public_message_status() -> None:
    world = delivery_world()
    incoming, outgoing = world.incoming(A), world.outgoing(A)
    reply = world.engine.reply(thread_id_of(incoming), "on it")
    rendered = [message_to_json(world.message(r), channel_id=world.channel_id)["status"] for r in (incoming, outgoing)]
    assert rendered == [{"statusType": "RECEIVED"}, {"statusType": "SENT"}]
    assert reply.message_id is not None
    world.engine.update_message_status(world.channel_id, reply.message_id, MessageStatus.FAILED, error_message="no")
    failed = message_to_json(world.message(reply), channel_id=world.channel_id)["status"]
    assert failed == {"statusType": "FAILED", "failureDetails": {"errorMessage": "no", "errorMessageTokens": {}}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "statusType"),
        ({"statusType": "RECEIVED"}, "statusType"),
        ({"statusType": "sent"}, "statusType"),
        ({"statusType": "FAILED", "errorMessage": 7}, "errorMessage"),
        ({"statusType": "READ", "read": True}, "read"),
    ],
)
def test_s1_hubspots_request_body_is_checked(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_update_message_status("channel-1", "message-1", body)
    assert raised.value.field == field


def test_s1_hubspots_documented_request_parses() -> None:
    command = parse_update_message_status("1", "m", {"statusType": "FAILED", "errorMessage": "Carrier rejected"})
    assert (command.status, command.error_message) == (MessageStatus.FAILED, "Carrier rejected")


def test_s1_replay_op_names_the_channel_and_the_message_by_ref() -> None:
    lines = [
        {"op": "createChannel", "ref": "sms", "at": "2026-03-02T08:00:00Z", "name": "SMS"}
        | {"capabilities": {"threadingModel": "DELIVERY_IDENTIFIER", "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"]}},
        {"op": "createChannelAccount", "ref": "desk", "at": "2026-03-02T08:01:00Z", "channel": "sms", "name": "D"}
        | {"inboxId": "7", "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550100"}},
        {"op": "publishMessage", "ref": "m1", "at": "2026-03-02T09:00:00Z", "account": "desk"}
        | {"messageDirection": "INCOMING", "text": "Hi"}
        | {"senders": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550142"}}]},
        {"op": "updateMessageStatus", "at": "2026-03-02T09:01:00Z", "channel": "sms", "message": "m1"}
        | {"statusType": "READ"},
        {"op": "updateMessageStatus", "at": "2026-03-02T09:02:00Z", "message": "m1", "statusType": "READ"},
    ]
    results = list(replay([json.dumps(line) for line in lines], Engine(ids=SequentialIds())))
    status, without_channel = results[3:]
    assert (status["outcome"], status["messageId"]) == ("CHANGED", "message-1")
    event = status["events"][0]
    assert {key: event[key] for key in ("type", "domainEvent", "rule", "messageId", "status")} == {
        "type": "MESSAGE_STATUS_UPDATED",
        "domainEvent": True,
        "rule": "S1",
        "messageId": "message-1",
        "status": "READ",
    }
    assert "errorMessage" not in event
    assert (without_channel["error"]["field"], without_channel["error"]["rule"]) == ("channel", "SPEC section 8")
