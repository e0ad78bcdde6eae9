"""Only the uniqueness rules a concurrent writer can break (U1-U4) are lost races (WriteConflict, retried);
any other refused row is a StorageError at once, naming what collided (U0: ids are unique).

Both SQL backends recognise U1-U4 by the index or constraint that refused the row, never by the kind of error
alone: an id collision (two engines with sequential ids on one store, as a replay run twice makes) used to be
retried ten times and reported as lost to concurrent writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from threading_engine import Direction, Engine, Participant, PublishMessage, SequentialIds, StorageError, WriteConflict
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.backends.sqlite.schema import CONFLICTS, INSERTED_IDS
from threading_engine.backends.sqlite.translation import translate as sqlite_translate
from threading_engine.repository import Repository

from .three_stores import CUSTOMER, TrioFactory, set_up

pytestmark = pytest.mark.postgres


class CollidingIds:
    """Fresh ids, except that messages get ``message_ids`` in turn."""

    def __init__(self, message_ids: list[str]) -> None:
        self.message_ids = iter(message_ids)
        self.fresh = SequentialIds()

    def __call__(self, kind: str) -> str:
        return next(self.message_ids) if kind == "message" else f"fresh-{self.fresh(kind)}"


def counting_units(repository: Repository) -> list[int]:
    """Counts the units of work ``repository`` opens from now on: one per attempt of a command."""
    opened: list[int] = []
    original = repository.unit_of_work

    def unit_of_work() -> object:
        opened.append(1)
        return original()

    repository.unit_of_work = unit_of_work  # type: ignore[method-assign,assignment]
    return opened


def test_u0_the_same_sequential_ids_twice_onto_one_store_is_a_storage_error_at_once(trios: TrioFactory) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        for engine in trio.engines:
            again = Engine(engine.repository, clock=trio.clock, ids=SequentialIds())  # starts at event-1 again
            before = [engine.repository.list_channels(), engine.repository.read_events()]
            opened = counting_units(engine.repository)
            with pytest.raises(StorageError) as raised:
                again.create_channel("Another", engine.repository.list_channels()[0].capabilities)
            assert type(raised.value) is StorageError and len(opened) == 1  # no retry
            assert (raised.value.code, raised.value.field, raised.value.value, raised.value.rule) == (
                "STORAGE_ERROR",
                "eventId",
                "event-1",
                "U0",
            )
            assert "already taken" in raised.value.message and "gave up" not in raised.value.message
            assert [engine.repository.list_channels(), engine.repository.read_events()] == before


def test_u0_a_collision_in_a_batch_fails_the_batch_whole(trios: TrioFactory) -> None:
    """``execute_many`` raises the StorageError for the batch itself: no command of it is kept, not even the
    ones before the collision (on SQLite a half-written save would otherwise commit with them)."""
    with trios.fresh() as trio:
        set_up(trio)
        for engine in trio.engines:
            before = engine.repository.list_messages()
            ids = CollidingIds(["message-new", "message-1"])  # message-1 is taken: set_up stored it
            batch = [
                PublishMessage("account-1", Direction.INCOMING, (Participant(CUSTOMER),), "second"),
                PublishMessage("account-1", Direction.INCOMING, (Participant(CUSTOMER),), "third"),
            ]
            with pytest.raises(StorageError) as raised:
                Engine(engine.repository, clock=trio.clock, ids=ids).execute_many(batch)
            assert (raised.value.field, raised.value.value, raised.value.rule) == ("messageId", "message-1", "U0")
            assert engine.repository.list_messages() == before


def violations(connection: sqlite3.Connection) -> dict[str, Callable[[], object]]:
    """A statement breaking each unique index of the SQLite schema, by the columns SQLite reports."""
    execute = connection.execute
    thread = "INSERT INTO threads (id, account_id, key, status, archived, created_at, integration_thread_id) VALUES"
    message = "INSERT INTO messages (id, thread_id, account_id, idempotency_id, data) VALUES"
    # An account's document is JSON: the paged reads' columns are computed from it (schema version 3).
    account = "INSERT INTO accounts (id, channel_id, identifier_type, identifier_value, data) VALUES"
    execute(f"{thread} ('t1', 'a1', 'k', 'OPEN', 0, 0, NULL)")
    execute(f"{thread} ('t2', 'a1', 'k', 'CLOSED', 0, 0, 'conv')")
    execute(f"{message} ('m1', 't1', 'a1', 'i', '')")
    execute(f"{account} ('a1', 'c', 'T', 'v', '{{}}')")
    execute("INSERT INTO events (event_id, data) VALUES ('e1', '')")
    return {
        "threads.account_id, threads.key": lambda: execute(f"{thread} ('t3', 'a1', 'k', 'OPEN', 0, 0, NULL)"),
        "messages.account_id, messages.idempotency_id": lambda: execute(f"{message} ('m2', 't1', 'a1', 'i', '')"),
        "threads.account_id, threads.integration_thread_id": lambda: execute(
            f"{thread} ('t4', 'a1', 'k', 'CLOSED', 0, 0, 'conv')"
        ),
        "accounts.channel_id, accounts.identifier_type, accounts.identifier_value": lambda: execute(
            f"{account} ('a2', 'c', 'T', 'v', '{{}}')"
        ),
        "messages.id": lambda: execute(f"{message} ('m1', 't1', 'a1', NULL, '')"),
        "events.event_id": lambda: execute("INSERT INTO events (event_id, data) VALUES ('e1', '')"),
    }


def test_sqlite_recognises_each_uniqueness_rule_by_the_index_that_refused_the_row(tmp_path: Path) -> None:
    SQLiteRepository(str(tmp_path / "store.db")).close()
    with sqlite3.connect(tmp_path / "store.db") as connection:
        for columns, breaks in violations(connection).items():
            with pytest.raises(sqlite3.IntegrityError) as raised:
                breaks()
            assert str(raised.value) == f"UNIQUE constraint failed: {columns}"
            translated = sqlite_translate(raised.value, "the-id")
            if columns in CONFLICTS:
                rule, index = CONFLICTS[columns]
                assert type(translated) is WriteConflict and translated.rule == rule and index in str(translated)
                indexed = [row[2] for row in connection.execute(f"PRAGMA index_info({index})")]
                names = [name.split(".")[1] for name in columns.split(", ")]
                assert indexed == names or index == "accounts_one_per_identifier"
            else:
                assert type(translated) is StorageError
                assert (translated.field, translated.value, translated.rule) == (INSERTED_IDS[columns], "the-id", "U0")
        with pytest.raises(sqlite3.IntegrityError) as refused:
            connection.execute("UPDATE threads SET status = 'LOST' WHERE id = 't1'")
        translated = sqlite_translate(refused.value)
        assert type(translated) is StorageError and translated.rule is None  # a CHECK: no race, no id


def test_postgresql_recognises_each_uniqueness_rule_by_its_constraint_name(
    postgres_url: str, postgres_schema: str
) -> None:
    import psycopg

    from threading_engine.backends.postgres import PostgresRepository
    from threading_engine.backends.postgres.connections import translate

    PostgresRepository(postgres_url, schema=postgres_schema).close()
    s = f'"{postgres_schema}"'
    thread = f"INSERT INTO {s}.threads (id, account_id, key, status, archived, created_at, integration_thread_id) "
    message = f"INSERT INTO {s}.messages (id, thread_id, account_id, idempotency_id, data) "
    account = f"INSERT INTO {s}.accounts (id, channel_id, identifier_type, identifier_value, data) "
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"{thread} VALUES ('t1', 'a1', 'k', 'OPEN', 0, 0, NULL)")
        connection.execute(f"{thread} VALUES ('t2', 'a1', 'k', 'CLOSED', 0, 0, 'conv')")
        connection.execute(f"{message} VALUES ('m1', 't1', 'a1', 'i', '')")
        connection.execute(f"{account} VALUES ('a1', 'c', 'T', 'v', '{{}}')")
        cases: list[tuple[str, type, str | None, str | None]] = [
            (f"{thread} VALUES ('t3', 'a1', 'k', 'OPEN', 0, 0, NULL)", WriteConflict, None, "U1"),
            (f"{message} VALUES ('m2', 't1', 'a1', 'i', '')", WriteConflict, None, "U2"),
            (f"{thread} VALUES ('t4', 'a1', 'k', 'CLOSED', 0, 0, 'conv')", WriteConflict, None, "U3"),
            (f"{account} VALUES ('a2', 'c', 'T', 'v', '{{}}')", WriteConflict, None, "U4"),
            (f"{message} VALUES ('m1', 't1', 'a1', NULL, '')", StorageError, "messageId", "U0"),
            (f"UPDATE {s}.threads SET status = 'LOST' WHERE id = 't1'", StorageError, None, None),
            (f"{thread} VALUES ('t1', 'a9', 'other', 'CLOSED', 0, 0, NULL)", StorageError, None, None),
        ]
        for statement, expected, field, rule in cases:
            with pytest.raises(psycopg.IntegrityError) as raised:
                connection.execute(statement)
            translated = translate(raised.value)
            assert (type(translated), translated.field, translated.rule) == (expected, field, rule), statement
        assert translate(psycopg.errors.UniqueViolation()).rule is None


def test_a_postgresql_target_or_schema_that_names_no_store_is_a_validation_error() -> None:
    """Given straight to ``PostgresRepository`` (no store URL): refused before connecting, no password shown."""
    from threading_engine import ValidationError
    from threading_engine.backends.postgres import PostgresRepository

    for target, schema, field in (
        ("postgresql://user:secret@[::1/test", "threading_engine", "target"),
        ("postgresql://127.0.0.1/test?nonsense=1", "threading_engine", "target"),
        ("postgresql://127.0.0.1/test", "public", "schema"),
        ("postgresql://127.0.0.1/test", "pg_toast", "schema"),
        ("postgresql://127.0.0.1/test", "Not Plain", "schema"),
    ):
        with pytest.raises(ValidationError) as raised:
            PostgresRepository(target, schema=schema)
        assert raised.value.field == field and "secret" not in raised.value.message
