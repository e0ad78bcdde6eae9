"""The SQLite backend: a durable store for one host, using only the standard library's ``sqlite3``.

Every unit of work is one ``BEGIN IMMEDIATE`` transaction: it takes SQLite's write lock before it reads, so
writers from any number of processes are serialized by the database and a view cannot go stale before its
commit. The uniqueness rules are enforced by the schema (``sqlite_schema.py``) all the same, so a bug or a
foreign writer cannot break them either. Driver errors become the library's errors in :func:`_translated`.

Durability: WAL journal, and ``synchronous=FULL`` by default (a commit survives power loss);
``synchronous=NORMAL`` is faster and survives a crash of the process but may lose the last commits on power
loss.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from ..decisions import Changes, View, ViewQuery
from ..errors import StorageError, WriteConflict
from ..events import EventRecord
from ..model import Channel, ChannelAccount, Message, Thread, Ticket
from ..repository import PendingEvent
from . import rows
from .sqlite_schema import migrate

Synchronous = Literal["FULL", "NORMAL"]
_LIVE_KEY_THREADS = (
    f"SELECT {rows.THREAD_COLUMNS} FROM threads WHERE account_id = ? AND key = ? AND archived = 0 "
    "AND integration_thread_id IS NULL ORDER BY status = 'OPEN' DESC, closed_at DESC, seq DESC LIMIT 2"
)


@contextmanager
def _translated() -> Iterator[None]:
    """The one place where ``sqlite3`` errors become the library's errors."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        raise WriteConflict(f"a uniqueness rule rejected the commit: {error}") from error
    except sqlite3.OperationalError as error:
        message = str(error).lower()
        if "locked" in message or "busy" in message:
            raise WriteConflict(f"the database stayed locked: {error}") from error
        raise StorageError(f"SQLite failed: {error}") from error
    except sqlite3.DatabaseError as error:
        raise StorageError(f"SQLite failed: {error}") from error


class SQLiteRepository:
    """A repository in one SQLite file (or ``":memory:"``), shared safely by threads and processes.

    One connection per repository, guarded by a lock; open one repository per process.
    """

    def __init__(self, path: str = ":memory:", *, synchronous: Synchronous = "FULL", busy_timeout: float = 30.0):
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous {synchronous!r} is not FULL or NORMAL")
        self.path = path
        self._lock = threading.RLock()
        with _translated():
            self._connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if path != ":memory:":
                self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute(f"PRAGMA synchronous = {synchronous}")
            migrate(self._connection)

    # -- transactions -------------------------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self) -> Iterator[_SQLiteUnitOfWork]:
        with self._lock:
            with _translated():
                self._connection.execute("BEGIN IMMEDIATE")
            unit = _SQLiteUnitOfWork(self._connection)
            try:
                yield unit
            finally:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")

    # -- reads ---------------------------------------------------------------------------------------------

    def _one(self, sql: str, parameters: Sequence[Any]) -> Any:
        with self._lock, _translated():
            return self._connection.execute(sql, parameters).fetchone()

    def _all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self._lock, _translated():
            return self._connection.execute(sql, parameters).fetchall()

    def get_channel(self, channel_id: str) -> Channel | None:
        row = self._one("SELECT data FROM channels WHERE id = ?", (channel_id,))
        return None if row is None else rows.channel_from_json(row[0])

    def get_account(self, channel_account_id: str) -> ChannelAccount | None:
        row = self._one("SELECT data FROM accounts WHERE id = ?", (channel_account_id,))
        return None if row is None else rows.account_from_json(row[0])

    def get_thread(self, thread_id: str) -> Thread | None:
        row = self._one(f"SELECT {rows.THREAD_COLUMNS} FROM threads WHERE id = ?", (thread_id,))
        return None if row is None else rows.thread_from_row(row)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        row = self._one("SELECT id, thread_id, status FROM tickets WHERE id = ?", (ticket_id,))
        return None if row is None else rows.ticket_from_row(row)

    def get_message(self, message_id: str) -> Message | None:
        row = self._one("SELECT data FROM messages WHERE id = ?", (message_id,))
        return None if row is None else rows.message_from_json(row[0])

    def list_channels(self) -> list[Channel]:
        return [rows.channel_from_json(r[0]) for r in self._all("SELECT data FROM channels ORDER BY seq")]

    def list_accounts(self, channel_id: str | None = None) -> list[ChannelAccount]:
        if channel_id is None:
            found = self._all("SELECT data FROM accounts ORDER BY seq")
        else:
            found = self._all("SELECT data FROM accounts WHERE channel_id = ? ORDER BY seq", (channel_id,))
        return [rows.account_from_json(r[0]) for r in found]

    def list_threads(self, channel_account_id: str | None = None) -> list[Thread]:
        sql = f"SELECT {rows.THREAD_COLUMNS} FROM threads"
        if channel_account_id is None:
            found = self._all(f"{sql} ORDER BY seq")
        else:
            found = self._all(f"{sql} WHERE account_id = ? ORDER BY seq", (channel_account_id,))
        return [rows.thread_from_row(r) for r in found]

    def list_tickets(self) -> list[Ticket]:
        return [rows.ticket_from_row(r) for r in self._all("SELECT id, thread_id, status FROM tickets ORDER BY seq")]

    def list_messages(self, thread_id: str | None = None) -> list[Message]:
        if thread_id is None:
            found = self._all("SELECT data FROM messages ORDER BY seq")
        else:
            found = self._all("SELECT data FROM messages WHERE thread_id = ? ORDER BY seq", (thread_id,))
        return [rows.message_from_json(r[0]) for r in found]

    def read_events(self, after: int = 0, limit: int | None = None) -> list[EventRecord]:
        found = self._all(
            "SELECT sequence, data FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?",
            (after, -1 if limit is None else limit),
        )
        return [rows.event_from_row(sequence, data) for sequence, data in found]

    def pending_events(self, limit: int | None = None) -> list[EventRecord]:
        found = self._all(
            "SELECT sequence, data FROM events WHERE acknowledged = 0 ORDER BY sequence LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [rows.event_from_row(sequence, data) for sequence, data in found]

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        ids = list(dict.fromkeys(event_ids))
        with self._lock, _translated():
            cursor = self._connection.executemany(
                "UPDATE events SET acknowledged = 1 WHERE event_id = ? AND acknowledged = 0", [(i,) for i in ids]
            )
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class _SQLiteUnitOfWork:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._committed = False
        self._records: list[EventRecord] = []

    def _threads(self, sql: str, parameters: Sequence[Any]) -> list[Thread]:
        return [rows.thread_from_row(r) for r in self._connection.execute(sql, parameters).fetchall()]

    def load(self, query: ViewQuery) -> View:
        with _translated():
            return self._load(query)

    def _load(self, query: ViewQuery) -> View:
        execute = self._connection.execute
        thread = None
        account_id = query.channel_account_id
        key, integration_thread_id = query.key, query.integration_thread_id
        if query.thread_id is not None:
            found = self._threads(f"SELECT {rows.THREAD_COLUMNS} FROM threads WHERE id = ?", (query.thread_id,))
            thread = found[0] if found else None
            if thread is not None:
                account_id = thread.channel_account_id
                if thread.integration_thread_id is None:
                    key = thread.key
                else:
                    integration_thread_id = thread.integration_thread_id
        account = channel = None
        if account_id is not None:
            row = execute("SELECT data FROM accounts WHERE id = ?", (account_id,)).fetchone()
            account = None if row is None else rows.account_from_json(row[0])
        channel_id = account.channel_id if account is not None else query.channel_id
        if channel_id is not None:
            row = execute("SELECT data FROM channels WHERE id = ?", (channel_id,)).fetchone()
            channel = None if row is None else rows.channel_from_json(row[0])
        open_thread = latest_closed = integration_thread = duplicate = duplicate_thread = None
        if account_id is not None and key is not None:
            for candidate in self._threads(_LIVE_KEY_THREADS, (account_id, key)):
                if candidate.is_open and open_thread is None:
                    open_thread = candidate
                elif not candidate.is_open and latest_closed is None:
                    latest_closed = candidate
        if account_id is not None and integration_thread_id is not None:
            found = self._threads(
                f"SELECT {rows.THREAD_COLUMNS} FROM threads WHERE account_id = ? AND integration_thread_id = ? "
                "AND archived = 0",
                (account_id, integration_thread_id),
            )
            integration_thread = found[0] if found else None
        if account_id is not None and query.idempotency_id is not None:
            row = execute(
                "SELECT data FROM messages WHERE account_id = ? AND idempotency_id = ?",
                (account_id, query.idempotency_id),
            ).fetchone()
            if row is not None:
                duplicate = rows.message_from_json(row[0])
                found = self._threads(f"SELECT {rows.THREAD_COLUMNS} FROM threads WHERE id = ?", (duplicate.thread_id,))
                duplicate_thread = found[0] if found else None
        other_account = None
        if query.account_identifier is not None and channel_id is not None:
            row = execute(
                "SELECT data FROM accounts WHERE channel_id = ? AND identifier_type = ? AND identifier_value = ?",
                (channel_id, query.account_identifier.type.value, query.account_identifier.value),
            ).fetchone()
            other_account = None if row is None else rows.account_from_json(row[0])
        threads = (thread, open_thread, latest_closed, integration_thread, duplicate_thread)
        ticket_ids = sorted({t.ticket_id for t in threads if t is not None and t.ticket_id is not None})
        tickets = {}
        if ticket_ids:
            marks = ", ".join("?" * len(ticket_ids))
            for row in execute(f"SELECT id, thread_id, status FROM tickets WHERE id IN ({marks})", ticket_ids):
                tickets[row[0]] = rows.ticket_from_row(row)
        return View(
            channel=channel,
            account=account,
            thread=thread,
            open_thread=open_thread,
            latest_closed_thread=latest_closed,
            integration_thread=integration_thread,
            duplicate=duplicate,
            duplicate_thread=duplicate_thread,
            account_with_identifier=other_account,
            tickets=tickets,
        )

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        if self._committed:
            raise RuntimeError("this unit of work has committed")
        with _translated():
            self._records.extend(self._write(changes, events))

    def commit(self) -> tuple[EventRecord, ...]:
        if self._committed:
            raise RuntimeError("a unit of work commits at most once")
        self._committed = True
        with _translated():
            self._connection.execute("COMMIT")
        return tuple(self._records)

    def _write(self, changes: Changes, events: Sequence[PendingEvent]) -> list[EventRecord]:
        execute = self._connection.execute
        if changes.channel is not None:
            execute(
                "INSERT INTO channels (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (changes.channel.id, rows.channel_json(changes.channel)),
            )
        if changes.account is not None:
            account = changes.account
            execute(
                "INSERT INTO accounts (id, channel_id, identifier_type, identifier_value, data) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (
                    account.id,
                    account.channel_id,
                    account.delivery_identifier.type.value,
                    account.delivery_identifier.value,
                    rows.account_json(account),
                ),
            )
        for thread in changes.threads:
            execute(
                f"INSERT INTO threads ({rows.THREAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status, archived = excluded.archived, "
                "closed_at = excluded.closed_at, ticket_id = excluded.ticket_id, "
                "latest_message_at = excluded.latest_message_at",
                rows.thread_row(thread),
            )
        for ticket in changes.tickets:
            execute(
                "INSERT INTO tickets (id, thread_id, status) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status",
                (ticket.id, ticket.thread_id, ticket.status.value),
            )
        if changes.message is not None:
            message = changes.message
            execute(
                "INSERT INTO messages (id, thread_id, account_id, idempotency_id, data) VALUES (?, ?, ?, ?, ?)",
                (
                    message.id,
                    message.thread_id,
                    message.channel_account_id,
                    message.integration_idempotency_id,
                    rows.message_json(message),
                ),
            )
        records = []
        for pending in events:
            cursor = execute(
                "INSERT INTO events (event_id, data) VALUES (?, ?)", (pending.event_id, rows.event_json(pending))
            )
            assert cursor.lastrowid is not None
            records.append(EventRecord(cursor.lastrowid, pending.event_id, pending.timestamp, pending.event))
        return records
