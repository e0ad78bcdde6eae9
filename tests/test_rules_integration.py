"""Threading under INTEGRATION_THREAD_ID: the integration names the thread (I1); R1 does not apply, while R3,
R5, R6, R7 and R8's no-ops do (I2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import A, B, delivery_world, event_rules, integration_world, phone, snapshot, thread_id_of

from threading_engine import (
    Direction,
    KeyConflictError,
    NotAllowedError,
    Outcome,
    ThreadNotOpenError,
    ThreadStatus,
    TicketStatus,
)
from threading_engine.events import OutgoingMessageCreated

# -- I1: (account, integrationThreadId) names the thread --------------------------------------------------


def test_i1_first_message_of_a_pair_creates_a_thread_that_remembers_it() -> None:
    world = integration_world()
    result = world.incoming(A, integration_thread_id="conv-1")
    assert result.outcome is Outcome.CREATED
    assert world.thread(result.thread_id).integration_thread_id == "conv-1"
    assert ("THREAD_CREATED", "I1") in event_rules(result.events)


def test_i1_incoming_for_a_known_pair_appends() -> None:
    world = integration_world()
    first = world.incoming(A, integration_thread_id="conv-1")
    world.clock.advance(timedelta(days=3))
    second = world.incoming(A, integration_thread_id="conv-1")
    assert (second.outcome, second.thread_id) == (Outcome.APPENDED, first.thread_id)


def test_i1_participants_do_not_route() -> None:
    """I1: the integration owns threading, so other participants on a known pair still append to it."""
    world = integration_world()
    first = world.incoming(A, integration_thread_id="conv-1")
    second = world.incoming(B, recipients=(A,), integration_thread_id="conv-1")
    assert (second.outcome, second.thread_id) == (Outcome.APPENDED, first.thread_id)


def test_i1_incoming_reopens_a_closed_thread_without_a_window() -> None:
    world = integration_world()
    first = world.incoming(A, integration_thread_id="conv-1")
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(timedelta(days=90))
    again = world.incoming(A, integration_thread_id="conv-1")
    assert (again.outcome, again.thread_id) == (Outcome.REOPENED, first.thread_id)
    assert event_rules(again.events) == [
        ("THREAD_REOPENED", "I1"),
        ("TICKET_REOPENED", "R6"),
        ("MESSAGE_APPENDED", "I1"),
    ]
    assert world.ticket(first.ticket_id).status is TicketStatus.OPEN


def test_i1_outgoing_to_an_open_thread_appends() -> None:
    world = integration_world()
    first = world.incoming(A, integration_thread_id="conv-1")
    mirrored = world.outgoing(A, integration_thread_id="conv-1")
    assert (mirrored.outcome, mirrored.thread_id) == (Outcome.APPENDED, first.thread_id)


def test_i1_outgoing_to_a_closed_thread_is_thread_not_open() -> None:
    world = integration_world()
    thread_id = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.close_thread(thread_id)
    before = snapshot(world.engine)
    with pytest.raises(ThreadNotOpenError) as caught:
        world.outgoing(A, integration_thread_id="conv-1")
    error = caught.value
    assert (error.code, error.field, error.value, error.rule) == (
        "THREAD_NOT_OPEN",
        "integrationThreadId",
        "conv-1",
        "I1",
    )
    assert snapshot(world.engine) == before


def test_i1_outgoing_for_an_unknown_pair_creates_a_thread() -> None:
    world = integration_world()
    mirrored = world.outgoing(A, integration_thread_id="conv-new")
    assert mirrored.outcome is Outcome.CREATED
    assert world.thread(mirrored.thread_id).integration_thread_id == "conv-new"


def test_i1_archived_pair_gets_a_new_thread() -> None:
    world = integration_world()
    old = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.archive_thread(old)
    again = world.incoming(A, integration_thread_id="conv-1")
    assert again.outcome is Outcome.CREATED
    assert again.thread_id != old
    assert len(world.engine.messages(old)) == 1
    assert world.thread(again.thread_id).integration_thread_id == "conv-1"


def test_i1_archived_pair_gets_a_new_thread_for_outgoing_too() -> None:
    world = integration_world()
    old = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.archive_thread(old)
    mirrored = world.outgoing(A, integration_thread_id="conv-1")
    assert mirrored.outcome is Outcome.CREATED
    assert mirrored.thread_id != old


def test_i1_restore_conflict_is_key_conflict() -> None:
    world = integration_world()
    old = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.archive_thread(old)
    new = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.close_thread(new)
    before = snapshot(world.engine)
    with pytest.raises(KeyConflictError) as caught:
        world.engine.restore_thread(old)
    assert (caught.value.code, caught.value.field, caught.value.rule) == ("KEY_CONFLICT", "threadId", "I1")
    assert new in caught.value.message
    assert snapshot(world.engine) == before


def test_i1_restore_without_a_live_thread_for_the_pair() -> None:
    world = integration_world()
    thread_id = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.archive_thread(thread_id)
    restored = world.engine.restore_thread(thread_id)
    assert restored.outcome is Outcome.CHANGED
    thread = world.thread(thread_id)
    assert (thread.status, thread.archived) == (ThreadStatus.CLOSED, False)
    assert world.incoming(A, integration_thread_id="conv-1").thread_id == thread_id


def test_i1_conversation_start_not_allowed() -> None:
    world = integration_world(allow_outgoing_messages=True, allow_conversation_start=True)
    world.incoming(A, integration_thread_id="conv-1")
    before = snapshot(world.engine)
    with pytest.raises(NotAllowedError) as caught:
        world.engine.start_conversation(world.account_id, recipients=[A], text="hello")
    error = caught.value
    assert (error.code, error.field, error.rule) == ("NOT_ALLOWED", "capabilities.threadingModel", "I1")
    assert snapshot(world.engine) == before


def test_i1_pair_belongs_to_one_account() -> None:
    world = integration_world()
    other = world.engine.create_channel_account(
        world.channel_id, name="Sales", inbox_id="inbox-2", delivery_identifier=phone("+15550108888")
    )
    assert other.channel_account_id is not None
    first = world.incoming(A, integration_thread_id="conv-1")
    second = world.engine.publish_message(
        other.channel_account_id,
        direction=Direction.INCOMING,
        senders=[A],
        text="hello",
        integration_thread_id="conv-1",
    )
    assert second.outcome is Outcome.CREATED
    assert second.thread_id != first.thread_id


def test_i1_integration_thread_ids_are_kept_exactly() -> None:
    world = integration_world()
    lower = world.incoming(A, integration_thread_id="conv-a")
    upper = world.incoming(A, integration_thread_id="CONV-A")
    assert lower.thread_id != upper.thread_id


# -- I2: R1 does not apply; R3, R5, R6, R7 and R8's no-ops do ----------------------------------------------


def test_i2_several_threads_with_same_participants_allowed() -> None:
    world = integration_world()
    results = [world.incoming(A, integration_thread_id=f"conv-{n}") for n in range(3)]
    assert [r.outcome for r in results] == [Outcome.CREATED] * 3
    threads = world.engine.threads(world.account_id)
    assert len({t.id for t in threads}) == 3
    assert all(t.is_open for t in threads)
    assert len({t.key for t in threads}) == 1


def test_i2_agent_reopen_is_not_blocked_by_same_participants() -> None:
    world = integration_world()
    first = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.close_thread(first)
    world.incoming(A, integration_thread_id="conv-2")
    assert world.engine.reopen_thread(first).outcome is Outcome.CHANGED
    assert sum(t.is_open for t in world.engine.threads()) == 2


def test_i2_reply_to_a_closed_thread_is_thread_not_open() -> None:
    """I2 with R3."""
    world = integration_world()
    thread_id = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.close_thread(thread_id)
    with pytest.raises(ThreadNotOpenError) as caught:
        world.engine.reply(thread_id, "hello?")
    assert caught.value.rule == "R3"


def test_i2_reply_carries_the_integration_thread_id() -> None:
    """I2 with R5: the reply and its webhook carry the integration's own thread id."""
    world = integration_world()
    thread_id = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    reply = world.engine.reply(thread_id, "on it")
    assert world.message(reply).integration_thread_id == "conv-1"
    webhooks = [r.event for r in reply.events if isinstance(r.event, OutgoingMessageCreated)]
    assert [w.channel_integration_thread_id for w in webhooks] == ["conv-1"]


def test_i2_ticket_follows_thread_and_archive_closes_first() -> None:
    """I2 with R6 and R7."""
    world = integration_world()
    result = world.incoming(A, integration_thread_id="conv-1")
    thread_id = thread_id_of(result)
    assert result.ticket_id is not None
    archived = world.engine.archive_thread(thread_id)
    assert [t for t, _ in event_rules(archived.events)] == ["THREAD_CLOSED", "TICKET_CLOSED", "THREAD_ARCHIVED"]
    assert world.ticket(result.ticket_id).status is TicketStatus.CLOSED
    world.engine.restore_thread(thread_id)
    world.engine.reopen_thread(thread_id)
    assert world.ticket(result.ticket_id).status is TicketStatus.OPEN
    world.engine.close_ticket(thread_id)
    assert world.thread(thread_id).status is ThreadStatus.CLOSED


def test_i2_no_ops_are_unchanged() -> None:
    """I2 with R8's no-op rules."""
    world = integration_world()
    thread_id = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    assert world.engine.reopen_thread(thread_id).outcome is Outcome.UNCHANGED
    assert world.engine.restore_thread(thread_id).outcome is Outcome.UNCHANGED
    world.engine.archive_thread(thread_id)
    before = snapshot(world.engine)
    for action in (world.engine.archive_thread, world.engine.close_thread, world.engine.close_ticket):
        result = action(thread_id)
        assert (result.outcome, result.events) == (Outcome.UNCHANGED, ())
    assert snapshot(world.engine) == before


def test_i2_delivery_identifier_channel_still_enforces_r1() -> None:
    """I2's contrast: under DELIVERY_IDENTIFIER the same participants share one open thread."""
    world = delivery_world()
    first = world.incoming(A, integration_thread_id="conv-1")
    second = world.incoming(A, integration_thread_id="conv-2")
    assert second.thread_id == first.thread_id
