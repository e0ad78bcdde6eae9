"""D1 on SQLite's remembered views: a message's view is answered from memory without asking whether its
idempotency id is taken; the unique index asks instead, when the message is inserted
(``repository.DeferringUnitOfWork``, ``deferred.py``).

Whatever the index finds, the answers must be those of a store that read the duplicate at once. The memory store,
run beside SQLite on the same commands with the same sequential ids, gives the expected results, errors, events
and stored state, one command at a time and in batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import A, B, C, Clock, connect, email
from hypothesis import given, settings
from hypothesis import strategies as st

from threading_engine import (
    Direction,
    Engine,
    IdempotencyConflictError,
    IdentifierType,
    Participant,
    SequentialIds,
    ThreadingError,
    ThreadingModel,
    ValidationError,
)
from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.backends.viewcache import DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN
from threading_engine.commands import CloseThread, Command, PublishMessage
from threading_engine.decisions import ViewQuery
from threading_engine.repository import Repository
from threading_engine.rules import plan
from threading_engine.testing.conformance import snapshot

# Ids the set-up makes with SequentialIds: one DELIVERY_IDENTIFIER channel and its account.
ACCOUNT = "account-1"


class Pair:
    """A SQLite engine whose store remembers views, and a memory engine as the reference, on one clock."""

    def __init__(self, path: Path, types: tuple[IdentifierType, ...] = tuple(IdentifierType)) -> None:
        self.clock = Clock()
        self._types = types
        self.sqlite = self._engine(SQLiteRepository(str(path)))
        self.memory = self._engine(MemoryRepository())

    def _engine(self, repository: Repository) -> Engine:
        engine = Engine(repository, clock=self.clock, ids=SequentialIds())
        assert connect(engine, ThreadingModel.DELIVERY_IDENTIFIER, types=self._types)[1] == ACCOUNT
        return engine

    def same(self, *steps: Command | Sequence[Command]) -> list[Any]:
        """Each step's answers (a list is one batch) on both stores, asserted equal, with what each stores."""
        expected = _answers(self.memory, steps)
        assert _answers(self.sqlite, steps) == expected
        return expected[:-1]

    def close(self) -> None:
        self.sqlite.close()
        self.memory.close()


def _answers(engine: Engine, steps: tuple[Command | Sequence[Command], ...]) -> list[Any]:
    seen: list[Any] = []
    for step in steps:
        if isinstance(step, Sequence):
            seen.append([_shown(answer) for answer in engine.execute_many(step)])
            continue
        try:
            seen.append(engine.execute(step))
        except ThreadingError as error:
            seen.append(_shown(error))
    return [*seen, snapshot(engine.repository)]


def _shown(answer: object) -> object:
    if isinstance(answer, ThreadingError):
        return (type(answer), str(answer), answer.field, repr(answer.value), answer.rule)
    return answer


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    pair = Pair(tmp_path / "store.db")
    yield pair
    pair.close()


def publish(idempotency_id: str | None, text: str = "hello", sender: Any = A) -> PublishMessage:
    return PublishMessage(
        ACCOUNT, Direction.INCOMING, (Participant(sender),), text, integration_idempotency_id=idempotency_id
    )


def test_d1_a_retry_on_a_remembered_key_is_a_duplicate_and_the_next_message_gets_the_ids_it_would(
    pair: Pair,
) -> None:
    """The retry's first decision drew a message id and an event id before the insert found the duplicate: they
    go to the next message, which gets the ids the memory store gives it."""
    answers = pair.same(publish("wamid.1"), publish("wamid.2"), publish("wamid.1"), publish("wamid.3"))
    assert [a.outcome.value for a in answers] == ["CREATED", "APPENDED", "DUPLICATE", "APPENDED"]
    assert [a.message_id for a in answers] == ["message-1", "message-2", "message-1", "message-3"]


def test_d2_a_retry_with_another_text_on_a_remembered_key_is_refused(pair: Pair) -> None:
    answers = pair.same(publish("wamid.1"), publish(None), publish("wamid.1", "other"), publish(None))
    assert answers[2][0] is IdempotencyConflictError and answers[2][-1] == "D2"
    assert answers[3].message_id == "message-3"


def test_d1_a_retry_after_its_thread_closed_is_still_a_duplicate(pair: Pair) -> None:
    """Closing the thread drops the key's remembered view; a day later the retry is answered from a fresh read,
    and the message after it starts the key's new thread with the ids the memory store gives."""
    pair.same(publish("wamid.1"), publish(None), CloseThread("thread-1"))
    pair.clock.advance(timedelta(days=2))
    answers = pair.same(publish("wamid.1"), publish("wamid.2"), publish("wamid.1"))
    assert [a.outcome.value for a in answers] == ["DUPLICATE", "CREATED", "DUPLICATE"]


def test_v5_a_rejection_decided_on_a_view_that_left_out_the_duplicate_is_confirmed_first(tmp_path: Path) -> None:
    """D1 before V5: a message from someone the channel does not take (an email address on a phone channel) is
    refused, unless its idempotency id is taken, which D2 then answers. The key's view was remembered (read by a
    refused message in a batch that committed), so the rules first saw no duplicate and refused: the engine asks
    the unit to confirm, and decides again on a view that shows it."""
    pair = Pair(tmp_path / "store.db", types=(IdentifierType.HS_PHONE_NUMBER,))
    stranger = email("someone@example.com")
    try:
        pair.same(publish("wamid.1"))
        refused = pair.same([publish("wamid.2", sender=stranger), publish("wamid.3")])[0][0]
        assert refused[0] is ValidationError and refused[-1] == "V5"
        answers = pair.same(publish("wamid.1", sender=stranger), publish("wamid.4", sender=stranger), publish("n"))
        assert answers[0][0] is IdempotencyConflictError and answers[0][-1] == "D2"
        assert answers[1][0] is ValidationError and answers[1][-1] == "V5"
        assert answers[2].message_id == "message-3"
    finally:
        pair.close()


def test_d1_duplicates_within_one_batch_on_remembered_keys(pair: Pair) -> None:
    """A batch that repeats its own idempotency ids, on keys remembered from the batch before: each repeat finds
    its original through the index and is decided again, without a retry of the batch."""
    pair.same([publish("a"), publish("b", sender=B)])
    batch = [
        publish("c"),
        publish("c"),
        publish("d", sender=B),
        publish("a", sender=B),
        publish("c", "x"),
        publish("e"),
    ]
    answers = pair.same(batch)
    assert [getattr(a, "outcome", None) and a.outcome.value for a in answers[0]] == [
        "APPENDED",
        "DUPLICATE",
        "APPENDED",
        None,  # D2: "a" was A's message, sent again as B's
        None,  # D2: "c" again with another text
        "APPENDED",
    ]


def test_d1_a_unit_confirms_a_view_only_when_the_idempotency_id_is_free(pair: Pair) -> None:
    """``confirm_not_duplicate``, which the engine asks before a rejection stands: ``False`` (and the duplicate in
    the next load) for a taken id the remembered view left out; ``True`` for a free one, or a view read whole."""
    pair.same(publish("wamid.1"), publish(None))
    repository = pair.sqlite.repository
    assert isinstance(repository, SQLiteRepository)
    account = pair.sqlite.channel_account(ACCOUNT)
    channel = pair.sqlite.channel(account.channel_id)

    def query(idempotency_id: str) -> ViewQuery:
        return plan(publish(idempotency_id), account, channel)

    with repository.unit_of_work() as unit:
        assert unit.load_deferring_duplicate(query("wamid.9")).duplicate is None
        assert unit.confirm_not_duplicate(query("wamid.9"))
        assert unit.load_deferring_duplicate(query("wamid.1")).duplicate is None  # left out
        assert not unit.confirm_not_duplicate(query("wamid.1"))
        found = unit.load_deferring_duplicate(query("wamid.1")).duplicate
        assert found is not None and found.id == "message-1"
        assert unit.confirm_not_duplicate(query("wamid.1"))  # that view was read whole
        assert unit.load(query("wamid.1")).duplicate == found  # load itself never leaves one out


def test_d1_a_store_that_remembers_no_views_defers_nothing(tmp_path: Path) -> None:
    assert SQLiteRepository(str(tmp_path / "a.db")).defers_duplicates
    assert not SQLiteRepository(str(tmp_path / "b.db"), view_cache_size=0).defers_duplicates


_SENDERS = st.sampled_from([A, B, C])
_IDS = st.none() | st.sampled_from(["x", "y", "z"])
_publishes = st.builds(publish, _IDS, st.sampled_from(["hello", "again"]), _SENDERS)
_steps = st.lists(
    st.one_of(
        _publishes,
        st.lists(_publishes, min_size=1, max_size=5),
        st.sampled_from([CloseThread("thread-1"), CloseThread("thread-2")]),
        st.sampled_from([timedelta(minutes=5), timedelta(days=2)]),
    ),
    max_size=12,
)


@settings(deadline=None)
@given(steps=_steps)
def test_d1_random_retries_answer_as_the_memory_store_does(tmp_path_factory: Any, steps: list[Any]) -> None:
    """Retries, repeated ids within batches, other texts and closed threads, on keys remembered or not: the same
    answers, ids, events and stored state as the memory store."""
    pair = Pair(tmp_path_factory.mktemp("deferred") / "store.db")
    try:
        for step in steps:
            if isinstance(step, timedelta):
                pair.clock.advance(step)
            else:
                pair.same(step)
    finally:
        pair.close()


def test_d1_an_engine_without_fast_paths_asks_before_deciding(tmp_path: Path) -> None:
    """With fast paths off the engine loads every view whole (``test_fast_paths.py`` compares the two)."""
    repository = SQLiteRepository(str(tmp_path / "store.db"))
    engine = Engine(repository, clock=Clock(), ids=SequentialIds(), fast_paths=False)
    try:
        connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)
        statements: list[str] = []
        engine.execute(publish("wamid.1"))
        repository._connection.set_trace_callback(statements.append)
        assert engine.execute(publish("wamid.1")).outcome.value == "DUPLICATE"
        repository._connection.set_trace_callback(None)
        assert any(s.startswith("SELECT 1 FROM messages") for s in statements)
        assert not any(s.startswith("INSERT") for s in statements)
    finally:
        engine.close()


def test_d1_a_store_whose_messages_are_mostly_retries_asks_about_every_id_again(pair: Pair) -> None:
    """Deferring costs a retry far more than it saves a new message (``viewcache.py``): once more than one id in
    DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN turns out taken, the store asks before deciding, and no insert fails; a
    run of new messages later, it defers again."""
    repository = pair.sqlite.repository
    assert isinstance(repository, SQLiteRepository)
    pair.same(publish("wamid.1"), publish(None))
    statements: list[str] = []
    repository._connection.set_trace_callback(statements.append)

    def asked() -> int:
        count = sum(s.startswith("SELECT 1 FROM messages") for s in statements)
        statements.clear()
        return count

    pair.same(publish("wamid.1"))  # found by the index: the first of its kind costs a failed insert
    assert asked() == 1  # the decision again, on a view read with its duplicate
    pair.same(*[publish("wamid.1") for _ in range(5)])
    assert asked() == 5  # asked first, each time
    pair.same(*[publish(f"new.{n}") for n in range(DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN * 6)])
    asked()
    pair.same(publish("newer"))
    assert asked() == 0  # deferred again
    repository._connection.set_trace_callback(None)
