"""Processes and threads racing on the same keys of one PostgreSQL store (R1, D1, R3, R7).

Four processes (spawned, so nothing is shared but the database) run three threads each. They publish
incoming and outgoing messages for three customers of one account, so every key is contended; they retry
their own publishes and publish shared idempotency ids that other processes publish too; and they close
and archive threads under each other's feet. Meanwhile the test checks R1 with SQL, over and over.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

psycopg = pytest.importorskip("psycopg")

from threading_engine import (  # noqa: E402
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    Result,
    ThreadingModel,
)
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402
from threading_engine.repository import Repository  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 4
THREADS = 3
OPERATIONS = 150
CUSTOMERS = tuple(DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{n:02}") for n in range(3))
OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")
SHARED_IDS = 6

# What a worker reports for each publish: (idempotency id, kind, outcome, message id, thread id).
Report = tuple[str, str, str, str | None, str | None]


def publish_payload(engine: Engine, account_id: str, idempotency_id: str, customer: int, outgoing: bool) -> Result:
    """The publish an idempotency id stands for: the same payload every time it is sent (D1)."""
    if outgoing:
        return engine.publish_message(
            account_id,
            direction=Direction.OUTGOING,
            senders=[OWN],
            recipients=[CUSTOMERS[customer]],
            text=f"reply {idempotency_id}",
            integration_idempotency_id=idempotency_id,
        )
    return engine.publish_message(
        account_id,
        direction=Direction.INCOMING,
        senders=[CUSTOMERS[customer]],
        text=f"message {idempotency_id}",
        integration_idempotency_id=idempotency_id,
    )


def race(url: str, schema: str, account_id: str, process: int) -> list[Report]:
    """One worker process: THREADS threads doing OPERATIONS random commands each."""
    engine = Engine(PostgresRepository(url, schema=schema, max_size=THREADS))
    reports: list[Report] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        rng = random.Random(process * 1000 + thread)
        mine: list[tuple[str, int, bool]] = []
        threads_seen: list[str] = []
        for step in range(OPERATIONS):
            roll = rng.random()
            kind, customer, outgoing = "publish", rng.randrange(len(CUSTOMERS)), rng.random() < 0.3
            idempotency_id = f"p{process}-t{thread}-{step}"
            if roll < 0.15 and mine:
                kind = "retry"
                idempotency_id, customer, outgoing = rng.choice(mine)
            elif roll < 0.3:
                kind = "shared"
                shared = rng.randrange(SHARED_IDS)
                idempotency_id, customer, outgoing = f"shared-{shared}", shared % len(CUSTOMERS), False
            elif roll < 0.45 and threads_seen:
                engine.close_thread(rng.choice(threads_seen[-6:]))
                continue
            elif roll < 0.5 and threads_seen:
                engine.archive_thread(rng.choice(threads_seen[-6:]))
                continue
            result = publish_payload(engine, account_id, idempotency_id, customer, outgoing)
            if kind == "publish":
                mine.append((idempotency_id, customer, outgoing))
            if result.thread_id is not None:
                threads_seen.append(result.thread_id)
            with lock:
                reports.append((idempotency_id, kind, result.outcome.value, result.message_id, result.thread_id))

    workers = [threading.Thread(target=run, args=(thread,)) for thread in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.close()
    return reports


def setup_account(repository: Repository) -> str:
    engine = Engine(repository)
    capabilities = Capabilities(
        (IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER, allow_outgoing_messages=True
    )
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    account = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", creates_tickets=True, delivery_identifier=OWN
    )
    assert account.channel_account_id is not None
    return account.channel_account_id


class R1Monitor(threading.Thread):
    """Checks R1 with SQL as fast as it can until stopped: no two open, non-archived threads for one key."""

    def __init__(self, url: str, schema: str) -> None:
        super().__init__(daemon=True)
        self.url, self.schema = url, schema
        self.checks = 0
        self.violations: list[tuple[object, ...]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self.stopping.is_set():
                self.violations += connection.execute(
                    f'SELECT account_id, key, count(*) FROM "{self.schema}".threads '
                    "WHERE status = 'OPEN' AND archived = 0 AND integration_thread_id IS NULL "
                    "GROUP BY account_id, key HAVING count(*) > 1"
                ).fetchall()
                self.checks += 1
                time.sleep(0.005)


def test_racing_processes_keep_r1_and_store_every_acknowledged_publish_once(
    postgres_url: str, postgres_schema: str, assert_consistent: Callable[[Repository], None]
) -> None:
    repository = PostgresRepository(postgres_url, schema=postgres_schema)
    account_id = setup_account(repository)
    monitor = R1Monitor(postgres_url, postgres_schema)
    monitor.start()
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
            futures = [
                pool.submit(race, postgres_url, postgres_schema, account_id, process) for process in range(PROCESSES)
            ]
            reports = [report for future in futures for report in future.result(timeout=90)]
    finally:
        monitor.stopping.set()
        monitor.join()

    assert monitor.violations == [], "R1 broke during the run"
    assert monitor.checks > 10
    by_id: defaultdict[str, list[Report]] = defaultdict(list)
    for report in reports:
        by_id[report[0]].append(report)
    stored = {m.integration_idempotency_id: m for m in repository.list_messages()}
    # Every acknowledged publish is stored exactly once, and nothing else is (U2, D1).
    assert set(stored) == set(by_id)
    assert len(repository.list_messages()) == len(by_id)
    for idempotency_id, answers in by_id.items():
        originals = [a for a in answers if a[2] != Outcome.DUPLICATE.value]
        assert len(originals) == 1, f"{idempotency_id} was stored {len(originals)} times: {answers}"
        message = stored[idempotency_id]
        # Every retry, from this process or another, returned the original result (D1).
        assert {(a[3], a[4]) for a in answers} == {(message.id, message.thread_id)}, answers
    assert any(a[1] == "retry" for a in reports) and any(len(a) > 1 for a in by_id.values())
    assert any(len(answers) > 2 for key, answers in by_id.items() if key.startswith("shared-"))
    assert_consistent(repository)
    repository.close()
