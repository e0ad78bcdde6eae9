"""The engine's batches and routing: each command of a batch keeps its own answer in its place, a batch reads
ahead exactly the views its commands then load, and an account's routing is read once, then remembered within
a bound. Lost races and the back-off between attempts are in test_engine_back_off.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import cast

import pytest
from helpers import A, connect

from threading_engine import (
    CloseThread,
    Command,
    DeliveryIdentifier,
    Direction,
    Engine,
    NotFoundError,
    Outcome,
    Participant,
    PublishMessage,
    ThreadingError,
    ThreadingModel,
    ValidationError,
)
from threading_engine import engine as engine_module
from threading_engine.backends.memory import MemoryRepository
from threading_engine.decisions import Changes, View, ViewQuery
from threading_engine.events import EventRecord
from threading_engine.ids import SequentialIds
from threading_engine.model import StagingToken
from threading_engine.repository import PendingEvent, UnitOfWork

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class RecordingUnit:
    """A unit of work that notes every query it loads and every batch of queries it is asked to read ahead."""

    def __init__(self, unit: UnitOfWork, repository: RecordingRepository) -> None:
        self.unit = unit
        self.repository = repository

    def load(self, query: ViewQuery) -> View:
        self.repository.loaded.append(query)
        return self.unit.load(query)

    def load_staging_token(self, token: str) -> StagingToken | None:
        return self.unit.load_staging_token(token)

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        self.unit.save(changes, events)

    def commit(self) -> tuple[EventRecord, ...]:
        return self.unit.commit()

    def prefetch(self, queries: Sequence[ViewQuery]) -> None:
        self.repository.prefetched.append(list(queries))


class RecordingRepository(MemoryRepository):
    """The memory store, noting what its units of work load and read ahead."""

    def __init__(self) -> None:
        super().__init__()
        self.prefetched: list[list[ViewQuery]] = []
        self.loaded: list[ViewQuery] = []

    @contextmanager
    def unit_of_work(self) -> Iterator[RecordingUnit]:  # type: ignore[override]  # the same contract, wrapped
        with super().unit_of_work() as unit:
            yield RecordingUnit(unit, self)


def engine_on(repository: RecordingRepository) -> tuple[Engine, str]:
    engine = Engine(repository, clock=lambda: T0, ids=SequentialIds())
    return engine, connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)[1]


def incoming(account_id: str, text: str = "hi") -> PublishMessage:
    return PublishMessage(account_id, Direction.INCOMING, senders=(Participant(A),), text=text)


def test_a_batch_keeps_each_invalid_command_s_error_in_its_place_and_prefetches_the_rest() -> None:
    """V rules refuse a command before the unit of work; the batch's other commands are not affected."""
    repository = RecordingRepository()
    engine, account_id = engine_on(repository)
    bad = PublishMessage(account_id, Direction.INCOMING, senders=(), text="no sender")
    batch: list[Command] = [incoming(account_id), bad, CloseThread("no-such-thread"), incoming(account_id, "again")]
    results = engine.execute_many(batch)
    assert isinstance(results[1], ValidationError) and results[1].field == "senders"
    assert isinstance(results[2], NotFoundError)
    assert [getattr(r, "outcome", None) for r in results[::3]] == [Outcome.CREATED, Outcome.APPENDED]
    assert len(repository.prefetched[-1]) == 3, "every valid command's view, and none for the invalid one"


def test_reading_what_does_not_exist_is_not_found_with_the_field() -> None:
    engine, _ = engine_on(RecordingRepository())
    with pytest.raises(NotFoundError) as missing:
        engine.thread("no-such-thread")
    assert (missing.value.field, missing.value.value) == ("threadId", "no-such-thread")


def test_publishing_to_an_unknown_account_is_not_found() -> None:
    engine, _ = engine_on(RecordingRepository())
    other = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460009")
    with pytest.raises(NotFoundError) as missing:
        engine.execute(PublishMessage("no-such-account", Direction.INCOMING, senders=(Participant(other),), text="hi"))
    assert missing.value.field == "channelAccountId"


def test_a_batch_prefetches_exactly_the_views_its_commands_then_load() -> None:
    """The read-ahead hint names each command's view as the rules plan it (keyed by the cached routing)."""
    repository = RecordingRepository()
    engine, account_id = engine_on(repository)
    first = engine.execute(incoming(account_id))  # fills the routing cache for the account
    assert first.thread_id is not None
    other = Participant(DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460009"))
    batch: list[Command] = [
        incoming(account_id, "again"),
        PublishMessage(account_id, Direction.INCOMING, senders=(other,), text="new key"),
        CloseThread(first.thread_id),
    ]
    start = len(repository.loaded)
    engine.execute_many(batch)
    assert repository.prefetched[-1] == repository.loaded[start:]
    assert len({query.key for query in repository.prefetched[-1][:2]}) == 2, "two keys, planned apart"


def test_r4_a_batch_from_an_engine_that_has_not_routed_the_account_yet_reopens_the_keys_thread() -> None:
    """Read ahead before the account's routing is known, a message's view is planned again with its key."""
    repository = RecordingRepository()
    engine, account_id = engine_on(repository)
    first = engine.execute(incoming(account_id))
    assert first.thread_id is not None
    engine.execute(CloseThread(first.thread_id))
    fresh = Engine(repository, clock=lambda: T0, ids=engine.ids)  # its routing cache is empty
    [again] = fresh.execute_many([incoming(account_id, "back again")])
    assert not isinstance(again, ThreadingError)
    assert (again.outcome, again.thread_id) == (Outcome.REOPENED, first.thread_id)


def test_a_batch_keeps_the_not_found_of_an_unhashable_account_id_in_its_place() -> None:
    repository = RecordingRepository()
    engine, account_id = engine_on(repository)
    unhashable = PublishMessage(cast(str, [account_id]), Direction.INCOMING, senders=(Participant(A),), text="hi")
    missing, published = engine.execute_many([unhashable, incoming(account_id)])
    assert isinstance(missing, NotFoundError)
    assert (missing.field, missing.value) == ("channelAccountId", [account_id])
    assert getattr(published, "outcome", None) is Outcome.CREATED


def test_r4_past_its_bound_the_routing_cache_forgets_every_account_and_reads_each_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An engine serving accounts without end remembers at most MAX_ROUTES_REMEMBERED of them; one it forgot is
    read again once, and its messages still go to their key's open thread (R4)."""
    monkeypatch.setattr(engine_module, "MAX_ROUTES_REMEMBERED", 2)
    repository = RecordingRepository()
    engine, first = engine_on(repository)
    accounts = [first, *(connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)[1] for _ in range(2))]
    routes = {ViewQuery(channel_account_id=account_id) for account_id in accounts}

    def routing_reads() -> int:
        return sum(query in routes for query in repository.loaded)

    threads = {account_id: engine.execute(incoming(account_id)).thread_id for account_id in accounts}
    assert routing_reads() == 3, "each account read once to route its first message"
    # The third account's route found two remembered: the engine forgot them, and remembers the third alone.
    for account_id, reads in ((accounts[2], 3), (accounts[0], 4), (accounts[2], 4)):
        result = engine.execute(incoming(account_id, "again"))
        assert (result.outcome, result.thread_id) == (Outcome.APPENDED, threads[account_id])
        assert routing_reads() == reads
