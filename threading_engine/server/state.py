"""The service's own small store: which portal connected each account, failed webhook deliveries, the clock.

The engine keeps no portals yet (SPEC P1 is being added to the core elsewhere), so the service records the
portal of every account it creates here, in a SQLite file beside the engine's store (``<store file>.serve``
for a SQLite store, ``--state PATH`` for any other; in memory for the memory store). An account the service
did not create (made by another process on the same store, or created just before a crash cut the service
short of recording it) belongs to no portal and is seen by none. Webhook events of such an account carry
portal ``"0"``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import attrs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS account_portals (account_id TEXT PRIMARY KEY, portal_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failed_deliveries (
    event_id TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    channel_account_id TEXT,
    url TEXT,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS manual_clock (id INTEGER PRIMARY KEY CHECK (id = 1), now TEXT NOT NULL);
"""


def default_state_path(store_url: str) -> str | None:
    """Where the service keeps its state for a store: beside a SQLite file, in memory for a memory store, and
    ``None`` (ask for ``--state``) for any other."""
    if store_url == "memory":
        return ":memory:"
    parts = urlsplit(store_url)
    if parts.scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return ":memory:" if path in ("", ":memory:") else path + ".serve"
    return None


@attrs.frozen
class FailedDelivery:
    """A webhook event whose delivery gave up after the last attempt; kept until retried by hand."""

    event_id: str
    sequence: int
    channel_account_id: str | None
    url: str | None
    body: str
    attempts: int
    last_error: str
    failed_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "sequence": self.sequence,
            "channelAccountId": self.channel_account_id,
            "webhookUrl": self.url,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "failedAt": self.failed_at,
            "event": json.loads(self.body),
        }


class ServiceState:
    """The service's SQLite file; every method is one transaction, safe between threads."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._lock = threading.Lock()
        self._connection.executescript(_SCHEMA)  # each statement commits on its own; all are idempotent

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def set_portal(self, account_id: str, portal_id: str) -> None:
        with self._transaction() as cursor:
            cursor.execute("INSERT OR REPLACE INTO account_portals VALUES (?, ?)", (account_id, portal_id))

    def portal_of(self, account_id: str) -> str | None:
        with self._transaction() as cursor:
            row = cursor.execute("SELECT portal_id FROM account_portals WHERE account_id = ?", (account_id,)).fetchone()
        return None if row is None else str(row[0])

    def accounts_of(self, portal_id: str) -> set[str]:
        with self._transaction() as cursor:
            rows = cursor.execute("SELECT account_id FROM account_portals WHERE portal_id = ?", (portal_id,))
            return {str(row[0]) for row in rows}

    def add_failed(self, failed: FailedDelivery) -> None:
        with self._transaction() as cursor:
            columns = ", ".join(attrs.asdict(failed))
            values = ", ".join(f":{column}" for column in attrs.asdict(failed))
            cursor.execute(
                f"INSERT OR REPLACE INTO failed_deliveries ({columns}) VALUES ({values})", attrs.asdict(failed)
            )

    def failed(self) -> list[FailedDelivery]:
        with self._transaction() as cursor:
            cursor.row_factory = sqlite3.Row  # columns are named as FailedDelivery's fields
            rows = cursor.execute("SELECT * FROM failed_deliveries ORDER BY sequence").fetchall()
        return [FailedDelivery(**dict(row)) for row in rows]

    def remove_failed(self, event_id: str) -> bool:
        with self._transaction() as cursor:
            return cursor.execute("DELETE FROM failed_deliveries WHERE event_id = ?", (event_id,)).rowcount > 0

    def clock(self) -> datetime | None:
        with self._transaction() as cursor:
            row = cursor.execute("SELECT now FROM manual_clock").fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def set_clock(self, now: datetime) -> None:
        with self._transaction() as cursor:
            cursor.execute("INSERT OR REPLACE INTO manual_clock VALUES (1, ?)", (now.isoformat(),))

    def close(self) -> None:
        with self._lock:
            self._connection.close()
