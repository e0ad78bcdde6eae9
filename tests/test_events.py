"""Events: the webhooks HubSpot sends (E1), the domain events naming their rule (E2), and the outbox that
records only real changes (E3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import OWN, A, B, delivery_world, event_rules, event_types, phone, snapshot, thread_id_of

from threading_engine import Direction, ValidationError
from threading_engine import hubspot as hs
from threading_engine.events import (
    EVENT_TYPES,
    ChannelAccountCreated,
    ChannelAccountUpdated,
    OutgoingMessageCreated,
    ThreadEvent,
)

# -- E1: webhook events ------------------------------------------------------------------------------------


def test_e1_only_the_three_hubspot_events_are_webhooks() -> None:
    webhooks = {name for name, cls in EVENT_TYPES.items() if cls.webhook}
    assert webhooks == {"CHANNEL_ACCOUNT_CREATED", "CHANNEL_ACCOUNT_UPDATED", "OUTGOING_CHANNEL_MESSAGE_CREATED"}


def test_e1_channel_account_created_carries_the_account() -> None:
    world = delivery_world()
    created = world.engine.create_channel_account(
        world.channel_id, name="Sales", inbox_id="inbox-2", delivery_identifier=phone("+15550108888")
    )
    assert event_types(created) == ["CHANNEL_ACCOUNT_CREATED"]
    event = created.events[0].event
    assert isinstance(event, ChannelAccountCreated)
    assert event.account == world.engine.channel_account(str(created.channel_account_id))
    body = hs.event_to_json(created.events[0])
    assert body["channelAccountId"] == created.channel_account_id
    assert body["channelId"] == world.channel_id


def test_e1_channel_account_updated_carries_the_changed_account() -> None:
    world = delivery_world()
    renamed = world.engine.update_channel_account(world.account_id, name="Front desk")
    assert event_types(renamed) == ["CHANNEL_ACCOUNT_UPDATED"]
    event = renamed.events[0].event
    assert isinstance(event, ChannelAccountUpdated)
    assert (event.account.id, event.account.name) == (world.account_id, "Front desk")
    assert event.account == world.engine.channel_account(world.account_id)
    disconnected = world.engine.update_channel_account(world.account_id, authorized=False)
    assert event_types(disconnected) == ["CHANNEL_ACCOUNT_UPDATED"]
    assert hs.event_to_json(renamed.events[0]).keys() == hs.event_to_json(disconnected.events[0]).keys()


def test_e1_account_update_that_changes_nothing_emits_nothing() -> None:
    world = delivery_world()
    result = world.engine.update_channel_account(world.account_id, name="Support", authorized=True)
    assert (result.outcome.value, result.events) == ("UNCHANGED", ())


def test_e1_outgoing_channel_message_created_only_for_agent_messages() -> None:
    world = delivery_world()
    incoming = world.incoming(A)
    mirrored = world.outgoing(A)
    reply = world.engine.reply(thread_id_of(incoming), "on it")
    started = world.engine.start_conversation(world.account_id, recipients=[B], text="news")
    webhook = "OUTGOING_CHANNEL_MESSAGE_CREATED"
    assert webhook not in event_types(incoming)
    assert webhook not in event_types(mirrored)
    assert event_types(reply).count(webhook) == 1
    assert event_types(started).count(webhook) == 1
    all_webhooks = [r.event for r in world.engine.repository.read_events() if r.event.type == webhook]
    assert [e.message.id for e in all_webhooks if isinstance(e, OutgoingMessageCreated)] == [
        reply.message_id,
        started.message_id,
    ]


def test_e1_outgoing_webhook_has_the_full_message() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    reply = world.engine.reply(thread_id, "on it")
    record = next(r for r in reply.events if isinstance(r.event, OutgoingMessageCreated))
    body = hs.event_to_json(record)
    assert body["type"] == "OUTGOING_CHANNEL_MESSAGE_CREATED"
    assert body["channelIntegrationThreadId"] == thread_id
    message = body["message"]
    assert message["text"] == "on it"
    assert message["id"] == reply.message_id
    assert world.message(reply).direction is Direction.OUTGOING


# -- E2: domain events name their rule ---------------------------------------------------------------------


def test_e2_each_event_names_its_rule() -> None:
    world = delivery_world()
    steps = []
    first = world.incoming(A)
    thread_id = thread_id_of(first)
    steps.append(first)
    steps.append(world.engine.close_thread(thread_id))
    steps.append(world.incoming(A))
    steps.append(world.engine.reply(thread_id, "on it"))
    steps.append(world.engine.archive_thread(thread_id))
    steps.append(world.engine.restore_thread(thread_id))
    steps.append(world.engine.reopen_thread(thread_id))
    steps.append(world.outgoing(A))
    steps.append(world.engine.close_ticket(thread_id))
    steps.append(world.engine.start_conversation(world.account_id, recipients=[B], text="news"))
    assert [event_rules(step.events) for step in steps] == [
        [("THREAD_CREATED", "R4"), ("TICKET_CREATED", "R6"), ("MESSAGE_APPENDED", "R4")],
        [("THREAD_CLOSED", "R6"), ("TICKET_CLOSED", "R6")],
        [("THREAD_REOPENED", "R4"), ("TICKET_REOPENED", "R6"), ("MESSAGE_APPENDED", "R4")],
        [("MESSAGE_APPENDED", "R3"), ("OUTGOING_CHANNEL_MESSAGE_CREATED", None)],
        [("THREAD_CLOSED", "R7"), ("TICKET_CLOSED", "R6"), ("THREAD_ARCHIVED", "R7")],
        [("THREAD_RESTORED", "R7")],
        [("THREAD_REOPENED", "R8"), ("TICKET_REOPENED", "R6")],
        [("MESSAGE_APPENDED", "R3")],
        [("THREAD_CLOSED", "R6"), ("TICKET_CLOSED", "R6")],
        [
            ("THREAD_CREATED", "R3"),
            ("TICKET_CREATED", "R6"),
            ("MESSAGE_APPENDED", "R3"),
            ("OUTGOING_CHANNEL_MESSAGE_CREATED", None),
        ],
    ]


def test_e2_domain_events_name_the_thread_and_render_their_rule() -> None:
    world = delivery_world()
    result = world.incoming(A, recipients=(OWN, B))
    for record in result.events:
        assert isinstance(record.event, ThreadEvent)
        assert record.event.thread_id == result.thread_id
        body = hs.event_to_json(record)
        assert (body["rule"], body["threadId"]) == (record.event.rule, result.thread_id)
    created = hs.event_to_json(result.events[0])
    assert created["type"] == "THREAD_CREATED"
    assert {i["value"] for i in created["key"]} == {A.value, B.value}


# -- E3: only changes emit; the outbox ---------------------------------------------------------------------


def test_e3_duplicate_rejected_and_no_op_emit_nothing() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A, idempotency_id="m-1"))
    world.engine.close_thread(thread_id)
    before = snapshot(world.engine)
    assert world.incoming(A, idempotency_id="m-1").events == ()
    assert world.engine.close_thread(thread_id).events == ()
    assert world.engine.restore_thread(thread_id).events == ()
    with pytest.raises(ValidationError):
        world.incoming(A, timestamp=world.clock.now.replace(tzinfo=None))
    assert snapshot(world.engine) == before


def test_e3_outbox_sequence_is_increasing_and_events_unique() -> None:
    world = delivery_world()
    results = []
    for _ in range(3):
        thread_id = thread_id_of(world.incoming(A))
        world.clock.advance(timedelta(minutes=5))
        results.append(world.engine.close_thread(thread_id))
        world.clock.advance(timedelta(days=1))
        results.append(world.incoming(B))
    events = world.engine.repository.read_events()
    sequences = [r.sequence for r in events]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == len(sequences)
    assert len({r.event_id for r in events}) == len(events)
    returned = [r for result in results for r in result.events]
    assert all(r in events for r in returned)


def test_e3_event_timestamps_are_the_engines_time() -> None:
    world = delivery_world()
    world.clock.advance(timedelta(hours=3))
    result = world.incoming(A, timestamp=world.clock.now - timedelta(hours=1))
    assert {r.timestamp for r in result.events} == {world.clock.now}


def test_e3_pending_and_acknowledge() -> None:
    world = delivery_world()
    world.incoming(A)
    engine = world.engine
    everything = engine.repository.read_events()
    pending = engine.pending_events()
    assert pending == everything
    assert engine.pending_events(limit=2) == everything[:2]
    assert engine.acknowledge([pending[0].event_id, pending[1].event_id, "event-404"]) == 2
    assert engine.acknowledge([pending[0].event_id]) == 0
    assert engine.pending_events() == everything[2:]
    assert engine.repository.read_events() == everything
    last = everything[-1].sequence
    reply = engine.reply(thread_id_of(world.incoming(A)), "ok")
    newer = engine.repository.read_events(after=last)
    assert [r.sequence for r in newer] == list(range(last + 1, last + 1 + len(newer)))
    assert newer[-len(reply.events) :] == list(reply.events)
    assert engine.pending_events()[-1] == reply.events[-1]
    assert engine.acknowledge(r.event_id for r in engine.pending_events()) == len(everything) - 2 + len(newer)
    assert engine.pending_events() == []
