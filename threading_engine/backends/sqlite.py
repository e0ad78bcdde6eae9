"""The SQLite backend: a durable store for one host, using only the standard library's ``sqlite3``.

Every unit of work is one ``BEGIN IMMEDIATE`` transaction: it takes SQLite's write lock before it reads, so
writers from any number of processes are serialized by the database and a view cannot go stale before its
commit. The uniqueness rules are enforced by the schema (``sqlite_schema.py``) all the same, so a bug or a
foreign writer cannot break them either. Driver errors become the library's errors in :func:`_translated`.

A message on a recently used key reads only whether its idempotency id is taken: the rest of its view is
remembered from earlier transactions, and forgotten whenever it could be stale (``viewcache.py``).

Durability: WAL journal, and ``synchronous=FULL`` by default (a commit survives power loss);
``synchronous=NORMAL`` is faster and survives a crash of the process but may lose the last commits on power
loss.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeVar

from ..decisions import Changes, View, ViewQuery
from ..errors import StorageError, WriteConflict
from ..events import EventRecord
from ..model import Channel, ChannelAccount, Message, Thread, Ticket
from ..repository import PendingEvent, id_taken
from . import rows
from .sqlite_schema import CONFLICTS, INSERTED_IDS, migrate
from .view import ViewRows
from .viewcache import DEFAULT_VIEW_CACHE_SIZE, UnitViews, ViewCache, cache_key

Synchronous = Literal["FULL", "NORMAL"]
_Value = TypeVar("_Value")


_UNIQUE_FAILED = "UNIQUE constraint failed: "


def _translate(error: sqlite3.Error, inserted_id: str | None = None) -> Exception:
    """The one place where ``sqlite3`` errors become the library's errors.

    Only a uniqueness rule a concurrent writer can break (U1-U4) is a lost race (WriteConflict); any other
    refused row is a StorageError at once, an id taken (U0) naming ``inserted_id``, the id being inserted.
    """
    if isinstance(error, sqlite3.IntegrityError):
        columns = str(error).removeprefix(_UNIQUE_FAILED)
        conflict = CONFLICTS.get(columns)
        if conflict is not None:
            rule, index = conflict
            return WriteConflict(f"{index} ({rule}) refused the commit: a concurrent writer won ({error})", rule=rule)
        field = INSERTED_IDS.get(columns)
        if field is not None:
            return id_taken(field, inserted_id)
        return StorageError(f"SQLite refused a row: {error}")
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        if "locked" in message or "busy" in message:
            return WriteConflict(f"the database stayed locked: {error}")
    if isinstance(error, sqlite3.DatabaseError):
        return StorageError(f"SQLite failed: {error}")
    return error


class _Translated:
    """``with _translated:`` raises :func:`_translate`'s error for a ``sqlite3`` error in its block.

    A stateless class rather than ``@contextmanager``: it is entered several times per command, and a
    generator-based context manager costs a new generator and several calls each time.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if isinstance(error, sqlite3.Error):
            translated = _translate(error)
            if translated is not error:
                raise translated from error


_translated = _Translated()


class SQLiteRepository:
    """A repository in one SQLite file (or ``":memory:"``), shared safely by threads and processes.

    One connection per repository, guarded by a lock; open one repository per process.

    ``view_cache_size``: how many keys' views to remember between transactions (``viewcache.py``), so that a
    message on a recently used key reads only whether its idempotency id is taken; 0 remembers none.
    """

    def __init__(
        self,
        path: str = ":memory:",
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 30.0,
        view_cache_size: int = DEFAULT_VIEW_CACHE_SIZE,
    ):
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous {synchronous!r} is not FULL or NORMAL")
        self.path = path
        self._lock = threading.RLock()
        self._views = ViewCache(view_cache_size)
        with _translated:
            self._connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if path != ":memory:":
                self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute(f"PRAGMA synchronous = {synchronous}")
            migrate(self._connection)

    # -- transactions -------------------------------------------------------------------------------------

    def unit_of_work(self) -> _SQLiteUnitOfWork:
        return _SQLiteUnitOfWork(self._connection, self._lock, self._views)

    # -- reads ---------------------------------------------------------------------------------------------

    def _one(self, sql: str, parameters: Sequence[Any]) -> Any:
        with self._lock, _translated:
            return self._connection.execute(sql, parameters).fetchone()

    def _all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self._lock, _translated:
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
        with self._lock, _translated:
            cursor = self._connection.executemany(
                "UPDATE events SET acknowledged = 1 WHERE event_id = ? AND acknowledged = 0", [(i,) for i in ids]
            )
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class _SQLiteUnitOfWork:
    """One ``BEGIN IMMEDIATE`` transaction, holding the repository's lock from entry to exit; rolled back on
    exit unless it committed. A plain class rather than ``@contextmanager``: one is entered per command."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock, cache: ViewCache) -> None:
        self._connection = connection
        self._lock = lock
        self._cache = cache
        self._views: UnitViews | None = None
        self._committed = False
        self._records: list[EventRecord] = []
        # The stored version of every thread this unit has read or written, by id: a change to one of them is
        # written as an UPDATE of the columns that differ, so SQLite maintains only the indexes it must.
        self._stored: dict[str, Thread] = {}

    def __enter__(self) -> _SQLiteUnitOfWork:
        self._lock.acquire()
        try:
            with _translated:
                self._connection.execute("BEGIN IMMEDIATE")
                if self._cache.size:
                    # Under the write lock, before any read: a commit by another connection shows here.
                    self._cache.check_version(self._connection.execute("PRAGMA data_version").fetchone()[0])
                    self._views = UnitViews(self._cache)
        except BaseException:
            try:
                if self._connection.in_transaction:  # BEGIN went through and what followed failed
                    self._connection.execute("ROLLBACK")
            finally:
                self._lock.release()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
        finally:
            self._lock.release()

    def load(self, query: ViewQuery) -> View:
        with _translated:
            return self._load(query)

    def _load(self, query: ViewQuery) -> View:
        views = self._views
        key = None if views is None else cache_key(query)
        if views is None or key is None:
            return self._read(query)
        view = views.get(key)
        if view is not None and (
            query.idempotency_id is None
            or self._connection.execute(_TAKEN, (query.channel_account_id, query.idempotency_id)).fetchone() is None
        ):
            stored = self._stored
            for thread in (view.open_thread, view.latest_closed_thread, view.integration_thread):
                if thread is not None:
                    stored[thread.id] = thread
            return view
        view = self._read(query)
        if view.duplicate is None:
            views.loaded(key, view)
        return view

    def _read(self, query: ViewQuery) -> View:
        """At most two statements in the common case: the thread a query names, then everything else at once."""
        found = ViewRows()
        account_id, key, integration_thread_id = query.channel_account_id, query.key, query.integration_thread_id
        thread = None
        if query.thread_id is not None:
            _add_rows(found, self._connection.execute(_THREAD_BY_ID, (query.thread_id,)).fetchall())
            thread = found.threads.get("thread")
            if thread is not None:
                account_id = thread.channel_account_id
                if thread.integration_thread_id is None:
                    key = thread.key
                else:
                    integration_thread_id = thread.integration_thread_id
        identifier = query.account_identifier
        # In the order of _VIEW_PARAMETERS (numbered, as a tuple: cheaper to bind than names from a dict).
        parameters = (
            account_id,
            query.channel_id,
            key,
            integration_thread_id,
            query.idempotency_id,
            None if identifier is None else identifier.type.value,
            None if identifier is None else identifier.value,
        )
        has_account = account_id is not None
        # Positional: the cache looks up a tuple of flags, where keywords would cost it a dictionary each time.
        sql, used = _view_sql(
            has_account,  # account
            has_account or query.channel_id is not None,  # channel
            has_account and key is not None,  # key
            has_account and integration_thread_id is not None,  # integration
            has_account and query.idempotency_id is not None,  # duplicate
            identifier is not None and (has_account or query.channel_id is not None),  # identifier_holder
        )
        if sql:
            _add_rows(found, self._connection.execute(sql, parameters[:used]).fetchall())
        duplicate = found.duplicate()
        if duplicate is not None:
            _add_rows(found, self._connection.execute(_DUPLICATE_THREAD, (duplicate.thread_id,)).fetchall())
        stored = self._stored
        for found_thread in (*found.threads.values(), *found.key_threads):
            stored[found_thread.id] = found_thread
        return found.view(duplicate)

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        if self._committed:
            raise RuntimeError("this unit of work has committed")
        with _translated:
            self._records.extend(self._write(changes, events))
        if self._views is not None:
            self._views.saved(changes)

    def commit(self) -> tuple[EventRecord, ...]:
        if self._committed:
            raise RuntimeError("a unit of work commits at most once")
        self._committed = True
        try:
            with _translated:
                self._connection.execute("COMMIT")
        except BaseException:
            self._cache.clear()  # whether anything was written is not known: remember nothing
            raise
        if self._views is not None:
            self._views.committed()
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
                "ON CONFLICT (id) DO UPDATE SET identifier_type = excluded.identifier_type, "
                "identifier_value = excluded.identifier_value, data = excluded.data",
                (
                    account.id,
                    account.channel_id,
                    account.delivery_identifier.type.value,
                    account.delivery_identifier.value,
                    rows.account_json(account),
                ),
            )
        for thread in changes.threads:
            self._write_thread(thread)
        for ticket in changes.tickets:
            execute(
                "INSERT INTO tickets (id, thread_id, status) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status",
                (ticket.id, ticket.thread_id, ticket.status.value),
            )
        if changes.message is not None:
            message = changes.message
            try:
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
            except sqlite3.IntegrityError as error:
                raise _translate(error, message.id) from error
        records = []
        for pending in events:
            try:
                cursor = execute(
                    "INSERT INTO events (event_id, data) VALUES (?, ?)", (pending.event_id, rows.event_json(pending))
                )
            except sqlite3.IntegrityError as error:
                raise _translate(error, pending.event_id) from error
            assert cursor.lastrowid is not None
            records.append(EventRecord(cursor.lastrowid, pending.event_id, pending.timestamp, pending.event))
        return records

    def _write_thread(self, thread: Thread) -> None:
        stored = self._stored.get(thread.id)
        if stored is None:
            self._connection.execute(_UPSERT_THREAD, rows.thread_row(thread))
        else:
            # The write lock is held since BEGIN IMMEDIATE, so the row is still as this unit last saw it.
            changed = tuple(i for i, name in _MUTABLE_THREAD_FIELDS if getattr(thread, name) != getattr(stored, name))
            if changed:
                row = rows.thread_row(thread)
                self._connection.execute(_thread_update_sql(changed), (*(row[i] for i in changed), thread.id))
        self._stored[thread.id] = thread


_THREAD_COLUMN_NAMES = tuple(name.strip() for name in rows.THREAD_COLUMNS.split(","))
# The columns a thread's changes may touch (its id, account, key, creation and integration id never change),
# as (column index, the Thread attribute of the same name).
_MUTABLE_THREAD_FIELDS = tuple(
    (_THREAD_COLUMN_NAMES.index(name), name)
    for name in ("status", "archived", "closed_at", "ticket_id", "latest_message_at")
)
_UPSERT_THREAD = (
    f"INSERT INTO threads ({rows.THREAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET status = excluded.status, archived = excluded.archived, "
    "closed_at = excluded.closed_at, ticket_id = excluded.ticket_id, "
    "latest_message_at = excluded.latest_message_at"
)


@functools.cache
def _thread_update_sql(columns: tuple[int, ...]) -> str:
    assignments = ", ".join(f"{_THREAD_COLUMN_NAMES[i]} = ?" for i in columns)
    return f"UPDATE threads SET {assignments} WHERE id = ?"


# -- the view in as few statements as possible --------------------------------------------------------------
#
# Every statement below returns rows of one shape: (role, the ten thread columns, the thread's ticket's
# thread id and status, a JSON document). Thread rows carry their ticket, so tickets cost no statement.

_NO_THREAD = ", ".join(["NULL"] * 12)
_THREAD_AND_TICKET = ", ".join(f"t.{name}" for name in _THREAD_COLUMN_NAMES) + ", k.thread_id, k.status, NULL"
_THREADS = "threads AS t LEFT JOIN tickets AS k ON k.id = t.ticket_id"
_THREAD_BY_ID = f"SELECT 'thread', {_THREAD_AND_TICKET} FROM {_THREADS} WHERE t.id = ?"
# Whether a message already has the idempotency id: all a remembered view leaves to read (D1).
_TAKEN = "SELECT 1 FROM messages WHERE account_id = ? AND idempotency_id = ?"
_DUPLICATE_THREAD = f"SELECT 'duplicate_thread', {_THREAD_AND_TICKET} FROM {_THREADS} WHERE t.id = ?"
# The view statement's parameters, bound by number: ``?1`` is the account id wherever it appears, and so on.
_VIEW_PARAMETERS = (
    "account_id",
    "channel_id",
    "key",
    "integration_thread_id",
    "idempotency_id",
    "identifier_type",
    "identifier_value",
)
# U1's condition: the key's open thread, found through the partial index threads_one_open_per_key.
_OPEN_FOR_KEY = (
    "{t}.account_id = :account_id AND {t}.key = :key AND {t}.status = 'OPEN' AND {t}.archived = 0 "
    "AND {t}.integration_thread_id IS NULL"
)
_WANTED_CHANNEL = "coalesce((SELECT channel_id FROM accounts WHERE id = :account_id), :channel_id)"
_VIEW_PARTS = {
    "account": f"SELECT 'account', {_NO_THREAD}, data FROM accounts WHERE id = :account_id",
    "channel": f"SELECT 'channel', {_NO_THREAD}, data FROM channels WHERE id = {_WANTED_CHANNEL}",
    # The key's open thread (through U1's index), else its latest closed one (R4b): the last entry of
    # threads_by_key, read backwards, so a key's history costs no sort however long it is (``seq`` is the
    # rowid, which ends every index entry, so a tie on closed_at goes to the thread created last). LIMIT
    # needs its own subquery inside a compound select. A key with an open thread has no latest closed one in
    # its view: the second part then looks for the key NULL, which SQLite answers without opening
    # threads_by_key (a page a large store no longer caches), after a second look at U1's page, which the
    # first part has just read. (A NOT EXISTS beside the other conditions would be tested after the seek.)
    "key": f"SELECT 'key', {_THREAD_AND_TICKET} FROM {_THREADS} "
    f"WHERE {_OPEN_FOR_KEY.format(t='t')} "
    f"UNION ALL SELECT * FROM (SELECT 'key', {_THREAD_AND_TICKET} FROM {_THREADS} "
    "WHERE t.account_id = :account_id "
    f"AND t.key = (SELECT :key WHERE NOT EXISTS (SELECT 1 FROM threads AS o WHERE {_OPEN_FOR_KEY.format(t='o')})) "
    "AND t.archived = 0 AND t.integration_thread_id IS NULL AND t.closed_at IS NOT NULL "
    "ORDER BY t.closed_at DESC, t.seq DESC LIMIT 1)",
    "integration": f"SELECT 'integration', {_THREAD_AND_TICKET} FROM {_THREADS} "
    "WHERE t.account_id = :account_id AND t.integration_thread_id = :integration_thread_id AND t.archived = 0",
    "duplicate": f"SELECT 'duplicate', {_NO_THREAD}, data FROM messages "
    "WHERE account_id = :account_id AND idempotency_id = :idempotency_id",
    "identifier_holder": f"SELECT 'identifier_holder', {_NO_THREAD}, data FROM accounts "
    f"WHERE channel_id = {_WANTED_CHANNEL} "
    "AND identifier_type = :identifier_type AND identifier_value = :identifier_value",
}


@functools.cache
def _view_sql(*wanted: bool) -> tuple[str, int]:
    """One statement that reads the parts of a view flagged in ``wanted``, in the order of :data:`_VIEW_PARTS`
    (empty if none is), one per combination; and how many of :data:`_VIEW_PARAMETERS` it takes (SQLite wants
    exactly as many values as the highest number it uses)."""
    sql = " UNION ALL ".join(part for part, flag in zip(_VIEW_PARTS.values(), wanted, strict=True) if flag)
    used = 0
    for number, name in enumerate(_VIEW_PARAMETERS, start=1):
        if f":{name}" in sql:
            sql = sql.replace(f":{name}", f"?{number}")
            used = number
    return sql, used


def _add_rows(found: ViewRows, statement_rows: Iterable[Sequence[Any]]) -> None:
    """Hand ``found`` what each row of a view statement holds (the shape described above)."""
    for row in statement_rows:
        role = row[0]
        if row[1] is None:
            found.document(role, row[13])
            continue
        thread = rows.thread_from_row(row, 1)
        found.thread(role, thread)
        if thread.ticket_id is not None and row[12] is not None:
            found.ticket(rows.ticket_from_row((thread.ticket_id, row[11], row[12])))
