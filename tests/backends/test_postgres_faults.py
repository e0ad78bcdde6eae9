"""Server connections killed in the middle of work: retried or refused clearly, never half-written.

``pg_terminate_backend`` ends sessions wherever they are: idle in the pool, waiting for a lock, inside a
pipeline, or with COMMIT in flight. The engine must then retry (the connection was lost before COMMIT, or
the commit is known not to have happened) or raise a clear :class:`StorageError`, and the store must hold
every change with all its events or none of it.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

psycopg = pytest.importorskip("psycopg")

from psycopg.conninfo import make_conninfo  # noqa: E402

from threading_engine import (  # noqa: E402
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    StorageError,
    ThreadingModel,
)
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402
from threading_engine.repository import Repository  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 3
THREADS = 2
OPERATIONS = 60
OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")

# (idempotency id, customer, outcome or None, message id or None, error text or None)
Report = tuple[str, int, str | None, str | None, str | None]


def customer(number: int) -> DeliveryIdentifier:
    return DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{number:02}")


def publish(engine: Engine, account_id: str, idempotency_id: str, number: int) -> tuple[str, str | None, str | None]:
    """Publish the message ``idempotency_id`` stands for; the outcome, message id and thread id."""
    result = engine.publish_message(
        account_id,
        direction=Direction.INCOMING,
        senders=[customer(number)],
        text=f"message {idempotency_id}",
        integration_idempotency_id=idempotency_id,
    )
    return result.outcome.value, result.message_id, result.thread_id


def work(conninfo: str, schema: str, account_id: str, process: int) -> list[Report]:
    """Publish and close threads while the test kills this process's sessions; report every outcome."""
    for attempt in range(1, 6):
        try:  # opening is not the engine's to retry: the test does, since it kills sessions from the start
            repository = PostgresRepository(conninfo, schema=schema, max_size=THREADS, lock_timeout=5)
            break
        except StorageError:
            if attempt == 5:
                raise
    engine = Engine(repository)
    reports: list[Report] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        rng = random.Random(process * 100 + thread)
        thread_ids: list[str] = []
        for step in range(OPERATIONS):
            number = rng.randrange(4)
            idempotency_id = f"p{process}-t{thread}-{step}"
            try:
                if thread_ids and rng.random() < 0.2:
                    engine.close_thread(rng.choice(thread_ids))
                    continue
                outcome, message_id, thread_id = publish(engine, account_id, idempotency_id, number)
                thread_ids.append(thread_id or "")
                report: Report = (idempotency_id, number, outcome, message_id, None)
            except StorageError as error:  # the one error a lost connection may surface as
                report = (idempotency_id, number, None, None, f"{error.code}: {error}")
            with lock:
                reports.append(report)

    workers = [threading.Thread(target=run, args=(thread,)) for thread in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.close()
    return reports


def kill_sessions(url: str, application_name: str, stop: threading.Event, killed: list[int]) -> None:
    """Terminate one of the workers' sessions every few milliseconds, until told to stop."""
    rng = random.Random(7)
    with psycopg.connect(url, autocommit=True) as connection:
        while not stop.is_set():
            pids = [
                pid
                for (pid,) in connection.execute(
                    # Sessions past their start-up: a pool whose new connections keep failing backs off for
                    # seconds, which would test the pool's patience rather than the repository.
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                    "AND backend_start < clock_timestamp() - interval '50 milliseconds'",
                    (application_name,),
                )
            ]
            if pids:
                victim = rng.choice(pids)
                connection.execute("SELECT pg_terminate_backend(%s)", (victim,))
                killed.append(victim)
            time.sleep(rng.uniform(0.005, 0.03))


def test_killed_sessions_are_retried_or_refused_and_nothing_is_half_written(
    postgres_url: str, postgres_schema: str, assert_consistent: Callable[[Repository], None]
) -> None:
    repository = PostgresRepository(postgres_url, schema=postgres_schema)
    engine = Engine(repository)
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    account_id = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", creates_tickets=True, delivery_identifier=OWN
    ).channel_account_id
    assert account_id is not None

    application_name = f"{postgres_schema}-victim"
    conninfo = make_conninfo(postgres_url, application_name=application_name)
    stop, killed = threading.Event(), list[int]()
    killer = threading.Thread(target=kill_sessions, args=(postgres_url, application_name, stop, killed))
    killer.start()
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
            futures = [pool.submit(work, conninfo, postgres_schema, account_id, p) for p in range(PROCESSES)]
            reports = [report for future in futures for report in future.result(timeout=100)]
    finally:
        stop.set()
        killer.join()

    assert len(killed) > 10, "the test did not kill enough sessions to mean anything"
    assert_consistent(repository)
    stored = {m.integration_idempotency_id: m for m in repository.list_messages()}
    refused = 0
    for idempotency_id, number, _outcome, message_id, error in reports:
        if error is None:
            # Acknowledged: stored once, as acknowledged.
            assert stored[idempotency_id].id == message_id
            continue
        refused += 1
        assert "STORAGE_ERROR" in error
        # Refused: stored whole or not at all; publishing again settles it either way (D1).
        again, again_id, _ = publish(engine, account_id, idempotency_id, number)
        if idempotency_id in stored:
            assert (again, again_id) == (Outcome.DUPLICATE.value, stored[idempotency_id].id)
        else:
            assert again != Outcome.DUPLICATE.value
    assert refused <= len(reports) // 4, "most work should survive lost connections by retrying"
    assert len(repository.list_messages()) == len({r[0] for r in reports})
    assert_consistent(repository)
    engine.close()


def test_a_connection_lost_with_commit_in_flight_is_settled_by_asking_the_server(
    postgres_url: str, postgres_schema: str
) -> None:
    """The commit pipeline is sent, then the session dies while waiting: the engine learns it did not commit."""
    repository = PostgresRepository(postgres_url, schema=postgres_schema, lock_timeout=5)
    engine = Engine(repository)
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    account_id = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", delivery_identifier=OWN
    ).channel_account_id
    assert account_id is not None
    outbox_lock = f"{postgres_schema}\x1foutbox"
    with psycopg.connect(postgres_url, autocommit=True) as blocker:
        # Hold the outbox alone, as a reader does, so the next commit waits inside its pipeline.
        blocker.execute("BEGIN")
        blocker.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (outbox_lock,))
        waiting: list[int] = []

        def terminate_the_waiting_writer() -> None:
            deadline = time.monotonic() + 10
            while not waiting and time.monotonic() < deadline:
                with psycopg.connect(postgres_url, autocommit=True) as watcher:
                    found = watcher.execute(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND mode = 'ShareLock' "
                        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                        "AND (classid::bigint << 32 | objid::bigint) = hashtextextended(%s, 0)",
                        (outbox_lock,),
                    ).fetchall()
                    for (pid,) in found:
                        watcher.execute("SELECT pg_terminate_backend(%s)", (pid,))
                        waiting.append(pid)
                time.sleep(0.01)
            blocker.execute("COMMIT")

        terminator = threading.Thread(target=terminate_the_waiting_writer)
        terminator.start()
        outcome, message_id, _ = publish(engine, account_id, "in-flight", 1)
        terminator.join()
    assert waiting, "the writer never waited for the outbox lock"
    # The first attempt died with COMMIT sent; the repository found it had not committed; the retry did.
    assert outcome == Outcome.CREATED.value
    assert [m.id for m in repository.list_messages()] == [message_id]
    assert [r.event.type for r in repository.read_events()].count("MESSAGE_APPENDED") == 1
    engine.close()
