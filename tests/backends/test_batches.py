"""Batches (``Engine.execute_many``): each command's result or error is exactly what it would be alone."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threading_engine import (
    ArchiveThread,
    Capabilities,
    CloseThread,
    Command,
    CreateChannel,
    CreateChannelAccount,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Participant,
    PublishMessage,
    ReopenThread,
    Reply,
    Result,
    SequentialIds,
    StartConversation,
    ThreadingError,
    ThreadingModel,
)
from threading_engine.backends.memory import MemoryRepository
from threading_engine.repository import Repository
from threading_engine.stores import open_repository
from threading_engine.testing.conformance import snapshot

PEOPLE = [Participant(DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+44207946000{n}")) for n in range(3)]
SETUP: list[Command] = [
    CreateChannel(
        "SMS",
        Capabilities(
            (IdentifierType.HS_PHONE_NUMBER,),
            ThreadingModel.DELIVERY_IDENTIFIER,
            allow_outgoing_messages=True,
            allow_conversation_start=True,
        ),
    ),
    CreateChannelAccount("channel-1", "Desk", "1", DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100"), True, True),
]

publishes = st.builds(
    lambda direction, people, idempotency: PublishMessage(
        "account-1", direction, (people[0],), "hi", tuple(people[1:]), None, None, idempotency
    ),
    st.sampled_from(list(Direction)),
    st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique=True),
    st.none() | st.sampled_from(["a", "b", "c"]),
)
thread_ids = st.sampled_from([f"thread-{n}" for n in range(1, 5)])
commands = st.lists(
    publishes
    | st.builds(
        lambda kind, thread: kind(thread), st.sampled_from([CloseThread, ArchiveThread, ReopenThread]), thread_ids
    )
    | st.builds(Reply, thread_ids, st.just("on it"))
    | st.builds(StartConversation, st.just("account-1"), st.tuples(st.sampled_from(PEOPLE)), st.just("hello"))
    | st.builds(
        PublishMessage, st.just("account-404"), st.just(Direction.INCOMING), st.just((PEOPLE[0],)), st.just("?")
    ),
    max_size=40,
)


def outcome(result: Result | ThreadingError) -> object:
    return result.code if isinstance(result, ThreadingError) else result


def one_by_one(engine: Engine, batch: list[Command]) -> list[object]:
    results: list[object] = []
    for command in batch:
        try:
            results.append(engine.execute(command))
        except ThreadingError as error:
            results.append(error.code)
    return results


def new_engine(repository: Repository) -> Engine:
    return Engine(repository, clock=lambda: datetime(2026, 3, 2, 9, tzinfo=UTC), ids=SequentialIds())


def check_batches_agree(make_repository: Callable[[], Repository], batch: list[Command], size: int) -> None:
    alone, together = new_engine(MemoryRepository()), new_engine(make_repository())
    try:
        expected = one_by_one(alone, SETUP + batch)
        got: list[object] = []
        chunks = [SETUP + batch[: size - len(SETUP)]] + [
            batch[i : i + size] for i in range(max(size - len(SETUP), 0), len(batch), size)
        ]
        for chunk in chunks:
            got.extend(outcome(result) for result in together.execute_many(chunk))
        assert got == expected
        assert snapshot(together.repository) == snapshot(alone.repository)
    finally:
        alone.close()
        together.close()


_files = itertools.count()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(batch=commands, size=st.integers(3, 50))
def test_batches_on_memory_agree_with_commands_one_by_one(batch: list[Command], size: int) -> None:
    check_batches_agree(MemoryRepository, batch, size)


@SETTINGS
@given(batch=commands, size=st.integers(3, 50))
def test_batches_on_sqlite_agree_with_commands_one_by_one(tmp_path: Path, batch: list[Command], size: int) -> None:
    path = tmp_path / f"batch-{next(_files)}.db"
    check_batches_agree(lambda: open_repository(f"sqlite:///{path}"), batch, size)


@pytest.mark.postgres
@settings(SETTINGS, max_examples=10)
@given(batch=commands, size=st.integers(3, 50))
def test_batches_on_postgresql_agree_with_commands_one_by_one(
    postgres_url: str, new_schema: Callable[[], str], batch: list[Command], size: int
) -> None:
    joiner = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{joiner}schema={new_schema()}"
    check_batches_agree(lambda: open_repository(url), batch, size)


def test_a_batch_is_one_transaction_and_a_rejection_undoes_nothing(tmp_path: Path) -> None:
    """A rejected command in the middle keeps its neighbours; the batch's events commit in one go."""
    engine = new_engine(open_repository(f"sqlite:///{tmp_path / 'one.db'}"))
    results = engine.execute_many(
        [*SETUP, Reply("thread-404", "lost"), PublishMessage("account-1", Direction.INCOMING, (PEOPLE[0],), "hi")]
    )
    assert [type(r).__name__ for r in results] == ["Result", "Result", "NotFoundError", "Result"]
    last = results[-1]
    assert isinstance(last, Result) and last.thread_id == "thread-1"
    assert [r.sequence for r in engine.repository.read_events()] == list(range(1, 6))
    engine.close()


def test_time_moves_between_commands_of_a_batch() -> None:
    """Each command reads the clock when it is decided, as it would alone (R4's "now")."""
    moments = iter(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(hours=h) for h in itertools.count())
    engine = Engine(clock=lambda: next(moments), ids=SequentialIds())
    results = engine.execute_many([*SETUP, PublishMessage("account-1", Direction.INCOMING, (PEOPLE[0],), "hi")])
    last = results[-1]
    assert isinstance(last, Result) and last.message_id is not None
    assert engine.message(last.message_id).received_at == datetime(2026, 3, 2, 11, tzinfo=UTC)
