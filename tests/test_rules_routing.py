"""Incoming routing under DELIVERY_IDENTIFIER, with the reopen window (R4), and the thread id the outgoing
webhook carries (R5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import T0, A, B, C, World, delivery_world, integration_world, thread_id_of, two_closed_threads

from threading_engine import Outcome, Policy, ReopenClock, ThreadStatus, TicketStatus
from threading_engine import hubspot as hs
from threading_engine.events import OutgoingMessageCreated
from threading_engine.rules import reopen_elapsed

# -- R4: incoming routing ----------------------------------------------------------------------------------


def test_r4_incoming_appends_to_the_open_thread() -> None:
    world = delivery_world()
    first = world.incoming(A)
    world.clock.advance(timedelta(days=30))
    second = world.incoming(A)
    assert (second.outcome, second.thread_id, second.ticket_id) == (Outcome.APPENDED, first.thread_id, first.ticket_id)


def test_r4_incoming_reopens_a_recently_closed_thread_and_its_ticket() -> None:
    world = delivery_world()
    first = world.incoming(A)
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(timedelta(hours=23))
    again = world.incoming(A)
    assert (again.outcome, again.thread_id, again.ticket_id) == (Outcome.REOPENED, first.thread_id, first.ticket_id)
    thread = world.thread(first.thread_id)
    assert (thread.status, thread.closed_at) == (ThreadStatus.OPEN, None)
    assert world.ticket(first.ticket_id).status is TicketStatus.OPEN


@pytest.mark.parametrize("after", [timedelta(hours=24), timedelta(hours=24, microseconds=1), timedelta(days=9)])
def test_r4_window_passed_starts_a_new_thread_and_ticket(after: timedelta) -> None:
    """R4c: exactly 24 h after closing is already too late."""
    world = delivery_world()
    first = world.incoming(A)
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(after)
    again = world.incoming(A)
    assert again.outcome is Outcome.CREATED
    assert again.thread_id != first.thread_id
    assert again.ticket_id not in (None, first.ticket_id)


def test_r4_most_recently_closed_thread_is_reopened() -> None:
    world = delivery_world()
    one, _ = two_closed_threads(world)
    world.engine.reopen_thread(one)
    world.engine.close_thread(one)
    world.clock.advance(timedelta(minutes=1))
    assert world.incoming(A).thread_id == one


def test_r4_tie_on_equal_closed_at_picks_the_one_created_last() -> None:
    """R4b: two threads closed at the same instant; the one created last wins, whichever closed last."""
    world = delivery_world()
    one, two = two_closed_threads(world)
    # Close both again at one instant, the older thread last.
    world.engine.reopen_thread(two)
    world.engine.close_thread(two)
    world.engine.reopen_thread(one)
    world.engine.close_thread(one)
    assert world.thread(one).closed_at == world.thread(two).closed_at
    result = world.incoming(A)
    assert (result.outcome, result.thread_id) == (Outcome.REOPENED, two)


def test_r4_clock_behind_closed_at_counts_as_zero() -> None:
    """R4: with a zero window, zero elapsed is too late; a negative elapsed time would have reopened."""
    world = delivery_world(policy=Policy(reopen_window=timedelta(0)))
    first = world.incoming(A)
    world.clock.advance(timedelta(hours=1))
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(timedelta(hours=-1))
    again = world.incoming(A)
    assert again.outcome is Outcome.CREATED


def test_r4_clock_behind_closed_at_reopens_under_the_default_window() -> None:
    world = delivery_world()
    first = world.incoming(A)
    world.clock.advance(timedelta(hours=1))
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(timedelta(hours=-5))
    assert world.incoming(A).outcome is Outcome.REOPENED


def test_r4_elapsed_time_is_never_negative() -> None:
    closed_at = world_time = T0
    arrival = Policy()
    provider = Policy(reopen_clock=ReopenClock.PROVIDER_TIMESTAMP)
    hour = timedelta(hours=1)
    assert reopen_elapsed(closed_at, world_time - hour, world_time, arrival) == timedelta(0)
    assert reopen_elapsed(closed_at, world_time + hour, world_time - hour, arrival) == hour
    assert reopen_elapsed(closed_at, world_time + hour, world_time - hour, provider) == timedelta(0)
    assert reopen_elapsed(closed_at, world_time + hour, world_time + 5 * hour, provider) == hour


def test_r4_now_is_arrival_time_not_provider_timestamp() -> None:
    """R4: a message delivered late is measured by when the engine handles it; both times are stored."""
    world = delivery_world()
    first = world.incoming(A)
    world.engine.close_thread(thread_id_of(first))
    sent_at = world.clock.now + timedelta(hours=1)
    world.clock.advance(timedelta(hours=25))
    late = world.incoming(A, timestamp=sent_at)
    assert late.outcome is Outcome.CREATED
    message = world.message(late)
    assert (message.timestamp, message.received_at) == (sent_at, world.clock.now)


def test_r4_provider_timestamp_policy_measures_from_the_timestamp() -> None:
    world = delivery_world(policy=Policy(reopen_clock=ReopenClock.PROVIDER_TIMESTAMP))
    first = world.incoming(A)
    world.engine.close_thread(thread_id_of(first))
    sent_at = world.clock.now + timedelta(hours=1)
    world.clock.advance(timedelta(hours=25))
    assert world.incoming(A, timestamp=sent_at).outcome is Outcome.REOPENED


def test_r4_provider_timestamp_policy_clamped_to_arrival() -> None:
    """R4: a provider timestamp in the future is measured as the arrival time."""
    world = delivery_world(policy=Policy(reopen_clock=ReopenClock.PROVIDER_TIMESTAMP))
    first = world.incoming(A)
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(timedelta(hours=1))
    future = world.clock.now + timedelta(hours=30)
    result = world.incoming(A, timestamp=future)
    assert result.outcome is Outcome.REOPENED
    assert world.message(result).timestamp == future


def test_r4_window_is_configurable() -> None:
    world = delivery_world(policy=Policy(reopen_window=timedelta(hours=1)))
    first = world.incoming(A)
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(timedelta(minutes=59))
    assert world.incoming(A).outcome is Outcome.REOPENED
    world.engine.close_thread(thread_id_of(first))
    world.clock.advance(timedelta(hours=1))
    assert world.incoming(A).outcome is Outcome.CREATED


def test_r4_negative_window_is_refused() -> None:
    """A ValidationError, which is a ValueError too, naming the field and R4."""
    for window in (timedelta(seconds=-1), "24h", None):
        with pytest.raises(ValueError, match=r"is not a duration of zero or more \(R4\)$") as raised:
            Policy(reopen_window=window)  # type: ignore[arg-type]
        assert (raised.value.field, raised.value.rule) == ("reopenWindow", "R4")  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="reopen_clock 'sometimes' is not one of") as clock:
        Policy(reopen_clock="sometimes")  # type: ignore[arg-type]
    assert (clock.value.field, clock.value.rule) == ("reopenClock", "R4")  # type: ignore[attr-defined]


def test_r4_account_without_tickets_threads_alike() -> None:
    world = delivery_world(creates_tickets=False)
    first = world.incoming(A)
    assert first.ticket_id is None
    world.engine.close_thread(thread_id_of(first))
    again = world.incoming(A)
    assert (again.outcome, again.thread_id, again.ticket_id) == (Outcome.REOPENED, first.thread_id, None)
    assert world.engine.repository.list_tickets() == []


def test_r4_keys_route_independently() -> None:
    world = delivery_world()
    a = world.incoming(A)
    world.engine.close_thread(thread_id_of(a))
    c = world.incoming(C)
    assert c.outcome is Outcome.CREATED
    assert world.thread(a.thread_id).status is ThreadStatus.CLOSED


# -- R5: the webhook carries the thread id -----------------------------------------------------------------


def _webhook(world: World, thread_id: str) -> OutgoingMessageCreated:
    reply = world.engine.reply(thread_id, "on it")
    webhooks = [r.event for r in reply.events if isinstance(r.event, OutgoingMessageCreated)]
    assert len(webhooks) == 1
    assert webhooks[0].message.id == reply.message_id
    assert webhooks[0].channel_id == world.channel_id
    body = hs.event_to_json(next(r for r in reply.events if r.event is webhooks[0]))
    assert body["channelIntegrationThreadIds"] == [body["channelIntegrationThreadId"]]
    assert body["channelIntegrationThreadId"] == webhooks[0].channel_integration_thread_id
    return webhooks[0]


def test_r5_webhook_carries_thread_id() -> None:
    """R5: the engine's thread id under DELIVERY_IDENTIFIER, the integration's own under INTEGRATION_THREAD_ID."""
    delivery = delivery_world()
    thread_id = thread_id_of(delivery.incoming(A))
    assert _webhook(delivery, thread_id).channel_integration_thread_id == thread_id

    integration = integration_world()
    ours = thread_id_of(integration.incoming(A, integration_thread_id="conv-42"))
    assert ours != "conv-42"
    assert _webhook(integration, ours).channel_integration_thread_id == "conv-42"


def test_r5_conversation_start_webhook_carries_the_new_thread_id() -> None:
    world = delivery_world()
    started = world.engine.start_conversation(world.account_id, recipients=[B], text="hello")
    webhooks = [r.event for r in started.events if isinstance(r.event, OutgoingMessageCreated)]
    assert [w.channel_integration_thread_id for w in webhooks] == [started.thread_id]
