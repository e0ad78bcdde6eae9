"""The floors: the least work that keeps the append scenario's semantics, measured in the same run.

For one incoming message on an open thread, the semantics are: a retried idempotency id is answered with the
original (D1); the message's key is its account plus the set of its participants minus the account's own
identifier (R0); the key's open thread gets the message (R4a) and its latest message time; the message is
stored; an outbox event records the append (E2) in the same transaction as the change. A floor does exactly
that and nothing else: no validation, no view objects, no retries, no model values.

- memory: :class:`DictRouter`, plain dictionaries and lists;
- SQLite: raw ``sqlite3`` statements on the engine's own schema and file settings (WAL, the same
  ``synchronous``), one ``BEGIN IMMEDIATE`` transaction per message (or per batch): find the open thread by
  key, insert the message, update the thread, insert the outbox event, commit. Idempotency is left to the
  schema's unique index, which is all a floor needs while no retry arrives;
- PostgreSQL: see ``postgres_floor.py``.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from threading_engine import DeliveryIdentifier, open_repository
from threading_engine.backends import rows

from .seed import INSERT_EVENT, INSERT_MESSAGE, INSERT_THREAD, RowFactory
from .timing import Round, SteppingClock
from .workload import ACCOUNT_NUMBER, BATCH_SIZE, START, TEXT, counterpart

Identifier = tuple[str, str]
# (account id, participants, text, idempotency id, provider timestamp): what a publish carries.
FloorCommand = tuple[str, tuple[Identifier, ...], str, str, datetime]
FloorResult = tuple[str, str, str]
FLOOR_ACCOUNT = "account-1"
OWN: Identifier = ("HS_PHONE_NUMBER", ACCOUNT_NUMBER)


class FloorCommands:
    """Publishes for the floors: incoming messages on ``open_threads`` keys, each with a new idempotency id."""

    def __init__(self, open_threads: int, *, seed: int = 1) -> None:
        self.open_threads = open_threads
        self._random = random.Random(seed)
        self._ids = itertools.count(1)

    def take(self, size: int, now: datetime) -> list[FloorCommand]:
        pick = self._random.randrange
        commands: list[FloorCommand] = []
        for _ in range(size):
            customer = counterpart(pick(self.open_threads))
            participants = ((customer.type.value, customer.value), OWN)
            commands.append((FLOOR_ACCOUNT, participants, TEXT, f"wamid.{next(self._ids)}", now))
        return commands


def key_text(participants: Sequence[Identifier]) -> str:
    """R0's key as text a SQL index can hold: the sorted set of counterparts' ``TYPE:value``, joined by U+001F.

    The floors seed their threads with this spelling too (:func:`floor_key`), so they never depend on the
    engine's own.
    """
    return "\x1f".join(sorted(f"{kind}:{value}" for kind, value in set(participants) - {OWN}))


def floor_key(customer: DeliveryIdentifier) -> str:
    """:func:`key_text` of a message between ``customer`` and the account."""
    return key_text(((customer.type.value, customer.value), OWN))


def message_document(
    message_id: str, participants: Sequence[Identifier], text: str, timestamp: datetime, now: datetime, idem: str
) -> str:
    """The stored message: what a floor must keep of it (the thread is a column of its row)."""
    return json.dumps(
        {
            "id": message_id,
            "direction": "INCOMING",
            "senders": [participants[0]],
            "recipients": [participants[1]],
            "text": text,
            "timestamp": timestamp.isoformat(),
            "receivedAt": now.isoformat(),
            "idempotencyId": idem,
        },
        separators=(",", ":"),
    )


class DictRouter:
    """The memory floor: key -> open thread id, an idempotency dictionary, a message list and an outbox."""

    def __init__(self, open_threads: int) -> None:
        self.open_thread: dict[tuple[str, frozenset[Identifier]], str] = {}
        self.latest_message_at: dict[str, datetime] = {}
        self.idempotency: dict[tuple[str, str], FloorResult] = {}
        self.messages: list[tuple[object, ...]] = []
        self.outbox: list[tuple[int, str, str, str, datetime]] = []
        self._own = frozenset((OWN,))
        self._message_ids = itertools.count(1)
        for number in range(open_threads):
            customer = counterpart(number)
            self.open_thread[(FLOOR_ACCOUNT, frozenset(((customer.type.value, customer.value),)))] = f"thread-{number}"

    def publish(self, command: FloorCommand, now: datetime) -> FloorResult:
        account_id, participants, text, idempotency_id, timestamp = command
        seen = self.idempotency.get((account_id, idempotency_id))
        if seen is not None:
            return ("DUPLICATE", seen[1], seen[2])
        thread_id = self.open_thread[(account_id, frozenset(participants) - self._own)]
        message_id = f"message-{next(self._message_ids)}"
        self.messages.append((message_id, thread_id, "INCOMING", participants, text, timestamp, now, idempotency_id))
        self.latest_message_at[thread_id] = now
        result = ("APPENDED", thread_id, message_id)
        self.idempotency[(account_id, idempotency_id)] = result
        self.outbox.append((len(self.outbox) + 1, "MESSAGE_APPENDED", thread_id, message_id, now))
        return result


class MemoryFloor:
    """Rounds of :class:`DictRouter` publishes; a batch is the same loop (there is no transaction to share)."""

    def __init__(self, open_threads: int) -> None:
        self.clock = SteppingClock(START)
        self.commands = FloorCommands(open_threads)
        self.router = DictRouter(open_threads)

    def close(self) -> None:
        """Nothing to release."""

    def round(self, size: int, mode: str) -> Round:
        now = self.clock.next_round()  # as the engine's round does: see SteppingClock
        commands = self.commands.take(size, now)
        publish = self.router.publish

        def run() -> list[FloorResult]:
            return [publish(command, now) for command in commands]

        return Round(len(commands), run, ["APPENDED"] * len(commands))


_FIND_OPEN = (
    "SELECT id FROM threads WHERE account_id = ? AND key = ? AND status = 'OPEN' AND archived = 0 "
    "AND integration_thread_id IS NULL"
)
_TOUCH_THREAD = "UPDATE threads SET latest_message_at = ? WHERE id = ?"


class SQLiteFloor:
    """Raw ``sqlite3`` statements on a file with the engine's schema, WAL, and ``synchronous``."""

    def __init__(self, path: Path, synchronous: str, open_threads: int) -> None:
        open_repository(f"sqlite:///{path.resolve()}?synchronous={synchronous.lower()}").close()  # the schema
        self.clock = SteppingClock(START)
        self.commands = FloorCommands(open_threads)
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute(f"PRAGMA synchronous = {synchronous}")
        seed_sqlite(
            self.connection,
            RowFactory(FLOOR_ACCOUNT, DeliveryIdentifier.of(*OWN), START, floor_key),
            range(open_threads),
        )
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.connection.close()

    def round(self, size: int, mode: str) -> Round:
        commands = self.commands.take(size, self.clock.next_round())  # as the engine's round: see SteppingClock
        run = self._single(commands) if mode == "single" else self._batches(commands)
        return Round(len(commands), run, ["APPENDED"] * len(commands))

    def _append(self, command: FloorCommand, now: datetime) -> FloorResult:
        execute = self.connection.execute
        account_id, participants, text, idempotency_id, timestamp = command
        row = execute(_FIND_OPEN, (account_id, key_text(participants))).fetchone()
        thread_id = row[0]
        number = next(self._ids)
        message_id = f"message-{number}"
        document = message_document(message_id, participants, text, timestamp, now, idempotency_id)
        execute(INSERT_MESSAGE, (message_id, thread_id, account_id, idempotency_id, document))
        execute(_TOUCH_THREAD, (rows.micros(now), thread_id))
        event_id = f"event-{number}"
        event = {"eventId": event_id, "type": "MESSAGE_APPENDED", "threadId": thread_id, "messageId": message_id}
        execute(INSERT_EVENT, (event_id, json.dumps(event, separators=(",", ":"))))
        return ("APPENDED", thread_id, message_id)

    def _single(self, commands: list[FloorCommand]) -> Callable[[], list[FloorResult]]:
        execute, append, now = self.connection.execute, self._append, self.clock.now

        def run() -> list[FloorResult]:
            results = []
            for command in commands:
                execute("BEGIN IMMEDIATE")
                try:
                    results.append(append(command, now))
                    execute("COMMIT")
                except BaseException:
                    execute("ROLLBACK")
                    raise
            return results

        return run

    def _batches(self, commands: list[FloorCommand]) -> Callable[[], list[FloorResult]]:
        execute, append, now = self.connection.execute, self._append, self.clock.now
        batches = [commands[start : start + BATCH_SIZE] for start in range(0, len(commands), BATCH_SIZE)]

        def run() -> list[FloorResult]:
            results = []
            for batch in batches:
                execute("BEGIN IMMEDIATE")
                try:
                    results.extend([append(command, now) for command in batch])
                    execute("COMMIT")
                except BaseException:
                    execute("ROLLBACK")
                    raise
            return results

        return run


def seed_sqlite(connection: sqlite3.Connection, factory: RowFactory, numbers: range, chunk: int = 50_000) -> None:
    """Insert seeded threads (with their first message and events) in large transactions."""
    for start in range(numbers.start, numbers.stop, chunk):
        seeded = list(factory.rows(range(start, min(start + chunk, numbers.stop))))
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(INSERT_THREAD, [s.thread for s in seeded])
        connection.executemany(INSERT_MESSAGE, [s.message for s in seeded])
        connection.executemany(INSERT_EVENT, [event for s in seeded for event in s.events])
        connection.execute("COMMIT")
