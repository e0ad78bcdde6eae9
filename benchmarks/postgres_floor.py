"""The PostgreSQL floor: raw psycopg statements with the append scenario's semantics, in pipeline mode.

One transaction per message (or per batch), sent as one pipeline, so one round trip: ``BEGIN``; the shared
outbox lock the engine also takes, so that a reader of the outbox can never skip an event whose sequence
number was drawn but not yet committed; one statement that finds the key's open thread and updates it (the
row lock keeps a concurrent close out, R1/R4), inserts the message on it, and appends the outbox event;
``COMMIT``. Idempotency (D1) is left to the schema's unique index, which is all a floor needs while no retry
arrives. The tables are the engine's own, in a fresh schema created by the engine, seeded like the engine's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from threading_engine import DeliveryIdentifier, open_repository
from threading_engine.backends import rows

from .floors import FLOOR_ACCOUNT, OWN, FloorCommand, FloorCommands, floor_key, key_text, message_document
from .postgres_tools import PostgresServer
from .seed import INSERT_EVENT, INSERT_MESSAGE, INSERT_THREAD, RowFactory
from .timing import Round, SteppingClock
from .workload import BATCH_SIZE, START

Result = tuple[str, int]


def _postgres(sql: str, schema: str) -> str:
    """An SQLite-style statement from ``seed.py`` for PostgreSQL: ``%s`` markers, schema-qualified tables."""
    for table in ("threads", "messages", "events"):
        sql = sql.replace(f"INTO {table} ", f'INTO "{schema}".{table} ')
    return sql.replace("?", "%s")


class PostgresFloor:
    """Raw statements on one connection to a fresh schema seeded with ``open_threads`` open threads."""

    def __init__(self, server: PostgresServer, open_threads: int, *, port: int | None = None) -> None:
        self.schema = server.fresh_schema()
        open_repository(server.store_url(self.schema)).close()  # the engine creates its schema
        self.clock = SteppingClock(START)
        self.commands = FloorCommands(open_threads)
        self.connection = server.connect(port=port)
        self._seed(open_threads)
        self._ids = itertools.count(1)
        self._lock_name = f"{self.schema}\x1foutbox"
        s = f'"{self.schema}"'
        self._lock = "SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))"
        self._append = f"""
            WITH thread AS (
                UPDATE {s}.threads SET latest_message_at = %(at)s::bigint
                WHERE account_id = %(account_id)s::text AND hashtextextended(key, 0) = hashtextextended(%(key)s, 0)
                    AND key = %(key)s::text AND status = 'OPEN' AND archived = 0 AND integration_thread_id IS NULL
                RETURNING id
            ), message AS (
                INSERT INTO {s}.messages (id, thread_id, account_id, idempotency_id, data)
                SELECT %(message_id)s::text, id, %(account_id)s::text, %(idempotency_id)s::text, %(data)s::text
                FROM thread RETURNING thread_id
            )
            INSERT INTO {s}.events (event_id, data)
            SELECT %(event_id)s::text, json_build_object('eventId', %(event_id)s::text, 'type', 'MESSAGE_APPENDED',
                'threadId', thread_id, 'messageId', %(message_id)s::text)::text
            FROM message RETURNING sequence"""

    def _seed(self, open_threads: int) -> None:
        factory = RowFactory(FLOOR_ACCOUNT, DeliveryIdentifier.of(*OWN), START, floor_key)
        seeded = list(factory.rows(range(open_threads)))
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.executemany(_postgres(INSERT_THREAD, self.schema), [s.thread for s in seeded])
            cursor.executemany(_postgres(INSERT_MESSAGE, self.schema), [s.message for s in seeded])
            cursor.executemany(_postgres(INSERT_EVENT, self.schema), [e for s in seeded for e in s.events])

    def close(self) -> None:
        self.connection.close()

    def _parameters(self, command: FloorCommand) -> dict[str, Any]:
        account_id, participants, text, idempotency_id, timestamp = command
        number = next(self._ids)
        now = self.clock.now
        message_id = f"message-{number}"
        return {
            "at": rows.micros(now),
            "account_id": account_id,
            "key": key_text(participants),
            "message_id": message_id,
            "idempotency_id": idempotency_id,
            "data": message_document(message_id, participants, text, timestamp, now, idempotency_id),
            "event_id": f"event-{number}",
        }

    def round(self, size: int, mode: str) -> Round:
        commands = self.commands.take(size, self.clock.next_round())  # as the engine's round: see SteppingClock
        run = self._single(commands) if mode == "single" else self._batches(commands)
        return Round(len(commands), run, ["APPENDED"] * len(commands))

    def _single(self, commands: list[FloorCommand]) -> Callable[[], list[Result]]:
        connection, parameters = self.connection, self._parameters
        lock, append, lock_name = self._lock, self._append, self._lock_name

        def run() -> list[Result]:
            results = []
            cursor = connection.cursor()
            for command in commands:
                with connection.pipeline():
                    connection.execute("BEGIN", prepare=False)
                    connection.execute(lock, (lock_name,), prepare=True)
                    cursor.execute(append, parameters(command), prepare=True)
                    connection.execute("COMMIT", prepare=False)
                row = cursor.fetchone()
                results.append(("APPENDED" if row else "NO_OPEN_THREAD", row[0] if row else 0))
            return results

        return run

    def _batches(self, commands: list[FloorCommand]) -> Callable[[], list[Result]]:
        connection, parameters = self.connection, self._parameters
        lock, append, lock_name = self._lock, self._append, self._lock_name
        batches = [commands[start : start + BATCH_SIZE] for start in range(0, len(commands), BATCH_SIZE)]

        def run() -> list[Result]:
            results = []
            cursor = connection.cursor()
            for batch in batches:
                with connection.pipeline():
                    connection.execute("BEGIN", prepare=False)
                    connection.execute(lock, (lock_name,), prepare=True)
                    cursor.executemany(append, [parameters(command) for command in batch], returning=True)
                    connection.execute("COMMIT", prepare=False)
                while True:
                    row = cursor.fetchone()
                    results.append(("APPENDED" if row else "NO_OPEN_THREAD", row[0] if row else 0))
                    if not cursor.nextset():
                        break
            return results

        return run
