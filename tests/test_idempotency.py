"""Idempotent publishing: a repeated integrationIdempotencyId returns the original result (D1), unless the
payload differs (D2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import OWN, A, B, World, delivery_world, email, integration_world, snapshot, thread_id_of

from threading_engine import (
    DeliveryIdentifier,
    Direction,
    IdempotencyConflictError,
    NotAllowedError,
    Outcome,
    Participant,
    Result,
    ThreadStatus,
)


def _publish(world: World, **overrides: Any) -> Result:
    fields: dict[str, Any] = {
        "direction": Direction.INCOMING,
        "senders": [A],
        "recipients": [],
        "text": "where is my order?",
        "integration_idempotency_id": "msg-1",
    }
    fields.update(overrides)
    return world.engine.publish_message(world.account_id, **fields)


def _assert_duplicate_of(duplicate: Result, original: Result) -> None:
    assert duplicate.outcome is Outcome.DUPLICATE
    assert (duplicate.thread_id, duplicate.ticket_id, duplicate.message_id) == (
        original.thread_id,
        original.ticket_id,
        original.message_id,
    )
    assert duplicate.events == ()


# -- D1 ----------------------------------------------------------------------------------------------------


def test_d1_duplicate_returns_original_ids_and_no_events() -> None:
    world = delivery_world()
    original = _publish(world)
    before = snapshot(world.engine)
    world.clock.advance(timedelta(minutes=1))
    duplicate = _publish(world)
    _assert_duplicate_of(duplicate, original)
    assert duplicate.channel_account_id == world.account_id
    assert snapshot(world.engine) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"senders": [DeliveryIdentifier.of("HS_PHONE_NUMBER", "+1 (555) 010-0001")]},
        {"senders": [Participant(A, "Ana")]},
        {"senders": [A, A]},
        {"recipients": [OWN]},
        {"timestamp": None},
    ],
    ids=["other spelling", "sender name", "repeated sender", "explicit own recipient", "no timestamp"],
)
def test_d1_payloads_are_compared_in_canonical_form(overrides: dict[str, Any]) -> None:
    world = delivery_world()
    original = _publish(world, timestamp=world.clock.now - timedelta(seconds=5))
    _assert_duplicate_of(_publish(world, **overrides), original)


def test_d1_email_case_is_canonical_too() -> None:
    world = delivery_world()
    original = _publish(world, senders=[email("Ana@Example.com")])
    _assert_duplicate_of(_publish(world, senders=[email("ana@EXAMPLE.com")]), original)


def test_d1_accepted_even_after_account_is_deauthorized() -> None:
    world = delivery_world()
    original = _publish(world)
    world.engine.update_channel_account(world.account_id, authorized=False)
    _assert_duplicate_of(_publish(world), original)
    with pytest.raises(NotAllowedError) as caught:
        _publish(world, integration_idempotency_id="msg-2")
    assert caught.value.rule == "V5"


def test_d1_duplicate_does_not_reopen_a_closed_thread() -> None:
    world = delivery_world()
    original = _publish(world)
    world.engine.close_thread(thread_id_of(original))
    before = snapshot(world.engine)
    _assert_duplicate_of(_publish(world), original)
    assert world.thread(original.thread_id).status is ThreadStatus.CLOSED
    assert snapshot(world.engine) == before


def test_d1_duplicate_of_a_message_on_an_archived_thread() -> None:
    world = delivery_world()
    original = _publish(world)
    world.engine.archive_thread(thread_id_of(original))
    _assert_duplicate_of(_publish(world), original)
    assert len(world.engine.threads()) == 1


def test_d1_duplicate_of_an_outgoing_message() -> None:
    world = delivery_world()
    original = world.outgoing(A, idempotency_id="out-1")
    _assert_duplicate_of(world.outgoing(A, idempotency_id="out-1"), original)


def test_d1_duplicate_under_integration_thread_id() -> None:
    world = integration_world()
    original = _publish(world, integration_thread_id="conv-1")
    _assert_duplicate_of(_publish(world, integration_thread_id="conv-1"), original)
    assert len(world.engine.messages(thread_id_of(original))) == 1


def test_d1_idempotency_ids_are_per_account() -> None:
    world = delivery_world()
    first = _publish(world)
    other = world.engine.create_channel_account(
        world.channel_id,
        name="Sales",
        inbox_id="inbox-2",
        delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550108888"),
    )
    assert other.channel_account_id is not None
    second = world.engine.publish_message(
        other.channel_account_id,
        direction=Direction.INCOMING,
        senders=[A],
        text="where is my order?",
        integration_idempotency_id="msg-1",
    )
    assert second.outcome is Outcome.CREATED
    assert second.message_id != first.message_id


def test_d1_messages_without_idempotency_id_are_never_duplicates() -> None:
    world = delivery_world()
    first = _publish(world, integration_idempotency_id=None)
    second = _publish(world, integration_idempotency_id=None)
    assert second.outcome is Outcome.APPENDED
    assert second.message_id != first.message_id


# -- D2 ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"text": "where is my parcel?"},
        {"senders": [B]},
        {"senders": [A, B]},
        {"recipients": [OWN, B]},
        {"direction": Direction.OUTGOING, "senders": [OWN], "recipients": [A]},
        {"integration_thread_id": "conv-9"},
    ],
    ids=["text", "sender", "extra sender", "extra recipient", "direction", "thread id"],
)
def test_d2_different_payload_is_idempotency_conflict(overrides: dict[str, Any]) -> None:
    world = delivery_world()
    original = _publish(world)
    before = snapshot(world.engine)
    with pytest.raises(IdempotencyConflictError) as caught:
        _publish(world, **overrides)
    error = caught.value
    assert (error.code, error.field, error.value, error.rule) == (
        "IDEMPOTENCY_CONFLICT",
        "integrationIdempotencyId",
        "msg-1",
        "D2",
    )
    assert f"{original.message_id!r}" in error.message
    assert snapshot(world.engine) == before


def test_d2_different_integration_thread_id_under_integration_model() -> None:
    world = integration_world()
    _publish(world, integration_thread_id="conv-1")
    with pytest.raises(IdempotencyConflictError):
        _publish(world, integration_thread_id="conv-2")
    assert len(world.engine.threads()) == 1


def test_d2_conflict_is_reported_even_for_a_deauthorized_account() -> None:
    """D1 consults the record before authorization, so a changed payload is D2, not NOT_ALLOWED."""
    world = delivery_world()
    _publish(world)
    world.engine.update_channel_account(world.account_id, authorized=False)
    with pytest.raises(IdempotencyConflictError):
        _publish(world, text="changed")
