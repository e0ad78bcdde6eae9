"""The engine's unit of work in detail: how many attempts a lost race gets, the back-off between them, what a
no-op commits, and how a batch hands each command its events and time.

A backend that loses a race raises ``WriteConflict``; the engine then decides the whole command again on
fresh state, sleeping a jittered delay that doubles from 4 ms up to 128 ms, and gives up with a
``StorageError`` after ``max_attempts`` attempts (10 by default), leaving the store as it was. These tests use
a store that loses the first commits on purpose and count them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from helpers import A, B, Clock, connect

from threading_engine import (
    Channel,
    ChannelAccount,
    Command,
    CreateChannel,
    Direction,
    Engine,
    EventRecord,
    Message,
    Outcome,
    Participant,
    PublishMessage,
    Result,
    SequentialIds,
    StagingToken,
    StorageError,
    Thread,
    ThreadingError,
    ThreadingModel,
    Ticket,
    UnitOfWork,
    ValidationError,
    WriteConflict,
)
from threading_engine.backends.memory import MemoryRepository
from threading_engine.decisions import Changes, View, ViewQuery
from threading_engine.reads import AccountFilter, Page, ThreadFilter
from threading_engine.repository import PendingEvent
from threading_engine.testing.conformance import snapshot


class _LosingUnit:
    """A unit of work whose commit loses a race while its repository has losses left."""

    def __init__(self, inner: UnitOfWork, repository: LosingRepository) -> None:
        self._inner = inner
        self._repository = repository

    def load(self, query: ViewQuery) -> View:
        return self._inner.load(query)

    def load_staging_token(self, token: str) -> StagingToken | None:
        return self._inner.load_staging_token(token)

    def save(self, changes: Changes, events: Iterable[PendingEvent]) -> None:
        self._inner.save(changes, list(events))

    def commit(self) -> tuple[EventRecord, ...]:
        self._repository.commits += 1
        if self._repository.losses > 0:
            self._repository.losses -= 1
            raise WriteConflict("lost a race on purpose")
        return self._inner.commit()


class LosingRepository:
    """A memory store whose next ``losses`` commits raise ``WriteConflict``; it counts commit attempts."""

    def __init__(self) -> None:
        self.inner = MemoryRepository()
        self.losses = 0
        self.commits = 0

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        with self.inner.unit_of_work() as unit:
            yield _LosingUnit(unit, self)

    def get_channel(self, channel_id: str) -> Channel | None:
        return self.inner.get_channel(channel_id)

    def get_account(self, channel_account_id: str) -> ChannelAccount | None:
        return self.inner.get_account(channel_account_id)

    def get_thread(self, thread_id: str) -> Thread | None:
        return self.inner.get_thread(thread_id)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        return self.inner.get_ticket(ticket_id)

    def get_message(self, message_id: str) -> Message | None:
        return self.inner.get_message(message_id)

    def get_staging_token(self, token: str) -> StagingToken | None:
        return self.inner.get_staging_token(token)

    def list_channels(self) -> list[Channel]:
        return self.inner.list_channels()

    def list_accounts(self, channel_id: str | None = None) -> list[ChannelAccount]:
        return self.inner.list_accounts(channel_id)

    def list_threads(self, channel_account_id: str | None = None) -> list[Thread]:
        return self.inner.list_threads(channel_account_id)

    def page_channels(self, after: str | None, limit: int) -> Page[Channel]:
        return self.inner.page_channels(after, limit)

    def page_accounts(self, where: AccountFilter, after: str | None, limit: int) -> Page[ChannelAccount]:
        return self.inner.page_accounts(where, after, limit)

    def page_threads(self, where: ThreadFilter, after: str | None, limit: int, newest_first: bool) -> Page[Thread]:
        return self.inner.page_threads(where, after, limit, newest_first)

    def page_messages(self, thread_id: str, after: str | None, limit: int, newest_first: bool) -> Page[Message]:
        return self.inner.page_messages(thread_id, after, limit, newest_first)

    def list_tickets(self) -> list[Ticket]:
        return self.inner.list_tickets()

    def list_messages(self, thread_id: str | None = None) -> list[Message]:
        return self.inner.list_messages(thread_id)

    def read_events(self, after: int = 0, limit: int | None = None) -> list[EventRecord]:
        return self.inner.read_events(after, limit)

    def pending_events(self, limit: int | None = None) -> list[EventRecord]:
        return self.inner.pending_events(limit)

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        return self.inner.acknowledge(event_ids)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[float, float]]]:
    """Each back-off's jitter range; every sleep takes the top of its range, and takes no time."""
    ranges: list[tuple[float, float]] = []
    slept: list[float] = []

    def top_of(low: float, high: float) -> float:
        ranges.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", top_of)
    monkeypatch.setattr(time, "sleep", slept.append)
    yield ranges
    assert slept == [high for _, high in ranges]


def losing_engine(*, max_attempts: int | None = None) -> tuple[Engine, LosingRepository, str]:
    repository = LosingRepository()
    clock = Clock()
    if max_attempts is None:
        engine = Engine(repository, clock=clock, ids=SequentialIds())
    else:
        engine = Engine(repository, clock=clock, ids=SequentialIds(), max_attempts=max_attempts)
    _, account_id = connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)
    repository.commits = 0
    return engine, repository, account_id


def incoming(account_id: str, *senders: Participant, text: str = "hello") -> PublishMessage:
    return PublishMessage(account_id, Direction.INCOMING, senders or (Participant(A),), text)


# -- retries ---------------------------------------------------------------------------------------------


def test_a_lost_race_is_retried_until_it_commits(delays: list[tuple[float, float]]) -> None:
    engine, repository, account_id = losing_engine()
    repository.losses = 3
    result = engine.execute(incoming(account_id))
    assert result.outcome is Outcome.CREATED
    assert repository.commits == 4
    assert [(record.event.type) for record in result.events] == ["THREAD_CREATED", "TICKET_CREATED", "MESSAGE_APPENDED"]
    assert len(engine.threads()) == 1 and len(repository.list_messages()) == 1, "decided again, landed once"
    assert delays == [(0, 0.004), (0, 0.008), (0, 0.016)]


def test_the_back_off_doubles_up_to_a_cap_and_the_engine_gives_up_after_ten_attempts(
    delays: list[tuple[float, float]],
) -> None:
    engine, repository, account_id = losing_engine()
    repository.losses = 100
    before = snapshot(repository)
    with pytest.raises(StorageError) as caught:
        engine.execute(incoming(account_id))
    assert snapshot(repository) == before
    assert type(caught.value) is StorageError
    assert caught.value.message == "gave up after 10 attempts lost to concurrent writers: lost a race on purpose"
    assert isinstance(caught.value.__cause__, WriteConflict)
    assert repository.commits == 10
    assert delays == [(0, 0.004), (0, 0.008), (0, 0.016), (0, 0.032), (0, 0.064)] + [(0, 0.128)] * 4
    assert engine.threads() == []
    assert engine.pending_events() != []  # the setup's events only
    assert all(record.event.type.startswith("CHANNEL") for record in engine.pending_events())


def test_max_attempts_bounds_the_tries(delays: list[tuple[float, float]]) -> None:
    engine, repository, account_id = losing_engine(max_attempts=3)
    repository.losses = 3
    with pytest.raises(StorageError, match="gave up after 3 attempts"):
        engine.execute(incoming(account_id))
    assert repository.commits == 3
    assert len(delays) == 2
    repository.losses = 2
    assert engine.execute(incoming(account_id)).outcome is Outcome.CREATED
    assert repository.commits == 6


def test_one_attempt_means_no_retry(delays: list[tuple[float, float]]) -> None:
    engine, repository, account_id = losing_engine(max_attempts=1)
    repository.losses = 1
    with pytest.raises(StorageError, match="gave up after 1 attempts"):
        engine.execute(incoming(account_id))
    assert repository.commits == 1
    assert delays == []


def test_a_batch_that_loses_a_race_is_retried_whole(delays: list[tuple[float, float]]) -> None:
    engine, repository, account_id = losing_engine(max_attempts=4)
    repository.losses = 2
    results = engine.execute_many([incoming(account_id), incoming(account_id, text="again")])
    assert [r.outcome for r in results if isinstance(r, Result)] == [Outcome.CREATED, Outcome.APPENDED]
    assert [m.text for m in repository.list_messages()] == ["hello", "again"]
    assert repository.commits == 3
    assert delays == [(0, 0.004), (0, 0.008)]
    repository.losses = 4
    with pytest.raises(StorageError) as caught:
        engine.execute_many([incoming(account_id)])
    assert caught.value.message == "gave up after 4 attempts lost to concurrent writers: lost a race on purpose"
    assert repository.commits == 7


def test_a_no_op_commits_nothing() -> None:
    engine, repository, account_id = losing_engine()
    thread = engine.execute(incoming(account_id)).thread_id
    assert thread is not None
    repository.commits = 0
    repository.losses = 1
    result = engine.close_thread(thread)
    assert result.outcome is Outcome.CHANGED
    assert repository.commits == 2
    repository.commits = 0
    unchanged = engine.close_thread(thread)
    assert (unchanged.outcome, unchanged.events) == (Outcome.UNCHANGED, ())
    assert repository.commits == 0


# -- batches ---------------------------------------------------------------------------------------------


def test_a_batch_keeps_every_rejection_in_its_place() -> None:
    engine, _, account_id = losing_engine()
    bad = PublishMessage(account_id, Direction.INCOMING, (), "hello")
    commands: list[Command] = [bad, incoming(account_id), bad, incoming(account_id, Participant(B)), bad]
    results = engine.execute_many(commands)
    assert len(results) == 5
    for index in (0, 2, 4):
        error = results[index]
        assert isinstance(error, ValidationError)
        assert error.field == "senders"
    outcomes = [(r.outcome, r.thread_id) for r in results if isinstance(r, Result)]
    assert outcomes == [(Outcome.CREATED, "thread-1"), (Outcome.CREATED, "thread-2")]


def test_a_batch_without_times_uses_the_clock_and_events_go_to_their_command() -> None:
    engine, _, account_id = losing_engine()
    results = engine.execute_many([incoming(account_id), incoming(account_id, text="again"), incoming(account_id)])
    assert all(isinstance(r, Result) for r in results)
    first, second, third = (r for r in results if isinstance(r, Result))
    assert [record.event.type for record in first.events] == ["THREAD_CREATED", "TICKET_CREATED", "MESSAGE_APPENDED"]
    assert [record.event.type for record in second.events] == ["MESSAGE_APPENDED"]
    assert [record.event.type for record in third.events] == ["MESSAGE_APPENDED"]
    assert second.message_id is not None
    assert second.events[0].event_id != third.events[0].event_id
    assert engine.message(second.message_id).received_at == Clock().now


def test_a_batch_with_times_uses_them_as_now() -> None:
    engine, _, account_id = losing_engine()
    start = Clock().now
    times = [start + timedelta(hours=1), start + timedelta(hours=2)]
    results = engine.execute_many([incoming(account_id), incoming(account_id, text="again")], times=times)
    received = [engine.message(r.message_id).received_at for r in results if isinstance(r, Result) and r.message_id]
    assert received == times


def test_a_batch_needs_one_time_per_command() -> None:
    engine, _, account_id = losing_engine()
    with pytest.raises(ValidationError, match=r"^times holds 1 times for 2 commands: one each$") as caught:
        engine.execute_many([incoming(account_id), incoming(account_id)], times=[Clock().now])
    assert caught.value.field == "times"


def test_a_batch_error_is_a_threading_error_not_raised() -> None:
    engine, _, _ = losing_engine()
    results = engine.execute_many([CreateChannel("", engine.channel("channel-1").capabilities)])
    assert len(results) == 1
    assert isinstance(results[0], ThreadingError)
    assert results[0].rule == "V3"


# -- defaults --------------------------------------------------------------------------------------------


def test_an_account_creates_no_tickets_unless_asked() -> None:
    engine = Engine(clock=Clock(), ids=SequentialIds())
    channel_id, _ = connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)
    created = engine.create_channel_account(channel_id, name="Sales", inbox_id="inbox-2", delivery_identifier=B)
    assert created.channel_account_id is not None
    assert engine.channel_account(created.channel_account_id).creates_tickets is False
    result = engine.publish_message(
        created.channel_account_id, direction=Direction.INCOMING, senders=[A], text="hi", recipients=[B]
    )
    assert result.ticket_id is None
    assert engine.thread(result.thread_id or "").ticket_id is None
