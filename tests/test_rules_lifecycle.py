"""A thread's lifecycle under agent commands: tickets follow threads (R6), archiving closes first (R7), and
reopen conflicts and no-ops (R8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from helpers import A, B, World, delivery_world, event_rules, snapshot, thread_id_of

from threading_engine import (
    Engine,
    KeyConflictError,
    NotAllowedError,
    NotFoundError,
    Outcome,
    Result,
    ThreadStatus,
    TicketStatus,
)


def _statuses(world: World, thread_id: str) -> tuple[ThreadStatus, TicketStatus]:
    thread = world.thread(thread_id)
    return thread.status, world.ticket(thread.ticket_id).status


# -- R6: the ticket follows the thread ---------------------------------------------------------------------


def test_r6_new_thread_opens_a_ticket() -> None:
    world = delivery_world()
    result = world.incoming(A)
    thread = world.thread(result.thread_id)
    assert thread.ticket_id == result.ticket_id
    ticket = world.ticket(result.ticket_id)
    assert (ticket.thread_id, ticket.status) == (thread.id, TicketStatus.OPEN)


def test_r6_closing_the_thread_closes_its_ticket() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    closed = world.engine.close_thread(thread_id)
    assert closed.outcome is Outcome.CHANGED
    assert _statuses(world, thread_id) == (ThreadStatus.CLOSED, TicketStatus.CLOSED)
    assert event_rules(closed.events) == [("THREAD_CLOSED", "R6"), ("TICKET_CLOSED", "R6")]


def test_r6_agent_reopen_reopens_the_ticket() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.close_thread(thread_id)
    reopened = world.engine.reopen_thread(thread_id)
    assert reopened.outcome is Outcome.CHANGED
    assert _statuses(world, thread_id) == (ThreadStatus.OPEN, TicketStatus.OPEN)
    assert event_rules(reopened.events) == [("THREAD_REOPENED", "R8"), ("TICKET_REOPENED", "R6")]
    assert world.thread(thread_id).closed_at is None


def test_r6_incoming_reopen_reopens_the_ticket() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.close_thread(thread_id)
    reopened = world.incoming(A)
    assert reopened.outcome is Outcome.REOPENED
    assert _statuses(world, thread_id) == (ThreadStatus.OPEN, TicketStatus.OPEN)
    assert ("TICKET_REOPENED", "R6") in event_rules(reopened.events)


def test_r6_close_ticket_closes_thread() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.clock.advance(timedelta(minutes=5))
    closed = world.engine.close_ticket(thread_id)
    assert closed.outcome is Outcome.CHANGED
    assert _statuses(world, thread_id) == (ThreadStatus.CLOSED, TicketStatus.CLOSED)
    assert world.thread(thread_id).closed_at == world.clock.now
    assert [t for t, _ in event_rules(closed.events)] == ["THREAD_CLOSED", "TICKET_CLOSED"]


def test_r6_ticket_follows_through_a_whole_life() -> None:
    """R6: after every step the ticket is OPEN exactly when its thread is."""
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    steps: list[Callable[[], Result]] = [
        lambda: world.engine.close_ticket(thread_id),
        lambda: world.incoming(A),
        lambda: world.engine.archive_thread(thread_id),
        lambda: world.engine.restore_thread(thread_id),
        lambda: world.engine.reopen_thread(thread_id),
        lambda: world.engine.close_thread(thread_id),
    ]
    for step in steps:
        step()
        thread_status, ticket_status = _statuses(world, thread_id)
        assert thread_status.value == ticket_status.value


# -- R7: archiving closes first; restoring gives CLOSED ----------------------------------------------------


def test_r7_archive_closes_first() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.clock.advance(timedelta(hours=2))
    archived = world.engine.archive_thread(thread_id)
    assert archived.outcome is Outcome.CHANGED
    assert event_rules(archived.events) == [("THREAD_CLOSED", "R7"), ("TICKET_CLOSED", "R6"), ("THREAD_ARCHIVED", "R7")]
    thread = world.thread(thread_id)
    assert (thread.status, thread.archived, thread.closed_at) == (ThreadStatus.CLOSED, True, world.clock.now)
    assert world.ticket(thread.ticket_id).status is TicketStatus.CLOSED


def test_r7_archiving_a_closed_thread_keeps_its_closed_at() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.close_thread(thread_id)
    closed_at = world.thread(thread_id).closed_at
    world.clock.advance(timedelta(hours=2))
    archived = world.engine.archive_thread(thread_id)
    assert event_rules(archived.events) == [("THREAD_ARCHIVED", "R7")]
    assert world.thread(thread_id).closed_at == closed_at


def test_r7_restore_gives_closed_with_the_same_closed_at() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.archive_thread(thread_id)
    closed_at = world.thread(thread_id).closed_at
    world.clock.advance(timedelta(hours=3))
    restored = world.engine.restore_thread(thread_id)
    assert restored.outcome is Outcome.CHANGED
    assert event_rules(restored.events) == [("THREAD_RESTORED", "R7")]
    thread = world.thread(thread_id)
    assert (thread.status, thread.archived, thread.closed_at) == (ThreadStatus.CLOSED, False, closed_at)
    assert world.ticket(thread.ticket_id).status is TicketStatus.CLOSED


def test_r7_restored_thread_is_reopened_by_r4_inside_the_window() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.archive_thread(thread_id)
    world.clock.advance(timedelta(hours=23))
    world.engine.restore_thread(thread_id)
    again = world.incoming(A)
    assert (again.outcome, again.thread_id) == (Outcome.REOPENED, thread_id)


def test_r7_restored_thread_is_measured_from_its_original_closed_at() -> None:
    """R7: restoring does not restart the window."""
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.archive_thread(thread_id)
    world.clock.advance(timedelta(hours=25))
    world.engine.restore_thread(thread_id)
    again = world.incoming(A)
    assert again.outcome is Outcome.CREATED
    assert again.thread_id != thread_id


def test_r7_restore_beside_an_open_thread_of_the_same_key() -> None:
    """R7/R1: a restored thread is CLOSED, so it may sit beside its key's open thread."""
    world = delivery_world()
    old = thread_id_of(world.incoming(A))
    world.engine.archive_thread(old)
    new = thread_id_of(world.incoming(A))
    restored = world.engine.restore_thread(old)
    assert restored.outcome is Outcome.CHANGED
    assert world.thread(old).status is ThreadStatus.CLOSED
    assert world.thread(new).is_open


# -- R8: reopen conflicts, archived threads, no-ops --------------------------------------------------------


def test_r8_reopen_with_another_open_thread_is_key_conflict() -> None:
    world = delivery_world()
    old = thread_id_of(world.incoming(A))
    world.engine.close_thread(old)
    world.clock.advance(timedelta(days=2))
    new = thread_id_of(world.incoming(A))
    before = snapshot(world.engine)
    with pytest.raises(KeyConflictError) as caught:
        world.engine.reopen_thread(old)
    assert (caught.value.code, caught.value.field, caught.value.value) == ("KEY_CONFLICT", "threadId", old)
    assert caught.value.rule == "R8"
    assert new in caught.value.message
    assert snapshot(world.engine) == before


def test_r8_reopen_is_allowed_once_the_other_thread_closes() -> None:
    world = delivery_world()
    old = thread_id_of(world.incoming(A))
    world.engine.close_thread(old)
    world.clock.advance(timedelta(days=2))
    new = thread_id_of(world.incoming(A))
    world.engine.close_thread(new)
    assert world.engine.reopen_thread(old).outcome is Outcome.CHANGED
    assert world.incoming(A).thread_id == old


def test_r8_reopen_ignores_open_threads_of_other_keys() -> None:
    world = delivery_world()
    a = thread_id_of(world.incoming(A))
    world.engine.close_thread(a)
    world.incoming(B)
    assert world.engine.reopen_thread(a).outcome is Outcome.CHANGED


def test_r8_reopen_archived_is_not_allowed() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    world.engine.archive_thread(thread_id)
    before = snapshot(world.engine)
    with pytest.raises(NotAllowedError) as caught:
        world.engine.reopen_thread(thread_id)
    assert (caught.value.code, caught.value.field, caught.value.rule) == ("NOT_ALLOWED", "threadId", "R8")
    assert "restore" in caught.value.message
    assert snapshot(world.engine) == before


def _open(world: World) -> str:
    return thread_id_of(world.incoming(A))


def _closed(world: World) -> str:
    thread_id = _open(world)
    world.engine.close_thread(thread_id)
    return thread_id


def _archived(world: World) -> str:
    thread_id = _open(world)
    world.engine.archive_thread(thread_id)
    return thread_id


_NO_OPS: list[tuple[str, Callable[[World], str], Callable[[Engine, str], Result]]] = [
    ("close a closed thread", _closed, Engine.close_thread),
    ("close an archived thread", _archived, Engine.close_thread),
    ("reopen an open thread", _open, Engine.reopen_thread),
    ("archive an archived thread", _archived, Engine.archive_thread),
    ("restore an open thread", _open, Engine.restore_thread),
    ("restore a closed thread", _closed, Engine.restore_thread),
    ("close a closed ticket", _closed, Engine.close_ticket),
    ("close the ticket of an archived thread", _archived, Engine.close_ticket),
]


@pytest.mark.parametrize(("name", "make", "action"), _NO_OPS, ids=[name for name, _, _ in _NO_OPS])
def test_r8_every_no_op_returns_unchanged_with_no_events(
    name: str, make: Callable[[World], str], action: Callable[[Engine, str], Result]
) -> None:
    world = delivery_world()
    thread_id = make(world)
    world.clock.advance(timedelta(minutes=10))
    before = snapshot(world.engine)
    result = action(world.engine, thread_id)
    assert result.outcome is Outcome.UNCHANGED, name
    assert result.events == ()
    assert (result.thread_id, result.ticket_id) == (thread_id, world.thread(thread_id).ticket_id)
    assert snapshot(world.engine) == before


def test_r8_close_ticket_with_no_ticket_is_not_found() -> None:
    world = delivery_world(creates_tickets=False)
    thread_id = thread_id_of(world.incoming(A))
    before = snapshot(world.engine)
    with pytest.raises(NotFoundError) as caught:
        world.engine.close_ticket(thread_id)
    assert (caught.value.code, caught.value.field, caught.value.rule) == ("NOT_FOUND", "threadId", "R8")
    assert snapshot(world.engine) == before
    assert world.thread(thread_id).is_open


def test_r8_no_ticket_does_not_stop_closing_the_thread() -> None:
    world = delivery_world(creates_tickets=False)
    thread_id = thread_id_of(world.incoming(A))
    closed = world.engine.close_thread(thread_id)
    assert event_rules(closed.events) == [("THREAD_CLOSED", "R6")]
    assert closed.ticket_id is None


@pytest.mark.parametrize(
    "action",
    [Engine.close_thread, Engine.archive_thread, Engine.restore_thread, Engine.reopen_thread, Engine.close_ticket],
)
def test_r8_unknown_thread_is_not_found(action: Callable[[Engine, str], Result]) -> None:
    world = delivery_world()
    world.incoming(A)
    before = snapshot(world.engine)
    with pytest.raises(NotFoundError) as caught:
        action(world.engine, "thread-404")
    assert (caught.value.field, caught.value.value) == ("threadId", "thread-404")
    assert snapshot(world.engine) == before
