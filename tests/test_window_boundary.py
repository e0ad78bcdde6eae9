"""R4's reopen window at its edges, on the engine's default clock (``utc_now``) stopped and moved by freezegun."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from helpers import T0, A, connect

from threading_engine import (
    Direction,
    Engine,
    Outcome,
    Policy,
    ReopenClock,
    Result,
    SequentialIds,
    ThreadingModel,
    ThreadStatus,
    utc_now,
)

MICROSECOND = timedelta(microseconds=1)
DAY = timedelta(hours=24)


@dataclass
class Inbox:
    """An engine on the real default clock, with one account and its first thread, closed at ``closed_at``."""

    engine: Engine
    account_id: str
    thread_id: str
    closed_at: datetime

    def incoming(self, timestamp: datetime | None = None, integration_thread_id: str | None = None) -> Result:
        return self.engine.publish_message(
            self.account_id,
            direction=Direction.INCOMING,
            senders=[A],
            text="hello again",
            timestamp=timestamp,
            integration_thread_id=integration_thread_id,
        )


def _inbox(policy: Policy | None = None, model: ThreadingModel = ThreadingModel.DELIVERY_IDENTIFIER) -> Inbox:
    """Opens a thread now, closes it one hour later; leaves the frozen clock at the moment it closed."""
    engine = Engine(ids=SequentialIds(), policy=policy)
    assert engine.clock is utc_now
    _, account_id = connect(engine, model)
    integration_thread_id = "conv-1" if model is ThreadingModel.INTEGRATION_THREAD_ID else None
    inbox = Inbox(engine, account_id, "", utc_now())
    first = inbox.incoming(integration_thread_id=integration_thread_id)
    assert first.thread_id is not None
    inbox.thread_id = first.thread_id
    return inbox


def _close(inbox: Inbox) -> None:
    inbox.engine.close_thread(inbox.thread_id)
    closed_at = inbox.engine.thread(inbox.thread_id).closed_at
    assert closed_at is not None
    inbox.closed_at = closed_at


def test_r4_default_clock_is_the_frozen_time() -> None:
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox()
        frozen.tick(timedelta(hours=1))
        _close(inbox)
        assert inbox.closed_at == T0 + timedelta(hours=1)
        frozen.tick(timedelta(minutes=3))
        result = inbox.incoming()
        message = inbox.engine.message(str(result.message_id))
        assert message.received_at == message.timestamp == T0 + timedelta(hours=1, minutes=3)


def test_r4_a_microsecond_before_24h_reopens() -> None:
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox()
        _close(inbox)
        frozen.tick(DAY - MICROSECOND)
        result = inbox.incoming()
        assert (result.outcome, result.thread_id) == (Outcome.REOPENED, inbox.thread_id)
        assert inbox.engine.thread(inbox.thread_id).status is ThreadStatus.OPEN


def test_r4_exactly_24h_starts_a_new_thread() -> None:
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox()
        _close(inbox)
        frozen.move_to(inbox.closed_at + DAY)
        result = inbox.incoming()
        assert result.outcome is Outcome.CREATED
        assert result.thread_id != inbox.thread_id
        assert inbox.engine.thread(inbox.thread_id).status is ThreadStatus.CLOSED


def test_r4_a_microsecond_after_24h_starts_a_new_thread() -> None:
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox()
        _close(inbox)
        frozen.tick(DAY + MICROSECOND)
        assert inbox.incoming().outcome is Outcome.CREATED


@pytest.mark.parametrize(
    ("after_close", "expected"),
    [
        (timedelta(0), Outcome.REOPENED),
        (timedelta(minutes=59, seconds=59, microseconds=999_999), Outcome.REOPENED),
        (timedelta(hours=1), Outcome.CREATED),
        (timedelta(hours=1, microseconds=1), Outcome.CREATED),
    ],
)
def test_r4_custom_window_of_one_hour(after_close: timedelta, expected: Outcome) -> None:
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox(Policy(reopen_window=timedelta(hours=1)))
        frozen.tick(timedelta(minutes=10))
        _close(inbox)
        frozen.tick(after_close)
        assert inbox.incoming().outcome is expected


def test_r4_clock_moved_before_closed_at_reopens() -> None:
    """R4: a clock that reads earlier than closedAt counts as zero elapsed."""
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox()
        frozen.tick(timedelta(hours=5))
        _close(inbox)
        frozen.move_to(inbox.closed_at - timedelta(hours=2))
        assert inbox.incoming().outcome is Outcome.REOPENED


@pytest.mark.parametrize(
    ("sent_after_close", "expected"),
    [
        (DAY - MICROSECOND, Outcome.REOPENED),
        (DAY, Outcome.CREATED),
        (DAY + MICROSECOND, Outcome.CREATED),
    ],
)
def test_r4_provider_timestamp_clock_measures_from_the_timestamp(
    sent_after_close: timedelta, expected: Outcome
) -> None:
    """R4's option: the window is measured to the provider's timestamp; arrival is a day later still."""
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox(Policy(reopen_clock=ReopenClock.PROVIDER_TIMESTAMP))
        _close(inbox)
        frozen.tick(2 * DAY)
        result = inbox.incoming(timestamp=inbox.closed_at + sent_after_close)
        assert result.outcome is expected


def test_r4_provider_timestamp_in_the_future_is_clamped_to_arrival() -> None:
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox(Policy(reopen_clock=ReopenClock.PROVIDER_TIMESTAMP))
        _close(inbox)
        frozen.tick(DAY - MICROSECOND)
        assert inbox.incoming(timestamp=utc_now() + 5 * DAY).outcome is Outcome.REOPENED


def test_r4_arrival_clock_ignores_the_provider_timestamp() -> None:
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox()
        _close(inbox)
        frozen.tick(DAY)
        assert inbox.incoming(timestamp=inbox.closed_at + timedelta(minutes=1)).outcome is Outcome.CREATED


def test_i1_has_no_window() -> None:
    """I1: under INTEGRATION_THREAD_ID an incoming message reopens its pair's thread however long it was closed."""
    with freeze_time(T0, tick=False) as frozen:
        inbox = _inbox(model=ThreadingModel.INTEGRATION_THREAD_ID)
        _close(inbox)
        frozen.tick(365 * DAY)
        result = inbox.incoming(integration_thread_id="conv-1")
        assert (result.outcome, result.thread_id) == (Outcome.REOPENED, inbox.thread_id)
