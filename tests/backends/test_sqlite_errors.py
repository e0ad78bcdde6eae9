"""SQLite failures become the library's errors: a lost race is a WriteConflict the engine retries, anything
else a StorageError; misuse of a unit of work is a RuntimeError at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from threading_engine import StorageError, WriteConflict
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.backends.sqlite.schema import SCHEMA_VERSION
from threading_engine.decisions import Changes
from threading_engine.testing.contract_checks import ACCOUNT, CHANNEL, commit, thread


def test_only_full_and_normal_synchronous_modes_are_offered(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteRepository(str(tmp_path / "store.db"), synchronous="OFF")  # type: ignore[arg-type]


def test_a_store_written_by_a_newer_library_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SQLiteRepository(str(path)).close()
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError, match="newer than this library"):
        SQLiteRepository(str(path))


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the pages of a database " * 200)
    with pytest.raises(StorageError, match="SQLite failed"):
        SQLiteRepository(str(path))


def test_a_database_locked_past_the_busy_timeout_is_a_lost_race(tmp_path: Path) -> None:
    """Another process holding the write lock too long: the engine retries the whole unit (WriteConflict)."""
    path = tmp_path / "store.db"
    repository = SQLiteRepository(str(path), busy_timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(WriteConflict, match="locked"), repository.unit_of_work():
            pass
        other.execute("ROLLBACK")
        commit(repository, Changes(channel=CHANNEL, account=ACCOUNT))
    finally:
        other.close()
        repository.close()


def test_a_failing_statement_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    repository = SQLiteRepository(str(path))
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE threads")
    with pytest.raises(StorageError, match="SQLite failed"):
        repository.list_threads()
    repository.close()


def test_a_unit_of_work_is_not_used_after_it_commits(tmp_path: Path) -> None:
    repository = SQLiteRepository(str(tmp_path / "store.db"))
    commit(repository, Changes(channel=CHANNEL, account=ACCOUNT))
    with repository.unit_of_work() as unit:
        unit.save(Changes(threads=(thread("thread-1"),)), [])
        unit.commit()
        with pytest.raises(RuntimeError, match="committed"):
            unit.save(Changes(threads=(thread("thread-2"),)), [])
        with pytest.raises(RuntimeError, match="at most once"):
            unit.commit()
    assert [t.id for t in repository.list_threads()] == ["thread-1"]
    repository.close()
