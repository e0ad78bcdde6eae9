"""The PostgreSQL backend: one database shared by many server processes on many hosts (psycopg 3).

Theory of operation
-------------------
A unit of work is one READ COMMITTED transaction and, in steady state, two round trips to the server
(``postgres_unit.py``):

1. ``load`` sends one pipeline: ``BEGIN`` (with the transaction's ``lock_timeout`` on a connection the caller
   lent; the repository's own pool sets it once per connection), ``LOCK`` and ``VIEW``
   (``postgres_schema.Statements``). ``LOCK`` takes a transaction-scoped advisory lock on the command's
   *subject*: the (account, key) of a DELIVERY_IDENTIFIER message or thread, the (account, integration thread
   id) of an INTEGRATION_THREAD_ID one, the (channel, identifier) of a new account, else the account or channel
   being updated. ``VIEW`` then reads everything the rules need in one statement. They must be two statements:
   under READ COMMITTED each statement reads a snapshot taken when it starts, so only a statement that starts
   after the lock is granted sees every commit of the lock's previous holders.
2. ``commit`` sends one pipeline: the upserts, the events (whose insert takes the outbox lock), and
   ``COMMIT``. A unit of work that writes nothing (a DUPLICATE, a rejected command) ends its transaction
   instead: still two round trips.

A batch (``Engine.execute_many``) costs two round trips too, however many commands it holds: ``prefetch``
sends one ``LOCK`` for the subjects of every command (in name order, so two batches never wait for each other
in a cycle) and one ``VIEW`` per command, in one pipeline; each later ``load`` is answered from those views,
kept current with what the batch saved since (``readahead.py``), or, where that is not certain, read again.
Saved rows wait for the next pipeline and are written a few statements per table, one array per column.

Every writer of a thread holds the lock of its key, so a message appended to an open thread and a command
closing that thread run one after the other, each on the other's result (R1, R3, R4, R7, R8 need that); the
partial unique indexes of U1-U4 (``postgres_schema.py``) are the backstop that turns any race the locks
miss into a :class:`WriteConflict`, which the engine retries.

Concurrency control, measured: 4 processes x 4 threads for 8 s, 70 % incoming and 15 % outgoing publishes,
10 % closes, 5 % archives, 2 cores shared with PostgreSQL 15 (``synchronous_commit`` on), two runs each:

=====================================  ============================  ============================
scheme                                 4 keys (all contended)        5,000 keys (rarely)
=====================================  ============================  ============================
(a) advisory lock on the key (chosen)  426-536 cmd/s, p99 0.1 s      613-628 cmd/s, p99 0.08 s
(b) READ COMMITTED, rows FOR UPDATE    133-162 cmd/s, p99 2-3 s      444-506 cmd/s, p99 0.1 s
(c) SERIALIZABLE, no locks             117-138 cmd/s, 3.2 tries/cmd  197-207 cmd/s, 2.1 tries/cmd
=====================================  ============================  ============================

(a) never retried; (b) retried 3 % of commands (unique violations between concurrent creates) and queued
badly on the row locks; (c) also failed about 40 commands per run after 10 attempts (SSI also aborts on
false conflicts between unrelated keys). All three stayed correct (stored state equal to the events).

Outbox order
------------
A sequence hands out numbers when ``nextval`` runs, not when the transaction commits, so a reader could see
event 11 committed while event 10 is still in flight and skip 10 for ever. So every commit takes a shared
advisory lock (one per schema) in the statement that draws its sequence numbers, and holds it until its commit is
visible; :meth:`PostgresRepository.read_events` reads while holding that lock *exclusively*. While a reader
holds it, no transaction is between drawing a number and committing: every number drawn so far is
committed or rolled back for good, and any number drawn later is larger than all of them. So a consumer
that reads on from the last sequence it saw misses nothing. Writers do not wait for each other (their
commits still share WAL flushes); eventsourcing's recorder takes the lock exclusively in every writer
instead, which measured 281-362 cmd/s in the runs above (no lock at all, which is unsafe: 457-714).

Errors
------
``postgres_unit.translate`` is the one place where driver errors become the library's: lost races (a row
refused by U1-U4's index or constraint, recognised by its name; 40001, 40P01, 55P03) and a connection lost
before ``COMMIT`` was sent are :class:`WriteConflict`, which the engine retries; any other refused row (an id
already taken, U0) is a :class:`StorageError` at once; a connection lost while ``COMMIT`` was in flight is
settled by asking the server whether the transaction's events (or message) exist, so a retry never applies a
change twice; anything else is :class:`StorageError`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import StorageError, ValidationError, WriteConflict
from ..events import EventRecord
from ..model import Channel, ChannelAccount, Message, Thread, Ticket
from ..repository import PendingEvent
from ..stores import masked
from . import rows
from .postgres_schema import Statements, migrate, quoted_schema
from .postgres_unit import (
    SET_LOCK_TIMEOUT,
    Connection,
    PostgresUnitOfWork,
    connection_lost,
    in_one_round_trip,
    translate,
)

Pool = ConnectionPool[Connection]
_T = TypeVar("_T")
# Session states in which a transaction may still commit.
_UNFINISHED = {"active", "idle in transaction", "fastpath function call"}
# psycopg_pool retries a connection that failed with exponential backoff (1 s, 2 s, 4 s, ...) for
# ``reconnect_timeout``, so after a failover the pool could stay away from the new primary about as long again as
# the old one was gone. The repository's own pool ends each round of retries after this many seconds and starts
# the next at once: it tries about every second for as long as the server is away.
RECONNECT_ROUND = 2.0


class PostgresRepository:
    """A repository in one PostgreSQL schema, shared safely by threads, processes and hosts.

    ``target`` is a conninfo string or ``postgresql://`` URL (the repository then owns a connection pool of
    ``min_size`` to ``max_size`` connections and closes it in :meth:`close`), or a psycopg
    ``ConnectionPool`` or ``Connection`` you own (left open by :meth:`close`; a single connection serializes
    the units of work of all threads). Connections are used in autocommit mode, with explicit transactions.
    ``schema`` names the PostgreSQL schema that holds the tables; it is created and migrated on opening.
    ``lock_timeout`` bounds the wait for a key's lock (SQLSTATE 55P03 then makes the engine retry);
    ``pool_timeout`` bounds the wait for a free connection of the pool (then :class:`StorageError`).

    Durability follows the server's ``synchronous_commit``: with the default (``on``) a commit returns once it
    is flushed to disk, so at most a few hundred commits per second and connection on an ordinary disk. A
    store URL may opt out with libpq's ``options`` parameter, ``postgresql://...?options=-csynchronous_commit%3Doff``
    (or the server or role may set it): commits return before the flush, several times faster one by one.
    The trade-off: a crash of the *server* (not of this process) may lose the commits of its last moments
    (up to three times ``wal_writer_delay``, 0.6 s by default). They are lost whole, never in part, and
    uniqueness, isolation and the outbox order are unchanged while the server runs; but a consumer may
    already have read events that the crash then lost, and their sequence numbers may be handed out again.
    Use it only where the integration can resend what the last moments before a crash received.
    """

    def __init__(
        self,
        target: str | Pool | Connection,
        *,
        schema: str = "threading_engine",
        min_size: int = 1,
        max_size: int = 10,
        lock_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        pool_timeout: float = 30.0,
    ) -> None:
        quoted_schema(schema)
        if lock_timeout <= 0:
            raise ValueError(f"lock_timeout {lock_timeout!r} must be positive")
        if pool_timeout <= 0:
            raise ValueError(f"pool_timeout {pool_timeout!r} must be positive")
        self.pool_timeout = pool_timeout
        self.schema = schema
        self.lock_timeout = lock_timeout
        self.lock_timeout_text = f"{max(1, round(lock_timeout * 1000))}ms"
        # The pool this repository makes sets lock_timeout once per connection; on a pool or connection the
        # caller lends, each transaction sets its own, leaving the caller's sessions as they were.
        self._session_lock_timeout = isinstance(target, str)
        self._statements = Statements(schema)
        self._outbox_lock = f"{self._statements.lock_prefix}outbox"
        self._pool: Pool | None = None
        self._single: Connection | None = None
        self._single_lock = threading.RLock()
        # After a lost connection, how many of the connections the pool hands out next are checked first.
        self._unchecked = 0
        self._unchecked_lock = threading.Lock()
        self._owns_pool = isinstance(target, str)
        if isinstance(target, str):
            options: dict[str, Any] = {"autocommit": True}
            try:
                settings = conninfo_to_dict(target)
            except psycopg.Error as error:
                said = masked(str(error).strip())  # no password shown
                raise ValidationError(
                    f"target is not a PostgreSQL URL or conninfo string: {said}", field="target"
                ) from None
            if "connect_timeout" not in settings:
                options["connect_timeout"] = max(1, round(connect_timeout))
            try:
                with psycopg.connect(target, **options) as first:
                    migrate(first, schema)
                self._pool = ConnectionPool(
                    target,
                    min_size=min_size,
                    max_size=max_size,
                    kwargs=options,
                    configure=self._configure,
                    open=False,
                    name=f"te-{schema}",
                    reconnect_timeout=RECONNECT_ROUND,
                    reconnect_failed=_retry_connecting,
                )
                self._pool.open(wait=True, timeout=connect_timeout)
            except (psycopg.Error, PoolTimeout) as error:
                if self._pool is not None:
                    self._pool.close()
                raise StorageError(f"cannot open the PostgreSQL store (schema {schema!r}): {error}") from error
        else:
            if isinstance(target, psycopg.Connection):
                self._single = target
            else:
                self._pool = target
            with self._translated():
                if self._single is not None:
                    self._single.autocommit = True  # refused (and reported) while it is inside a transaction
                with self._connection() as connection:
                    migrate(connection, schema)

    # -- connections ---------------------------------------------------------------------------------------

    @contextmanager
    def _translated(self, *, nothing_sent: bool = False) -> Iterator[None]:
        try:
            yield
        except (psycopg.Error, PoolTimeout) as error:
            if connection_lost(error):
                self._recover()
            raise translate(error, nothing_sent=nothing_sent) from error

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if self._single is not None:
            with self._single_lock:
                if self._single.closed:
                    raise StorageError("the PostgreSQL connection given to the repository is closed")
                yield self._single
            return
        assert self._pool is not None
        connection = self._checked() if self._unchecked else self._pool.getconn(timeout=self.pool_timeout)
        try:
            if not connection.autocommit:  # a pool the caller configured otherwise
                connection.autocommit = True
            yield connection
        finally:
            self._pool.putconn(connection)

    def _configure(self, connection: Connection) -> None:
        """Set up a connection of the repository's own pool: its sessions' ``lock_timeout``."""
        connection.execute(SET_LOCK_TIMEOUT, (self.lock_timeout_text, False))

    def _fresh_connection(self) -> Connection:
        """A new connection outside the pool, made the way the pool makes them."""
        if self._pool is not None:
            pool = self._pool  # conninfo and kwargs may be callables (psycopg_pool 3.3)
            conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
            options = pool.kwargs() if callable(pool.kwargs) else pool.kwargs
            return psycopg.connect(conninfo, **{**(options or {}), "autocommit": True})
        assert self._single is not None
        return psycopg.connect(self._single.info.dsn, autocommit=True)

    def _recover(self) -> None:
        """After a lost connection, check the pool's connections before use until each has been, so that the
        engine's retry does not meet the other dead ones (the server may have ended them all).

        Not ``ConnectionPool.check()``: it lets the pool grow by one connection each time it runs, so a pool
        that lost a connection now and then would grow to ``max_size`` and stay there.
        """
        if self._pool is not None:
            with self._unchecked_lock:
                self._unchecked = self._pool.max_size

    def _checked(self) -> Connection:
        """A connection from the pool, checked (an empty query) while connections lost lately may still lie in
        it. A dead one goes back to the pool, which discards it and opens another in its place.

        Each request waits until the pool has a connection idle: a request that finds none makes the pool grow
        by one, and a pool that lost connections is busy replacing them already.
        """
        pool = self._pool
        assert pool is not None
        while True:
            deadline = time.monotonic() + self.pool_timeout
            while pool.get_stats()["pool_available"] == 0 and time.monotonic() < deadline:
                time.sleep(0.002)
            connection = pool.getconn(timeout=max(deadline - time.monotonic(), 0.001))
            with self._unchecked_lock:
                if self._unchecked <= 0:
                    return connection
                self._unchecked -= 1
            try:
                pool.check_connection(connection)
                return connection
            except psycopg.Error:
                pool.putconn(connection)

    # -- transactions -------------------------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        with self._translated(), self._connection() as connection:
            unit = PostgresUnitOfWork(self, connection)
            try:
                yield unit
            finally:
                unit.end()

    def _settle_lost_commit(
        self, backend_pid: int, events: Sequence[PendingEvent], message: Message | None, error: BaseException
    ) -> tuple[EventRecord, ...]:
        """The connection died while COMMIT may have been in flight: find out whether it took effect.

        Waits until the old session has finished (its transaction can no longer commit), then looks for what
        the commit wrote. Committed: the recorded events. Not committed: WriteConflict, so the engine retries
        on fresh state. Cannot tell: StorageError, and the caller may retry with its idempotency id (D1).

        "Finished": the transaction can no longer join the history the server we reach carries on. On the
        server that ran it, its session has ended or gone idle. A multi-host URL may reach a standby promoted
        since the old primary died: the old pid means nothing there (an unrelated session with it only delays
        the answer or leaves it unknown), but the answer is final, as promotion ends the replay of the old
        primary's WAL (fencing the old primary is the failover manager's part). A standby still in recovery
        may yet replay the commit, so it cannot tell.
        """
        self._recover()
        statements = self._statements
        deadline = time.monotonic() + self.lock_timeout

        def committed(connection: Connection) -> tuple[EventRecord, ...] | None:
            if connection.execute("SELECT pg_is_in_recovery()").fetchone() != (False,):
                raise StorageError("a standby in recovery cannot tell whether a commit will arrive")
            while True:
                row = connection.execute(statements.BACKEND_STATE, (backend_pid,)).fetchone()
                if row is None or row[0] not in _UNFINISHED:
                    break
                if time.monotonic() > deadline:
                    raise StorageError(f"session {backend_pid} is still busy")
                time.sleep(0.02)
            if events:
                found = connection.execute(statements.EVENTS_BY_ID, ([p.event_id for p in events],)).fetchall()
                return tuple(rows.event_from_row(sequence, data) for sequence, data in found) if found else None
            if message is not None and connection.execute(statements.MESSAGE_EXISTS, (message.id,)).fetchone():
                return ()
            return None

        for attempt in (1, 2):
            try:
                # A connection of its own: the pool may be exhausted by units of work settling just like this.
                with self._fresh_connection() as connection:
                    records = committed(connection)
                break
            except (psycopg.Error, StorageError) as check_error:
                if attempt == 2 or not connection_lost(check_error):
                    unknown = f"the connection was lost during COMMIT and its outcome is unknown: {error}"
                    raise StorageError(unknown) from check_error
        if records is None:
            raise WriteConflict(f"the connection was lost during COMMIT, which did not take effect: {error}") from error
        return records

    # -- reads ---------------------------------------------------------------------------------------------

    def _read(self, read: Callable[[Connection], _T]) -> _T:
        # Reads are idempotent: one retry hides a pooled connection that died while idle.
        for attempt in (1, 2):
            try:
                with self._connection() as connection:
                    return read(connection)
            except (psycopg.Error, PoolTimeout) as error:
                if attempt == 1 and connection_lost(error):
                    self._recover()
                    continue
                raise translate(error) from error
        raise AssertionError("unreachable")

    def _rows(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._read(lambda connection: connection.execute(sql, parameters).fetchall())

    def _one(self, sql: str, key: str) -> tuple[Any, ...] | None:
        found = self._rows(sql, (key,))
        return found[0] if found else None

    def get_channel(self, channel_id: str) -> Channel | None:
        row = self._one(self._statements.GET_CHANNEL, channel_id)
        return None if row is None else rows.channel_from_json(row[0])

    def get_account(self, channel_account_id: str) -> ChannelAccount | None:
        row = self._one(self._statements.GET_ACCOUNT, channel_account_id)
        return None if row is None else rows.account_from_json(row[0])

    def get_thread(self, thread_id: str) -> Thread | None:
        row = self._one(self._statements.GET_THREAD, thread_id)
        return None if row is None else rows.thread_from_row(row)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        row = self._one(self._statements.GET_TICKET, ticket_id)
        return None if row is None else rows.ticket_from_row(row)

    def get_message(self, message_id: str) -> Message | None:
        row = self._one(self._statements.GET_MESSAGE, message_id)
        return None if row is None else rows.message_from_json(row[0])

    def list_channels(self) -> list[Channel]:
        return [rows.channel_from_json(r[0]) for r in self._rows(self._statements.LIST_CHANNELS, ())]

    def list_accounts(self, channel_id: str | None = None) -> list[ChannelAccount]:
        found = self._rows(self._statements.LIST_ACCOUNTS, {"channel_id": channel_id})
        return [rows.account_from_json(r[0]) for r in found]

    def list_threads(self, channel_account_id: str | None = None) -> list[Thread]:
        found = self._rows(self._statements.LIST_THREADS, {"account_id": channel_account_id})
        return [rows.thread_from_row(r) for r in found]

    def list_tickets(self) -> list[Ticket]:
        return [rows.ticket_from_row(r) for r in self._rows(self._statements.LIST_TICKETS, ())]

    def list_messages(self, thread_id: str | None = None) -> list[Message]:
        found = self._rows(self._statements.LIST_MESSAGES, {"thread_id": thread_id})
        return [rows.message_from_json(r[0]) for r in found]

    def read_events(self, after: int = 0, limit: int | None = None) -> list[EventRecord]:
        """Committed events above ``after`` in sequence order; no gap below them can fill in later.

        One round trip: the read runs while holding the outbox lock alone (see "Outbox order").
        """
        statements = self._statements

        def read(connection: Connection) -> list[tuple[Any, ...]]:
            found = connection.cursor()

            def send() -> None:
                connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED", prepare=False)
                connection.execute(statements.LOCK_OUTBOX_ALONE, (self._outbox_lock,), prepare=True)
                found.execute(statements.READ_EVENTS, (after, limit), prepare=True)
                connection.execute("COMMIT", prepare=False)

            try:
                in_one_round_trip(connection, send)
            finally:
                if not connection.closed and connection.info.transaction_status != TransactionStatus.IDLE:
                    connection.rollback()
            return found.fetchall()

        return [rows.event_from_row(sequence, data) for sequence, data in self._read(read)]

    def pending_events(self, limit: int | None = None) -> list[EventRecord]:
        found = self._rows(self._statements.PENDING_EVENTS, (limit,))
        return [rows.event_from_row(sequence, data) for sequence, data in found]

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        ids = list(dict.fromkeys(event_ids))
        # Not retried after a lost connection: the count would be wrong if the first try had committed.
        with self._translated(), self._connection() as connection:
            return connection.execute(self._statements.ACKNOWLEDGE, (ids,)).rowcount

    def close(self) -> None:
        """Close the pool the repository opened; a pool or connection passed in is left to its owner."""
        if self._owns_pool and self._pool is not None:
            self._pool.close()


def _retry_connecting(pool: Pool) -> None:
    """Discard the pool's dead connections and start connecting anew, where it has room (a round of retries
    that gave up leaves room)."""
    with suppress(Exception):  # a best effort: the next unit of work reports whatever is still wrong
        pool.check()
