"""A1: an archived channel, and an archived account, take no messages; their threads stay readable, and D1
still answers for what they accepted before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from helpers import A, B, delivery_world, phone, snapshot, thread_id_of

from threading_engine import NotAllowedError, NotFoundError, Outcome, ThreadStatus
from threading_engine.hubspot import account_to_json, channel_to_json


def test_a1_an_archived_channel_takes_no_published_message() -> None:
    world = delivery_world()
    world.incoming(A)
    world.engine.archive_channel(world.channel_id)
    before = snapshot(world.engine)
    with pytest.raises(NotAllowedError) as raised:
        world.incoming(A)
    assert (raised.value.rule, raised.value.field, raised.value.value) == ("A1", "channelId", world.channel_id)
    assert snapshot(world.engine) == before


def test_a1_an_archived_account_takes_no_message_of_any_kind() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.archive_channel_account(world.account_id)
    attempts: tuple[Callable[[], object], ...] = (
        lambda: world.incoming(B),
        lambda: world.outgoing(A),
        lambda: world.engine.reply(thread_id, "hello"),
        lambda: world.engine.start_conversation(world.account_id, recipients=[B], text="hello"),
    )
    for attempt in attempts:
        with pytest.raises(NotAllowedError) as raised:
            attempt()
        assert (raised.value.rule, raised.value.field) == ("A1", "channelAccountId")


def test_a1_threads_stay_readable_and_their_lifecycle_goes_on() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.archive_channel(world.channel_id)
    assert world.thread(thread_id).status is ThreadStatus.OPEN
    assert world.engine.close_thread(thread_id).outcome is Outcome.CHANGED
    assert world.thread(thread_id).status is ThreadStatus.CLOSED


def test_a1_d1_still_answers_duplicate_for_a_message_accepted_before() -> None:
    world = delivery_world()
    first = world.incoming(A, idempotency_id="m-1")
    world.engine.archive_channel_account(world.account_id)
    again = world.incoming(A, idempotency_id="m-1")
    assert (again.outcome, again.message_id) == (Outcome.DUPLICATE, first.message_id)


def test_a1_archiving_records_when_and_is_done_once() -> None:
    world = delivery_world()
    archived_at = world.clock.advance(timedelta(minutes=5))
    result = world.engine.archive_channel_account(world.account_id)
    assert result.outcome is Outcome.CHANGED
    assert [record.event.type for record in result.events] == ["CHANNEL_ACCOUNT_UPDATED"]
    account = world.engine.repository.get_account(world.account_id)
    assert account is not None and (account.archived, account.archived_at, account.active) == (True, archived_at, False)
    world.clock.advance(timedelta(minutes=5))
    again = world.engine.archive_channel_account(world.account_id)
    assert (again.outcome, again.events) == (Outcome.UNCHANGED, ())
    channel_result = world.engine.archive_channel(world.channel_id)
    assert [record.event.type for record in channel_result.events] == ["CHANNEL_UPDATED"]
    assert world.engine.archive_channel(world.channel_id).outcome is Outcome.UNCHANGED


def test_a1_an_archived_channel_gets_no_new_account_and_no_update() -> None:
    world = delivery_world()
    world.engine.archive_channel(world.channel_id)
    with pytest.raises(NotAllowedError) as raised:
        world.engine.create_channel_account(
            world.channel_id, name="Second", inbox_id="2", delivery_identifier=phone("+15550102222")
        )
    assert raised.value.rule == "A1"
    with pytest.raises(NotAllowedError):
        world.engine.update_channel(world.channel_id, name="Renamed")


def test_a1_an_archived_account_is_not_changed_again() -> None:
    world = delivery_world()
    world.engine.archive_channel_account(world.account_id)
    with pytest.raises(NotAllowedError) as raised:
        world.engine.update_channel_account(world.account_id, authorized=True)
    assert (raised.value.rule, raised.value.field) == ("A1", "channelAccountId")


def test_a1_unknown_targets_are_not_found() -> None:
    world = delivery_world()
    with pytest.raises(NotFoundError) as raised:
        world.engine.archive_channel("no-such-channel")
    assert (raised.value.rule, raised.value.field) == ("A1", "channelId")
    with pytest.raises(NotFoundError):
        world.engine.archive_channel_account("no-such-account")


def test_a1_rendered_as_hubspot_renders_it() -> None:
    """HubSpot's account has ``active``, ``archived`` and ``archivedAt``; its channel has no such field, so the
    engine tells an archived channel under ``threadingEngine``."""
    world = delivery_world()
    account = world.engine.repository.get_account(world.account_id)
    assert account is not None
    assert (account_to_json(account)["active"], account_to_json(account)["archived"]) == (True, False)
    assert "archivedAt" not in account_to_json(account)
    world.engine.update_channel_account(world.account_id, authorized=False)
    account = world.engine.repository.get_account(world.account_id)
    assert account is not None and account_to_json(account)["active"] is False
    world.engine.archive_channel_account(world.account_id)
    world.engine.archive_channel(world.channel_id)
    account = world.engine.repository.get_account(world.account_id)
    channel = world.engine.repository.get_channel(world.channel_id)
    assert account is not None and channel is not None
    rendered = account_to_json(account)
    assert (rendered["archived"], rendered["archivedAt"]) == (True, "2026-03-02T09:00:00Z")
    assert channel_to_json(channel)["threadingEngine"] == {"archived": True, "archivedAt": "2026-03-02T09:00:00Z"}
