"""What a SQLite unit of work writes for each message reads back exactly as saved, however its times are shared.

A unit formats the engine's time once for a message and its events, and keeps that text while the next value
written holds the same time object; a thread that only gained a message is written as an UPDATE of its latest
message's time alone. These tests save what would defeat either shortcut if it looked at values rather than at
the objects themselves, and read everything back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs

from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.decisions import Changes, ViewQuery
from threading_engine.events import MessageAppended
from threading_engine.model import Direction, ThreadStatus
from threading_engine.repository import PendingEvent
from threading_engine.testing.contract_checks import ACCOUNT, CHANNEL, KEY, T0, commit, message, thread

# The same instant as T0, written with another offset: equal to T0, but stored with its own text.
T0_ELSEWHERE = T0.astimezone(timezone(timedelta(hours=5, minutes=30)))


def _appended(event_id: str, message_id: str, at: datetime) -> PendingEvent:
    return PendingEvent(event_id, at, MessageAppended("thread-1", "R4", message_id, Direction.INCOMING))


def test_every_time_a_unit_writes_reads_back_with_its_own_offset(tmp_path: Path) -> None:
    repository = SQLiteRepository(str(tmp_path / "store.db"))
    commit(repository, Changes(channel=CHANNEL, account=ACCOUNT, threads=(thread("thread-1"),)))
    later = T0 + timedelta(seconds=1)
    saves = [
        # (message timestamp, received_at, the times of its events): one object shared, equal objects, new ones.
        (T0, T0, (T0, T0)),
        (T0_ELSEWHERE, T0, (T0, T0_ELSEWHERE)),
        (later, later, (T0,)),
        (T0, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), (T0_ELSEWHERE, T0)),
    ]
    with repository.unit_of_work() as unit:
        number = 0
        for index, (timestamp, received_at, event_times) in enumerate(saves):
            written = attrs.evolve(
                message(f"message-{index}", "thread-1"), timestamp=timestamp, received_at=received_at
            )
            events = []
            for at in event_times:
                number += 1
                events.append(_appended(f"event-{number}", written.id, at))
            unit.save(Changes(message=written), events)
        records = unit.commit()
    stored = repository.list_messages("thread-1")
    assert [(m.timestamp.isoformat(), m.received_at.isoformat()) for m in stored] == [
        (timestamp.isoformat(), received_at.isoformat()) for timestamp, received_at, _ in saves
    ]
    expected_times = [at.isoformat() for _, _, event_times in saves for at in event_times]
    assert [record.timestamp.isoformat() for record in records] == expected_times
    assert [record.timestamp.isoformat() for record in repository.read_events()] == expected_times
    repository.close()


def test_a_thread_that_only_gained_a_message_and_one_that_changed_more_are_both_stored(tmp_path: Path) -> None:
    repository = SQLiteRepository(str(tmp_path / "store.db"))
    commit(
        repository,
        Changes(channel=CHANNEL, account=ACCOUNT, threads=(thread("thread-1"), thread("thread-2", key="other"))),
    )
    touched = thread("thread-1", latest_message_at=T0 + timedelta(minutes=1))
    closed = thread("thread-2", key="other", status=ThreadStatus.CLOSED, closed_at=T0 + timedelta(minutes=2))
    with repository.unit_of_work() as unit:
        view = unit.load(ViewQuery(channel_account_id=ACCOUNT.id, key=KEY))
        assert view.open_thread is not None  # read: the unit now knows the stored rows of what it writes
        unit.load(ViewQuery(thread_id="thread-2"))
        unit.save(Changes(threads=(touched,)), ())
        unit.save(Changes(threads=(touched,)), ())  # nothing differs: nothing to write
        unit.save(Changes(threads=(closed,)), ())
        unit.commit()
    assert repository.get_thread("thread-1") == touched
    assert repository.get_thread("thread-2") == closed
    repository.close()
