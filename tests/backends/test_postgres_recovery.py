"""Recovery paths of the PostgreSQL backend, each driven deterministically.

``test_postgres_faults`` kills sessions at random moments; these tests put the store in each situation on
purpose: a pooled connection that died while idle, and a COMMIT whose outcome must be settled by asking the
server (it landed, it did not, or the old session is still busy and nobody can tell yet).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

psycopg = pytest.importorskip("psycopg")

from threading_engine import Direction, Engine, StorageError, WriteConflict  # noqa: E402
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402
from threading_engine.decisions import Changes  # noqa: E402
from threading_engine.events import MessageAppended  # noqa: E402
from threading_engine.model import Message, MessageOrigin, Participant  # noqa: E402
from threading_engine.repository import PendingEvent  # noqa: E402
from threading_engine.testing.contract_checks import ACCOUNT, CHANNEL, CUSTOMER  # noqa: E402
from threading_engine.testing.contract_checks import commit as commit_changes  # noqa: E402

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOST = psycopg.OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def repository(postgres_url: str, postgres_schema: str) -> Iterator[PostgresRepository]:
    repository = PostgresRepository(postgres_url, schema=postgres_schema, min_size=1, max_size=1, lock_timeout=0.5)
    commit_changes(repository, Changes(channel=CHANNEL, account=ACCOUNT))
    yield repository
    repository.close()


def unsaved_message(message_id: str) -> Message:
    return Message(
        id=message_id,
        thread_id="thread-1",
        channel_account_id=ACCOUNT.id,
        direction=Direction.INCOMING,
        senders=(Participant(CUSTOMER),),
        recipients=(Participant(ACCOUNT.delivery_identifier),),
        text="hello",
        timestamp=T0,
        received_at=T0,
        origin=MessageOrigin.INTEGRATION,
    )


def a_finished_session(postgres_url: str) -> int:
    """The pid of a session that has ended: its transaction can no longer commit."""
    with psycopg.connect(postgres_url) as connection:
        pid: int = connection.info.backend_pid
        return pid


@pytest.mark.parametrize("setting", ["lock_timeout", "pool_timeout"])
def test_timeouts_must_be_positive(postgres_url: str, postgres_schema: str, setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        PostgresRepository(postgres_url, schema=postgres_schema, **{setting: 0})


def test_a_pool_with_no_free_connection_in_time_is_a_storage_error(postgres_url: str, postgres_schema: str) -> None:
    """``pool_timeout`` bounds the wait for a connection; the error says what to change, and nothing is written."""
    repository = PostgresRepository(postgres_url, schema=postgres_schema, max_size=1, pool_timeout=0.2)
    try:
        with repository.unit_of_work():  # holds the pool's only connection
            started = time.monotonic()
            with pytest.raises(StorageError, match=r"no PostgreSQL connection became free in time \(raise max_size"):
                repository.get_channel(CHANNEL.id)
            assert 0.2 <= time.monotonic() - started < 5
        assert repository.get_channel(CHANNEL.id) is None  # the connection is free again
    finally:
        repository.close()


def test_a_read_survives_a_pooled_connection_that_died_while_idle(
    repository: PostgresRepository, postgres_url: str
) -> None:
    """Reads are idempotent, so the backend retries one on a fresh connection instead of failing."""
    with repository.unit_of_work() as unit:  # the pool's one connection: note its session
        pid = unit._connection.info.backend_pid
    with psycopg.connect(postgres_url, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert [channel.id for channel in repository.list_channels()] == [CHANNEL.id]


def test_a_lost_commit_whose_events_never_landed_is_a_write_conflict(
    repository: PostgresRepository, postgres_url: str
) -> None:
    """Not committed: the engine may retry the whole unit on fresh state."""
    event = PendingEvent("event-never-stored", T0, MessageAppended("thread-1", "R4", "message-1", Direction.INCOMING))
    with pytest.raises(WriteConflict, match="did not take effect"):
        repository._connections.settle_lost_commit(a_finished_session(postgres_url), [event], None, LOST)


def test_a_lost_commit_of_a_message_alone_is_settled_by_looking_for_the_message(
    repository: PostgresRepository, postgres_url: str
) -> None:
    with pytest.raises(WriteConflict):
        repository._connections.settle_lost_commit(
            a_finished_session(postgres_url), [], unsaved_message("message-9"), LOST
        )
    engine = Engine(repository)
    landed = engine.publish_message(ACCOUNT.id, direction=Direction.INCOMING, senders=[CUSTOMER], text="hi")
    stored = repository.get_message(landed.message_id or "")
    assert stored is not None
    assert repository._connections.settle_lost_commit(a_finished_session(postgres_url), [], stored, LOST) == ()


def test_a_lost_commit_is_unknown_while_the_old_session_is_still_in_its_transaction(
    repository: PostgresRepository, postgres_url: str
) -> None:
    """The old session could still commit: the backend must not guess, so it reports a StorageError."""
    with psycopg.connect(postgres_url) as still_busy:
        still_busy.execute("SELECT 1")  # now idle in transaction
        with pytest.raises(StorageError, match="outcome is unknown"):
            repository._connections.settle_lost_commit(still_busy.info.backend_pid, [], None, LOST)


def test_a_repository_on_one_connection_settles_on_a_connection_of_its_own(
    postgres_url: str, postgres_schema: str
) -> None:
    with psycopg.connect(postgres_url) as given:
        repository = PostgresRepository(given, schema=postgres_schema)
        with pytest.raises(WriteConflict):
            repository._connections.settle_lost_commit(
                a_finished_session(postgres_url), [], unsaved_message("message-1"), LOST
            )
        repository.close()
        assert not given.closed


def test_a_read_that_fails_for_another_reason_is_a_storage_error_at_once(
    repository: PostgresRepository, postgres_url: str, postgres_schema: str
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA "{postgres_schema}" CASCADE')
    with pytest.raises(StorageError):
        repository.list_threads()
