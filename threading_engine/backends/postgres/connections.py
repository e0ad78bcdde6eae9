"""Connections to PostgreSQL, the one place where driver errors become the library's, and settling a lost COMMIT.

:class:`Connections` owns the pool (or the connection a caller lends), checks connections after a session was
lost, and answers whether a COMMIT whose answer never came took effect. :func:`translate` is the one place
where driver errors become the library's: lost races (a row refused by U1-U4's index or constraint, recognised
by its name; 40001, 40P01, 55P03) and a connection lost before ``COMMIT`` was sent are
:class:`WriteConflict`, which the engine retries; any other refused row (an id already taken, U0) is a
:class:`StorageError` at once; anything else is :class:`StorageError`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ...errors import StaleView, StorageError, ValidationError, WriteConflict
from ...events import EventRecord
from ...model import Message
from ...repository import PendingEvent, id_taken
from ...storable import masked
from .. import rows
from .schema import CONFLICTS, INSERTED_IDS, STALE_VIEW, Statements, migrate

Connection = psycopg.Connection[tuple[Any, ...]]
_Row = tuple[Any, ...]

_LOST_RACES = {
    "40001": "a serialization failure",
    "40P01": "a deadlock",
    "55P03": "a lock was not granted within lock_timeout",
}
# A row refused by a unique index (23505) or an exclusion constraint (23P01): see ``_refused``.
_REFUSED = {"23505", "23P01"}
_TAKEN_VALUE = re.compile(r"\)=\((.*)\) already exists", re.DOTALL)
# ``lock_timeout`` for this transaction only (true) or for the session (false).
SET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, %s)"
# The server ended the session (pg_terminate_backend, shutdown, crash) or the network dropped it.
_SESSION_ENDED = {"57P01", "57P02", "57P03"}


def connection_lost(error: BaseException, connection: Connection | None = None) -> bool:
    """Whether ``error`` means the session is gone (so nothing more can happen on it)."""
    if connection is not None and connection.closed:
        return True
    if isinstance(error, psycopg.InterfaceError):
        return True
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate
    return state is None or state.startswith("08") or state in _SESSION_ENDED


def translate(error: BaseException, *, nothing_sent: bool = False) -> StorageError:
    """The library's error for a driver error. ``nothing_sent``: no COMMIT can have reached the server."""
    if isinstance(error, StorageError):
        return error
    if isinstance(error, PoolTimeout):
        return StorageError(f"no PostgreSQL connection became free in time (raise max_size?): {error}")
    state = getattr(error, "sqlstate", None)
    if state in _REFUSED and isinstance(error, psycopg.Error):
        return _refused(error)
    if state == STALE_VIEW:
        return StaleView(f"a remembered view was stale: {error}")
    if state in _LOST_RACES:
        return WriteConflict(f"lost a race to a concurrent writer, {_LOST_RACES[state]}: {error}")
    if connection_lost(error):
        if nothing_sent:
            return WriteConflict(f"the connection was lost before COMMIT; nothing was written: {error}")
        return StorageError(f"the connection to PostgreSQL was lost: {error}")
    return StorageError(f"PostgreSQL failed ({state or type(error).__name__}): {error}")


def _refused(error: psycopg.Error) -> StorageError:
    """A refused row, recognised by the constraint's name: a lost race if it enforces U1-U4, else a StorageError
    at once (an id taken, U0, names the id)."""
    name = error.diag.constraint_name or ""
    rule = CONFLICTS.get(name)
    if rule is not None:
        return WriteConflict(f"{name} ({rule}) refused the commit: a concurrent writer won ({error})", rule=rule)
    field = INSERTED_IDS.get(name)
    if field is not None:
        found = _TAKEN_VALUE.search(error.diag.message_detail or "")
        return id_taken(field, None if found is None else found[1])
    return StorageError(f"PostgreSQL refused a row ({name or error.sqlstate}): {error}")


Pool = ConnectionPool[Connection]
_T = TypeVar("_T")
# Session states in which a transaction may still commit.
_UNFINISHED = {"active", "idle in transaction", "fastpath function call"}
# psycopg_pool retries a connection that failed with exponential backoff (1 s, 2 s, 4 s, ...) for
# ``reconnect_timeout``, so after a failover the pool could stay away from the new primary about as long again as
# the old one was gone. The repository's own pool ends each round of retries after this many seconds and starts
# the next at once: it tries about every second for as long as the server is away.
RECONNECT_ROUND = 2.0


class Connections:
    """The connections of one store: a pool made from a URL (``min_size`` to ``max_size``; closed by
    :meth:`close`), or a ``ConnectionPool`` or ``Connection`` a caller lends (left open). Connections are used
    in autocommit mode, with explicit transactions; the schema is created or migrated on opening."""

    def __init__(
        self,
        target: str | Pool | Connection,
        *,
        schema: str,
        statements: Statements,
        min_size: int,
        max_size: int,
        lock_timeout: float,
        connect_timeout: float,
        pool_timeout: float,
    ) -> None:
        self.statements = statements
        self.pool_timeout = pool_timeout
        self.lock_timeout = lock_timeout
        self.lock_timeout_text = f"{max(1, round(lock_timeout * 1000))}ms"
        # The pool made here sets lock_timeout once per connection; on a pool or connection the caller lends,
        # each transaction sets its own, leaving the caller's sessions as they were.
        self.session_lock_timeout = isinstance(target, str)
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
            with self.translated():
                if self._single is not None:
                    self._single.autocommit = True  # refused (and reported) while it is inside a transaction
                with self.connection() as connection:
                    migrate(connection, schema)

    @contextmanager
    def translated(self, *, nothing_sent: bool = False) -> Iterator[None]:
        """Driver errors inside become the library's (:func:`translate`); a lost session makes the pool check
        its connections before use (:meth:`recover`)."""
        try:
            yield
        except (psycopg.Error, PoolTimeout) as error:
            if connection_lost(error):
                self.recover()
            raise translate(error, nothing_sent=nothing_sent) from error

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection in autocommit mode: the one lent, or one of the pool's (checked first after a loss)."""
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
        """Set up a connection of the repository's own pool: its sessions' ``lock_timeout``, and READ COMMITTED
        for the transactions a remembered view's pipeline runs without ``BEGIN`` (whatever the server's default)."""
        connection.execute(SET_LOCK_TIMEOUT, (self.lock_timeout_text, False))
        connection.execute("SELECT set_config('default_transaction_isolation', 'read committed', false)")

    def _fresh_connection(self) -> Connection:
        """A new connection outside the pool, made the way the pool makes them."""
        if self._pool is not None:
            pool = self._pool  # conninfo and kwargs may be callables (psycopg_pool 3.3)
            conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
            options = pool.kwargs() if callable(pool.kwargs) else pool.kwargs
            return psycopg.connect(conninfo, **{**(options or {}), "autocommit": True})
        assert self._single is not None
        return psycopg.connect(self._single.info.dsn, autocommit=True)

    def recover(self) -> None:
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

    def close(self) -> None:
        """Close the pool made here; a pool or connection lent is left to its owner."""
        if self._owns_pool and self._pool is not None:
            self._pool.close()

    def settle_lost_commit(
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
        self.recover()
        statements = self.statements
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

    def read(self, read: Callable[[Connection], _T]) -> _T:
        """``read`` on a connection; reads are idempotent, so one retry hides a pooled connection that died idle."""
        for attempt in (1, 2):
            try:
                with self.connection() as connection:
                    return read(connection)
            except (psycopg.Error, PoolTimeout) as error:
                if attempt == 1 and connection_lost(error):
                    self.recover()
                    continue
                raise translate(error) from error
        raise AssertionError("unreachable")


def in_one_round_trip(connection: Connection, send: Callable[[], None]) -> None:
    """Run the statements ``send`` queues as one pipeline, synced once; raise the first error the server reported.

    The first error is caught inside the pipeline block so that leaving it does not log the "pipeline
    aborted" of the statements the server then skipped: a lost race is routine here, not a warning.
    """
    first: psycopg.Error | None = None
    try:
        with connection.pipeline():
            try:
                send()
            except psycopg.Error as error:
                first = error
    except psycopg.Error as error:
        first = first or error
    if first is not None:
        raise first


def _retry_connecting(pool: Pool) -> None:
    """Discard the pool's dead connections and start connecting anew, where it has room (a round of retries
    that gave up leaves room)."""
    with suppress(Exception):  # a best effort: the next unit of work reports whatever is still wrong
        pool.check()
