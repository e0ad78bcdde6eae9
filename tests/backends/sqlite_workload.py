"""Writer processes for the SQLite multi-process and crash tests, and the invariants they check afterwards.

Each writer publishes incoming and outgoing messages on overlapping keys and closes and archives threads, and
reports every acknowledged result. What a writer reports is what a webhook sender would have been told: it
must be in the store exactly once, whatever else happened.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    ThreadingError,
    ThreadingModel,
)
from threading_engine.backends.sqlite import SQLiteRepository

ACCOUNT_IDENTIFIER = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")
CUSTOMERS = tuple(DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{n:02d}") for n in range(3))


def set_up(path: Path) -> str:
    """Create the channel and the account every writer uses; returns the account id."""
    with Engine(SQLiteRepository(str(path))) as engine:
        capabilities = Capabilities(
            (IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER, allow_outgoing_messages=True
        )
        channel = engine.create_channel("SMS", capabilities)
        assert channel.channel_id is not None
        account = engine.create_channel_account(
            channel.channel_id, name="Desk", inbox_id="1", delivery_identifier=ACCOUNT_IDENTIFIER, creates_tickets=True
        )
        assert account.channel_account_id is not None
        return account.channel_account_id


def write(path: str, account_id: str, worker: int, operations: int, log: str, seed: int) -> None:
    """Run ``operations`` random commands; append each acknowledged publish to ``log`` as one JSON line."""
    rng = random.Random(seed)
    engine = Engine(SQLiteRepository(path, busy_timeout=60))
    published: list[dict[str, Any]] = []
    with open(log, "a", encoding="utf-8") as acknowledged:
        for step in range(operations):
            choice = rng.random()
            try:
                if choice < 0.7 or not published:
                    retry = published and rng.random() < 0.2
                    previous = rng.choice(published) if retry else None
                    idempotency_id = previous["idempotency_id"] if previous else f"w{worker}-{step}"
                    people = previous["people"] if previous else rng.sample(range(3), rng.randint(1, 2))
                    direction = Direction(previous["direction"]) if previous else rng.choice(list(Direction))
                    customers = [CUSTOMERS[i] for i in people]
                    senders = customers[:1] if direction is Direction.INCOMING else [ACCOUNT_IDENTIFIER]
                    recipients = customers[1:] if direction is Direction.INCOMING else customers
                    result = engine.publish_message(
                        account_id,
                        direction=direction,
                        senders=senders,
                        recipients=recipients,
                        text="hi",
                        integration_idempotency_id=idempotency_id,
                    )
                    entry = {
                        "idempotency_id": idempotency_id,
                        "people": people,
                        "direction": direction.value,
                        "message_id": result.message_id,
                        "thread_id": result.thread_id,
                        "outcome": result.outcome.value,
                        "events": [r.event_id for r in result.events],
                    }
                    if previous is not None:
                        # A retried publish returns the original result (D1).
                        assert result.outcome is Outcome.DUPLICATE, result
                        assert result.message_id == previous["message_id"], (result, previous)
                    else:
                        published.append(entry)
                    acknowledged.write(json.dumps(entry) + "\n")
                    acknowledged.flush()
                else:
                    thread_id = rng.choice(published)["thread_id"]
                    action = engine.archive_thread if choice > 0.93 else engine.close_thread
                    result = action(thread_id)
                    acknowledged.write(
                        json.dumps({"thread_id": thread_id, "events": [r.event_id for r in result.events]}) + "\n"
                    )
                    acknowledged.flush()
            except ThreadingError as error:
                acknowledged.write(json.dumps({"error": error.code}) + "\n")
                acknowledged.flush()
    engine.close()


def read_log(paths: Iterable[Path]) -> list[dict[str, Any]]:
    entries = []
    for path in paths:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                # A line cut short by a kill was never acknowledged.
                with contextlib.suppress(json.JSONDecodeError):
                    entries.append(json.loads(line))
    return entries


def open_threads_per_key(path: Path) -> list[tuple[str, str, int]]:
    """R1, checked with SQL: keys with more than one open, non-archived thread (must be none)."""
    with sqlite3.connect(path, timeout=60) as connection:
        return connection.execute(
            "SELECT account_id, key, count(*) FROM threads WHERE status = 'OPEN' AND archived = 0 "
            "AND integration_thread_id IS NULL GROUP BY account_id, key HAVING count(*) > 1"
        ).fetchall()


def check_store(path: Path, acknowledged: list[dict[str, Any]]) -> None:
    """Every invariant the multi-process and crash tests require of the store at rest."""
    assert open_threads_per_key(path) == []
    repository = SQLiteRepository(str(path))
    try:
        messages = repository.list_messages()
        by_idempotency: dict[str | None, list[str]] = {}
        for message in messages:
            by_idempotency.setdefault(message.integration_idempotency_id, []).append(message.id)
        for entry in acknowledged:
            if "message_id" in entry:
                assert by_idempotency.get(entry["idempotency_id"]) == [entry["message_id"]], entry
        assert all(len(ids) == 1 for ids in by_idempotency.values())
        threads = {t.id: t for t in repository.list_threads()}
        events = repository.read_events()
        event_ids = {record.event_id for record in events}
        appended = {getattr(r.event, "message_id", None) for r in events if r.event.type == "MESSAGE_APPENDED"}
        created = {getattr(r.event, "thread_id", None) for r in events if r.event.type == "THREAD_CREATED"}
        for message in messages:
            assert message.thread_id in threads and message.id in appended, message
        assert set(threads) == created
        for entry in acknowledged:
            assert set(entry.get("events", ())) <= event_ids, entry
        for thread in threads.values():
            ticket = repository.get_ticket(thread.ticket_id) if thread.ticket_id else None
            assert ticket is not None and ticket.status.value == thread.status.value  # R6
            assert (thread.closed_at is None) == (thread.status.value == "OPEN")  # R7
        sequences = [record.sequence for record in events]
        assert sequences == sorted(set(sequences))
    finally:
        repository.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def check_schema_refuses_duplicates(path: Path) -> None:
    """The database itself, not only the engine, refuses a second open thread, message or live pair (U1-U3)."""
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT account_id, key FROM threads WHERE status = 'OPEN' AND archived = 0 LIMIT 1"
        ).fetchone()
        statements = []
        if row is not None:
            statements.append(
                (
                    "INSERT INTO threads (id, account_id, key, status, archived, created_at) "
                    "VALUES ('intruder', ?, ?, 'OPEN', 0, 0)",
                    row,
                )
            )
        message = connection.execute(
            "SELECT account_id, idempotency_id FROM messages WHERE idempotency_id IS NOT NULL LIMIT 1"
        ).fetchone()
        assert message is not None
        statements.append(
            (
                "INSERT INTO messages (id, thread_id, account_id, idempotency_id, data) "
                "VALUES ('intruder', 't', ?, ?, '{}')",
                message,
            )
        )
        statements.append(
            (
                "INSERT INTO threads (id, account_id, key, status, archived, created_at, "
                "integration_thread_id) VALUES ('pair-1', 'a', '[]', 'OPEN', 0, 0, 'conv')",
                (),
            )
        )
        statements.append(
            (
                "INSERT INTO threads (id, account_id, key, status, archived, created_at, "
                "integration_thread_id) VALUES ('pair-2', 'a', '[]', 'CLOSED', 0, 0, 'conv')",
                (),
            )
        )
        refused = 0
        for sql, parameters in statements:
            try:
                connection.execute(sql, parameters)
            except sqlite3.IntegrityError:
                refused += 1
        connection.rollback()
        assert refused == len(statements) - 1, f"the schema let {len(statements) - 1 - refused} duplicates in"
