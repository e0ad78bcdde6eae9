"""The views a SQLite store remembers between transactions (``viewcache.py``) are never older than the file.

Each test first makes the store remember a key's view (a second message on a key is answered from memory),
then changes what that view shows in a way the remembered copy could miss, and checks that the next message is
threaded as the file says (R1, R4, V5, D1).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from helpers import A, B, C, Clock, World, connect

from threading_engine import Engine, NotAllowedError, Outcome, SequentialIds, StorageError, ThreadingModel
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.decisions import Changes, ViewQuery
from threading_engine.model import ThreadStatus


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def world(path: Path) -> Iterator[World]:
    """A delivery-identifier channel on a SQLite file, with A's thread open and its view remembered."""
    clock = Clock()
    engine = Engine(SQLiteRepository(str(path)), clock=clock, ids=SequentialIds())
    channel_id, account_id = connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)
    world = World(engine, clock, channel_id, account_id, engine.channel_account(account_id).delivery_identifier)
    assert world.incoming(A).outcome is Outcome.CREATED
    assert world.incoming(A).outcome is Outcome.APPENDED
    assert _remembered(engine) == 1
    yield world
    engine.close()


def _remembered(engine: Engine) -> int:
    repository = engine.repository
    assert isinstance(repository, SQLiteRepository)
    return len(repository._views)


def test_r4_a_thread_closed_through_another_connection_is_reopened_not_appended_to(world: World, path: Path) -> None:
    """Another process closes the thread: this store's memory of it as open must not survive that commit."""
    thread_id = world.incoming(A).thread_id
    assert thread_id is not None
    other = Engine(SQLiteRepository(str(path)), clock=world.clock)  # its own ids: U0 refuses repeated ones
    try:
        assert other.close_thread(thread_id).outcome is Outcome.CHANGED
    finally:
        other.close()
    result = world.incoming(A)
    assert (result.outcome, result.thread_id) == (Outcome.REOPENED, thread_id)


def test_r2_a_thread_archived_by_a_foreign_writer_is_not_appended_to(world: World, path: Path) -> None:
    """A writer that is not even this library archives the thread: the next message starts a new one."""
    thread_id = world.incoming(A).thread_id
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE threads SET archived = 1, status = 'CLOSED', closed_at = 1 WHERE id = ?", (thread_id,))
    result = world.incoming(A)
    assert result.outcome is Outcome.CREATED and result.thread_id != thread_id


def test_v5_an_account_no_longer_authorized_refuses_the_next_message(world: World) -> None:
    """A changed account makes every remembered view stale, the account's own included."""
    world.engine.update_channel_account(world.account_id, authorized=False)
    with pytest.raises(NotAllowedError, match="not authorized"):
        world.incoming(A)


def test_r1_what_a_unit_saved_without_committing_is_not_remembered(world: World) -> None:
    """A unit that saves a closed thread and then rolls back: the thread is still open, and appended to."""
    engine = world.engine
    thread = engine.thread(world.incoming(A).thread_id or "")
    repository = engine.repository
    key = ViewQuery(channel_account_id=world.account_id, key=thread.key)
    with repository.unit_of_work() as unit:
        assert unit.load(key).open_thread == thread
        closed = attrs.evolve(thread, status=ThreadStatus.CLOSED, closed_at=world.clock.now)
        unit.save(Changes(threads=(closed,)), ())
        assert unit.load(key).open_thread is None  # inside the unit, the save shows
    result = world.incoming(A)
    assert (result.outcome, result.thread_id) == (Outcome.APPENDED, thread.id)


def test_an_append_saved_without_committing_is_not_remembered(world: World) -> None:
    """The thread as a rolled-back unit left it in memory would make the next append skip writing its time."""
    engine = world.engine
    thread = engine.thread(world.incoming(A).thread_id or "")
    later = world.clock.now + timedelta(minutes=1)
    with engine.repository.unit_of_work() as unit:
        unit.load(ViewQuery(channel_account_id=world.account_id, key=thread.key))
        unit.save(Changes(threads=(attrs.evolve(thread, latest_message_at=later),)), ())
    world.clock.set(later)
    assert world.incoming(A).outcome is Outcome.APPENDED
    assert engine.thread(thread.id).latest_message_at == later


class _Fails:
    """A connection on which one statement fails as a full disk would, with everything else passed through."""

    def __init__(self, connection: sqlite3.Connection, failing: str) -> None:
        self._connection = connection
        self._failing = failing

    def execute(self, sql: str, *parameters: Any) -> sqlite3.Cursor:
        if sql == self._failing:
            raise sqlite3.OperationalError("database or disk is full")
        return self._connection.execute(sql, *parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def _fails_once(world: World, statement: str, send: Callable[[], object]) -> sqlite3.Connection:
    """Run ``send`` while ``statement`` fails on the store's connection (it must raise); the connection after."""
    repository = world.engine.repository
    assert isinstance(repository, SQLiteRepository)
    connection = repository._connection
    repository._connection = _Fails(connection, statement)  # type: ignore[assignment]
    try:
        with pytest.raises(StorageError, match="disk is full"):
            send()
    finally:
        repository._connection = connection
    return connection


def test_d1_a_failed_commit_forgets_every_remembered_view(world: World) -> None:
    _fails_once(world, "COMMIT", lambda: world.incoming(A, idempotency_id="retried"))
    assert _remembered(world.engine) == 0
    assert world.incoming(A, idempotency_id="retried").outcome is Outcome.APPENDED  # the first never landed
    assert world.incoming(A, idempotency_id="retried").outcome is Outcome.DUPLICATE


def test_a_failure_right_after_begin_leaves_no_transaction_open(world: World) -> None:
    """Reading ``data_version`` fails: the transaction BEGIN opened is rolled back, and the next command runs."""
    connection = _fails_once(world, "PRAGMA data_version", lambda: world.incoming(A))
    assert not connection.in_transaction
    assert world.incoming(A).outcome is Outcome.APPENDED


def test_d1_a_remembered_view_still_finds_the_duplicate(world: World) -> None:
    """The view is remembered, the idempotency id is not: a retry is answered DUPLICATE, on its first thread."""
    first = world.incoming(A, idempotency_id="wamid.1")
    again = world.incoming(A, idempotency_id="wamid.1")
    assert (again.outcome, again.message_id, again.thread_id) == (Outcome.DUPLICATE, first.message_id, first.thread_id)


def test_a_store_remembers_at_most_its_view_cache_size(path: Path) -> None:
    clock = Clock()
    engine = Engine(SQLiteRepository(str(path), view_cache_size=2), clock=clock, ids=SequentialIds())
    channel_id, account_id = connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)
    world = World(engine, clock, channel_id, account_id, engine.channel_account(account_id).delivery_identifier)
    threads = [world.incoming(customer).thread_id for customer in (A, B, C)]
    assert _remembered(engine) == 2
    assert [world.incoming(customer).thread_id for customer in (A, B, C)] == threads
    engine.close()


def test_a_view_cache_size_of_zero_remembers_nothing(path: Path) -> None:
    engine = Engine(SQLiteRepository(str(path), view_cache_size=0), clock=Clock(), ids=SequentialIds())
    channel_id, account_id = connect(engine, ThreadingModel.DELIVERY_IDENTIFIER)
    world = World(engine, Clock(), channel_id, account_id, engine.channel_account(account_id).delivery_identifier)
    assert [world.incoming(A).outcome for _ in range(2)] == [Outcome.CREATED, Outcome.APPENDED]
    assert _remembered(engine) == 0
    engine.close()
    with pytest.raises(ValueError, match="negative"):
        SQLiteRepository(str(path), view_cache_size=-1)


def test_r4_a_message_on_a_remembered_key_reads_nothing_and_writes_its_message_first(world: World) -> None:
    """What the cache saves: no statement reads a key whose view is remembered, not even whether the message's
    idempotency id is taken (D1): the unique index answers that, and the message is inserted first so that a
    duplicate is found before anything else is written (``test_sqlite_deferred_duplicates.py``)."""
    repository = world.engine.repository
    assert isinstance(repository, SQLiteRepository)
    statements: list[str] = []
    world.clock.advance(timedelta(minutes=1))  # so that the thread's latest-message time changes
    repository._connection.set_trace_callback(statements.append)
    assert world.incoming(A, idempotency_id="wamid.9").outcome is Outcome.APPENDED
    repository._connection.set_trace_callback(None)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == []
    writes = [" ".join(s.split()[:3]) for s in statements if s.split()[0] in ("INSERT", "UPDATE")]
    assert writes == ["INSERT INTO messages", "UPDATE threads SET", "INSERT INTO events"], writes
