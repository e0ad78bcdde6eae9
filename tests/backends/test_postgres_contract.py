"""The PostgreSQL backend against the repository contract, plus what only it has: migrations, store URLs,
connections and pools supplied by the caller, and the translation of driver errors."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from threading_engine.identifiers import thread_key

psycopg = pytest.importorskip("psycopg")
psycopg_pool = pytest.importorskip("psycopg_pool")

from threading_engine import (  # noqa: E402
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    ThreadingModel,
    open_repository,
)
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402
from threading_engine.backends.postgres.connections import translate  # noqa: E402
from threading_engine.backends.postgres.migrations import SCHEMA_VERSION  # noqa: E402
from threading_engine.errors import StorageError, ValidationError, WriteConflict  # noqa: E402
from threading_engine.repository import Repository  # noqa: E402
from threading_engine.testing.conformance import RepositoryContract  # noqa: E402

pytestmark = pytest.mark.postgres


class TestPostgres(RepositoryContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_url: str, new_schema: Callable[[], str]) -> None:
        self.url = postgres_url
        self.new_schema = new_schema

    def make_repository(self) -> Repository:
        return PostgresRepository(self.url, schema=self.new_schema(), max_size=2)


def _engine_round(engine: Engine) -> str:
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    account_id = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+1555")
    ).channel_account_id
    assert account_id is not None
    ana = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460001")
    result = engine.publish_message(account_id, direction=Direction.INCOMING, senders=[ana], text="hi")
    assert result.outcome is Outcome.CREATED and result.thread_id is not None
    return account_id


def test_store_urls_name_the_server_and_the_schema(postgres_url: str, postgres_schema: str) -> None:
    repository = open_repository(f"{postgres_url}?schema={postgres_schema}")
    assert isinstance(repository, PostgresRepository) and repository.schema == postgres_schema
    _engine_round(Engine(repository))
    repository.close()
    other = open_repository(f"postgres://{postgres_url.split('://', 1)[1]}?schema={postgres_schema}&view_cache=0")
    assert len(other.list_threads()) == 1
    assert isinstance(other, PostgresRepository) and other.remembered_views.size == 0
    other.close()
    with pytest.raises(ValidationError, match="view_cache"):
        open_repository(f"{postgres_url}?schema={postgres_schema}&view_cache=-1")
    with pytest.raises(ValidationError, match="schema"):
        open_repository(f"{postgres_url}?schema=Not-A-Schema")
    with pytest.raises(ValidationError, match=r"\*\*\*") as refused:
        open_repository("postgresql://user:secret@127.0.0.1/test?schema=a&schema=b")
    assert "secret" not in str(refused.value)


def test_libpq_options_in_a_store_url_keep_their_spaces(postgres_url: str, postgres_schema: str) -> None:
    """``options=-c%20synchronous_commit%3Doff`` is libpq's form; a space must not come through as ``+``."""
    options = "options=-c%20synchronous_commit%3Doff"
    repository = open_repository(f"{postgres_url}?schema={postgres_schema}&{options}")
    assert isinstance(repository, PostgresRepository)
    try:
        _engine_round(Engine(repository))
        assert repository._rows("SHOW synchronous_commit", ()) == [("off",)]
    finally:
        repository.close()


def test_a_caller_supplied_connection_or_pool_is_used_and_left_open(postgres_url: str, postgres_schema: str) -> None:
    connection = psycopg.connect(postgres_url)  # not in autocommit mode: the repository switches it
    repository = PostgresRepository(connection, schema=postgres_schema)
    _engine_round(Engine(repository))
    repository.close()
    assert not connection.closed
    connection.close()
    with pytest.raises(StorageError, match="closed"), repository.unit_of_work():
        pass
    with psycopg_pool.ConnectionPool(postgres_url, min_size=1, max_size=2, open=True) as pool:
        pooled = PostgresRepository(pool, schema=postgres_schema)
        assert len(pooled.list_threads()) == 1
        pooled.close()
        assert not pool.closed


def test_migrations_run_once_when_many_processes_open_a_new_schema_at_once(
    postgres_url: str, postgres_schema: str
) -> None:
    opened: list[PostgresRepository] = []

    def open_one() -> None:
        opened.append(PostgresRepository(postgres_url, schema=postgres_schema, max_size=1))

    openers = [threading.Thread(target=open_one) for _ in range(6)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join()
    assert len(opened) == 6
    with psycopg.connect(postgres_url) as connection:
        versions = connection.execute(f'SELECT version FROM "{postgres_schema}".schema_version').fetchall()
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
        connection.execute(
            f'INSERT INTO "{postgres_schema}".schema_version (version) VALUES (%s)', (SCHEMA_VERSION + 1,)
        )
    for repository in opened:
        repository.close()
    with pytest.raises(StorageError, match="newer than this library"):
        PostgresRepository(postgres_url, schema=postgres_schema)


def test_an_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot open the PostgreSQL store"):
        PostgresRepository("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2)


@pytest.mark.parametrize("lent", [False, True], ids=["own pool", "lent connection"])
def test_a_key_lock_held_too_long_is_a_lost_race_then_a_clear_error(
    postgres_url: str, postgres_schema: str, lent: bool
) -> None:
    """55P03 (lock_timeout) is retried like any lost race; when retries run out the error says why.

    The repository's own pool sets lock_timeout per session; a lent connection gets it per transaction, and
    its session keeps its own setting."""
    connection = psycopg.connect(postgres_url, autocommit=True) if lent else None
    repository = PostgresRepository(connection or postgres_url, schema=postgres_schema, lock_timeout=0.05)
    engine = Engine(repository, max_attempts=2)
    account_id = _engine_round(engine)
    key = thread_key([DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460001")])
    with psycopg.connect(postgres_url) as holder:
        holder.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"{postgres_schema}\x1f{account_id}\x1fkey\x1f{key}",),
        )
        with pytest.raises(StorageError, match=r"gave up after 2 attempts.*lock_timeout"):
            engine.publish_message(
                account_id,
                direction=Direction.INCOMING,
                senders=[DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460001")],
                text="waits",
            )
    assert len(repository.list_messages()) == 1
    engine.close()
    if connection is not None:
        assert connection.execute("SHOW lock_timeout").fetchone() == ("0",)
        connection.close()


@pytest.mark.parametrize(
    ("error", "nothing_sent", "expected"),
    [
        (psycopg.errors.UniqueViolation(), False, StorageError),  # names no U1-U4 constraint: no lost race
        (psycopg.errors.SerializationFailure(), False, WriteConflict),
        (psycopg.errors.DeadlockDetected(), False, WriteConflict),
        (psycopg.errors.LockNotAvailable(), False, WriteConflict),
        (psycopg.errors.AdminShutdown(), True, WriteConflict),
        (psycopg.errors.AdminShutdown(), False, StorageError),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True, WriteConflict),
        (psycopg.errors.UndefinedTable(), True, StorageError),
        (psycopg_pool.PoolTimeout(), True, StorageError),
    ],
)
def test_driver_errors_become_the_librarys_errors(error: Exception, nothing_sent: bool, expected: type) -> None:
    translated = translate(error, nothing_sent=nothing_sent)
    assert type(translated) is expected


def test_importing_the_library_loads_no_driver() -> None:
    code = "import sys, threading_engine; sys.exit('psycopg' in sys.modules or 'psycopg_pool' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
