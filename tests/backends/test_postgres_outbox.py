"""The outbox read by sequence number under concurrent writers: a consumer sees every event once, in order.

Sequence numbers are drawn before commit, so without care a consumer reading ``read_events(after=last)``
could see event 11 committed while event 10 is still in flight, move on past 10 and never see it. Writer
processes here commit events as fast as they can while a consumer reads on from its last sequence.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

psycopg = pytest.importorskip("psycopg")

from threading_engine import (  # noqa: E402
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    ThreadingModel,
)
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITERS = 4
THREADS = 3
MESSAGES = 60


def write(url: str, schema: str, account_id: str, process: int) -> int:
    """Publish MESSAGES messages from each of THREADS threads, on keys of their own; return the count."""
    engine = Engine(PostgresRepository(url, schema=schema, max_size=THREADS))

    def run(thread: int) -> None:
        for n in range(MESSAGES):
            customer = DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+44207{process:02}{thread:02}{n % 7:03}")
            engine.publish_message(account_id, direction=Direction.INCOMING, senders=[customer], text=f"m{n}")

    workers = [threading.Thread(target=run, args=(thread,)) for thread in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    engine.close()
    return THREADS * MESSAGES


def test_a_consumer_reading_on_from_its_last_sequence_sees_every_event_once(
    postgres_url: str, postgres_schema: str
) -> None:
    repository = PostgresRepository(postgres_url, schema=postgres_schema)
    engine = Engine(repository)
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    account_id = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")
    ).channel_account_id
    assert account_id is not None

    seen: list[int] = []
    seen_ids: list[str] = []
    reads_while_writing = 0
    writing = threading.Event()
    writing.set()

    def consume() -> None:
        nonlocal reads_while_writing
        last = 0
        while True:
            still_writing = writing.is_set()
            batch = repository.read_events(after=last, limit=50)
            for record in batch:
                assert record.sequence > last, "events came back out of order"
                last = record.sequence
                seen.append(record.sequence)
                seen_ids.append(record.event_id)
            reads_while_writing += still_writing
            if not batch and not still_writing:
                return
            if not batch:
                time.sleep(0.001)

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(WRITERS, mp_context=context) as pool:
            futures = [
                pool.submit(write, postgres_url, postgres_schema, account_id, process) for process in range(WRITERS)
            ]
            published = sum(future.result(timeout=90) for future in futures)
    finally:
        writing.clear()
        consumer.join()

    assert published == WRITERS * THREADS * MESSAGES
    with psycopg.connect(postgres_url) as connection:
        stored = connection.execute(f'SELECT event_id FROM "{postgres_schema}".events ORDER BY sequence').fetchall()
    assert reads_while_writing > 20
    assert len(seen_ids) == len(set(seen_ids)), "an event was read twice"
    assert seen_ids == [event_id for (event_id,) in stored], "the consumer missed committed events"
    engine.close()
