"""Threading under DELIVERY_IDENTIFIER: keys (R0), one open thread per key (R1), archived threads (R2) and
outgoing messages (R3). Incoming routing (R4) and the webhook's thread id (R5) are in test_rules_routing.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import OWN, A, B, delivery_world, phone, snapshot, thread_id_of, two_closed_threads

from threading_engine import (
    DeliveryIdentifier,
    Direction,
    NotAllowedError,
    Outcome,
    Participant,
    ThreadNotOpenError,
    ThreadStatus,
    ValidationError,
)

# -- R0: the key -------------------------------------------------------------------------------------------


def test_r0_reply_has_same_key_as_incoming() -> None:
    """R0: account -> A has the key of A -> account, so the mirrored answer lands on the same thread."""
    world = delivery_world()
    first = world.incoming(A)
    answer = world.outgoing(A)
    assert answer.outcome is Outcome.APPENDED
    assert answer.thread_id == first.thread_id


def test_r0_group_is_a_different_key() -> None:
    """R0: {A, B} is not {A}."""
    world = delivery_world()
    alone = world.incoming(A)
    group = world.incoming(A, recipients=(OWN, B))
    assert group.outcome is Outcome.CREATED
    assert group.thread_id != alone.thread_id


def test_r0_order_duplicates_and_roles_do_not_matter() -> None:
    """R0: the key is a set over senders and recipients together."""
    world = delivery_world()
    first = world.incoming(A, recipients=(OWN, B))
    second = world.incoming(B, A, B, recipients=(A, OWN, OWN))
    third = world.outgoing(B, A, A)
    assert {second.thread_id, third.thread_id} == {first.thread_id}


def test_r0_key_uses_canonical_identifiers() -> None:
    """R0 with V4: two spellings of A's number are one participant."""
    world = delivery_world()
    first = world.incoming(A)
    again = world.incoming(DeliveryIdentifier.of("HS_PHONE_NUMBER", "+1 (555) 010-0001"))
    assert again.outcome is Outcome.APPENDED
    assert again.thread_id == first.thread_id


def test_r0_participant_names_do_not_change_the_key() -> None:
    world = delivery_world()
    first = world.incoming(Participant(A, "Ana"))
    second = world.incoming(Participant(A, "Ana B."))
    assert second.thread_id == first.thread_id


def test_r0_key_belongs_to_one_account() -> None:
    """R0: the key includes the channel account, so two inboxes never share a thread."""
    world = delivery_world()
    other = world.engine.create_channel_account(
        world.channel_id, name="Sales", inbox_id="inbox-2", delivery_identifier=phone("+15550108888")
    )
    assert other.channel_account_id is not None
    first = world.incoming(A)
    second = world.engine.publish_message(
        other.channel_account_id, direction=Direction.INCOMING, senders=[A], text="hello"
    )
    assert second.outcome is Outcome.CREATED
    assert second.thread_id != first.thread_id


def test_r0_empty_key_is_validation_error() -> None:
    """R0: a message among the account's own identifier only has no key, and changes nothing."""
    world = delivery_world()
    before = snapshot(world.engine)
    with pytest.raises(ValidationError) as caught:
        world.incoming(OWN, recipients=(OWN,))
    assert (caught.value.field, caught.value.rule) == ("recipients", "R0")
    with pytest.raises(ValidationError) as started:
        world.engine.start_conversation(world.account_id, recipients=[OWN], text="hi")
    assert (started.value.field, started.value.rule) == ("recipients", "R0")
    assert snapshot(world.engine) == before


# -- R1: one open thread per key ---------------------------------------------------------------------------


def test_r1_every_message_of_a_key_goes_to_its_one_open_thread() -> None:
    world = delivery_world()
    results = [
        world.incoming(A),
        world.outgoing(A),
        world.incoming(A),
        world.engine.reply(thread_id_of(world.incoming(A)), "ok"),
    ]
    assert len({r.thread_id for r in results}) == 1
    threads = world.engine.threads(world.account_id)
    assert [t.status for t in threads] == [ThreadStatus.OPEN]
    assert len(world.engine.messages(threads[0].id)) == 5


def test_r1_a_new_thread_is_the_only_open_one_of_its_key() -> None:
    """R1 with R4c: after the window the old thread stays closed while the new one opens."""
    world = delivery_world()
    old = world.incoming(A)
    world.engine.close_thread(thread_id_of(old))
    world.clock.advance(timedelta(days=2))
    new = world.incoming(A)
    assert new.outcome is Outcome.CREATED
    open_threads = [t for t in world.engine.threads() if t.is_open]
    assert [t.id for t in open_threads] == [new.thread_id]
    assert world.thread(old.thread_id).status is ThreadStatus.CLOSED


# -- R2: archived threads are disregarded -----------------------------------------------------------------


def test_r2_archived_thread_never_chosen_and_does_not_block_new_thread() -> None:
    world = delivery_world()
    first = world.incoming(A)
    world.engine.archive_thread(thread_id_of(first))
    second = world.incoming(A)
    assert second.outcome is Outcome.CREATED
    assert second.thread_id != first.thread_id
    archived = world.thread(first.thread_id)
    assert archived.archived
    assert len(world.engine.messages(archived.id)) == 1


def test_r2_archived_thread_is_not_reopened_even_inside_the_window() -> None:
    world = delivery_world()
    first = world.incoming(A)
    world.engine.close_thread(thread_id_of(first))
    world.engine.archive_thread(thread_id_of(first))
    world.clock.advance(timedelta(minutes=1))
    second = world.incoming(A)
    assert second.outcome is Outcome.CREATED
    assert world.thread(first.thread_id).status is ThreadStatus.CLOSED


def test_r2_latest_closed_thread_is_chosen_among_non_archived_only() -> None:
    world = delivery_world()
    one, two = two_closed_threads(world)
    world.engine.archive_thread(two)
    result = world.incoming(A)
    assert (result.outcome, result.thread_id) == (Outcome.REOPENED, one)
    assert world.thread(two).archived


def test_r2_archived_thread_is_not_written_to() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.archive_thread(thread_id)
    with pytest.raises(ThreadNotOpenError) as caught:
        world.engine.reply(thread_id, "anyone there?")
    assert caught.value.rule == "R3"
    assert len(world.engine.messages(thread_id)) == 1


# -- R3: outgoing messages only on open threads ------------------------------------------------------------


def test_r3_reply_to_closed_thread_is_thread_not_open() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.close_thread(thread_id)
    before = snapshot(world.engine)
    with pytest.raises(ThreadNotOpenError) as caught:
        world.engine.reply(thread_id, "too late")
    assert (caught.value.code, caught.value.field, caught.value.rule) == ("THREAD_NOT_OPEN", "threadId", "R3")
    assert snapshot(world.engine) == before
    assert world.thread(thread_id).status is ThreadStatus.CLOSED


def test_r3_reply_needs_outgoing_messages() -> None:
    world = delivery_world(allow_outgoing_messages=False)
    thread_id = thread_id_of(world.incoming(A))
    with pytest.raises(NotAllowedError) as caught:
        world.engine.reply(thread_id, "hello")
    assert caught.value.field == "capabilities.allowOutgoingMessages"
    assert caught.value.rule == "R3"


def test_r3_reply_is_addressed_to_the_threads_participants() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A, recipients=(OWN, B)))
    reply = world.engine.reply(thread_id, "hi both")
    message = world.message(reply)
    assert message.direction is Direction.OUTGOING
    assert [p.delivery_identifier for p in message.senders] == [OWN]
    assert {p.delivery_identifier for p in message.recipients} == {A, B}


@pytest.mark.parametrize(
    ("allow_outgoing_messages", "allow_conversation_start", "missing"),
    [
        (False, True, "allowOutgoingMessages"),
        (True, False, "allowConversationStart"),
        (False, False, "allowOutgoingMessages"),
    ],
)
def test_r3_conversation_start_needs_capabilities(
    allow_outgoing_messages: bool, allow_conversation_start: bool, missing: str
) -> None:
    world = delivery_world(
        allow_outgoing_messages=allow_outgoing_messages, allow_conversation_start=allow_conversation_start
    )
    before = snapshot(world.engine)
    with pytest.raises(NotAllowedError) as caught:
        world.engine.start_conversation(world.account_id, recipients=[A], text="news")
    assert (caught.value.code, caught.value.field, caught.value.rule) == (
        "NOT_ALLOWED",
        f"capabilities.{missing}",
        "R3",
    )
    assert snapshot(world.engine) == before


def test_r3_conversation_start_goes_to_the_keys_open_thread() -> None:
    world = delivery_world()
    thread_id = world.incoming(A).thread_id
    started = world.engine.start_conversation(world.account_id, recipients=[A], text="follow-up")
    assert (started.outcome, started.thread_id) == (Outcome.APPENDED, thread_id)


def test_r3_conversation_start_never_reopens_a_closed_thread() -> None:
    world = delivery_world()
    closed_id = thread_id_of(world.incoming(A))
    world.engine.close_thread(closed_id)
    started = world.engine.start_conversation(world.account_id, recipients=[A], text="news")
    assert started.outcome is Outcome.CREATED
    assert started.thread_id != closed_id
    assert started.ticket_id is not None
    assert world.thread(closed_id).status is ThreadStatus.CLOSED


def test_r3_integration_outgoing_never_reopens() -> None:
    """R3: a mirrored OUTGOING message starts a new thread rather than reopen one closed a minute ago."""
    world = delivery_world()
    closed_id = thread_id_of(world.incoming(A))
    world.engine.close_thread(closed_id)
    world.clock.advance(timedelta(minutes=1))
    mirrored = world.outgoing(A)
    assert mirrored.outcome is Outcome.CREATED
    assert mirrored.thread_id != closed_id
    assert world.thread(closed_id).status is ThreadStatus.CLOSED
    assert world.outgoing(A).thread_id == mirrored.thread_id
