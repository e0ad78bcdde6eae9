"""One unit of work on PostgreSQL, and the one place where driver errors become the library's errors.

See ``postgres.py`` for the theory: a unit of work is one READ COMMITTED transaction sent as two pipelines,
one that locks the command's subject and loads its view, one that writes, appends the events and commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import PoolTimeout

from ..decisions import Changes, View, ViewQuery
from ..errors import StorageError, WriteConflict
from ..events import EventRecord
from ..model import Message, Thread, Ticket
from ..repository import PendingEvent
from . import rows

if TYPE_CHECKING:
    from .postgres import PostgresRepository

Connection = psycopg.Connection[tuple[Any, ...]]

_LOST_RACES = {
    "23505": "a uniqueness rule (U1-U4) rejected the commit",
    "40001": "a serialization failure",
    "40P01": "a deadlock",
    "55P03": "a lock was not granted within lock_timeout",
}
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
    if state in _LOST_RACES:
        return WriteConflict(f"lost a race to a concurrent writer, {_LOST_RACES[state]}: {error}")
    if connection_lost(error):
        if nothing_sent:
            return WriteConflict(f"the connection was lost before COMMIT; nothing was written: {error}")
        return StorageError(f"the connection to PostgreSQL was lost: {error}")
    return StorageError(f"PostgreSQL failed ({state or type(error).__name__}): {error}")


class PostgresUnitOfWork:
    """One transaction on one pooled connection: one pipeline to load, one to commit (see ``postgres.py``)."""

    def __init__(self, repository: PostgresRepository, connection: Connection) -> None:
        self._repository = repository
        self._statements = repository._statements
        self._connection = connection
        self._backend_pid = connection.info.backend_pid
        self._committed = False
        self._writing = False
        # Saved decisions not yet sent: they travel with the next load's pipeline or with COMMIT's, so that
        # saving costs no round trip of its own.
        self._queued: list[tuple[Changes, Sequence[PendingEvent]]] = []
        self._inserted: list[tuple[psycopg.Cursor[tuple[Any, ...]], Sequence[PendingEvent]]] = []
        # Everything saved in this unit, sent or not: what a lost COMMIT must be settled against.
        self._saved_events: list[PendingEvent] = []
        self._last_message: Message | None = None

    def _begin_if_idle(self) -> None:
        connection = self._connection
        if connection.info.transaction_status == TransactionStatus.IDLE:
            # Explicit, whatever the server's default: the lock-then-read argument needs READ COMMITTED.
            connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED", prepare=False)
            timeout = f"{max(1, round(self._repository.lock_timeout * 1000))}ms"
            connection.execute("SELECT set_config('lock_timeout', %s, true)", (timeout,), prepare=True)

    def load(self, query: ViewQuery) -> View:
        repository, statements = self._repository, self._statements
        identifier = query.account_identifier
        parameters = {
            "names": statements.lock_names(query),
            "prefix": statements.lock_prefix,
            "thread_id": query.thread_id,
            "account_id": query.channel_account_id,
            "key": query.key,
            "integration_thread_id": query.integration_thread_id,
            "idempotency_id": query.idempotency_id,
            "channel_id": query.channel_id,
            "identifier_type": None if identifier is None else identifier.type.value,
            "identifier_value": None if identifier is None else identifier.value,
        }
        with repository._translated(nothing_sent=True):
            connection = self._connection
            lock, view = connection.cursor(), connection.cursor()

            def send() -> None:
                self._begin_if_idle()
                self._send_queued()
                lock.execute(statements.LOCK, parameters, prepare=True)
                view.execute(statements.VIEW, parameters, prepare=True)

            in_one_round_trip(connection, send)
            locked = {row[0] for row in lock.fetchall()}
            found = view_from_rows(view.fetchall())
        if found.thread is not None and statements.thread_lock_name(found.thread) not in locked:
            # The thread was committed between LOCK and VIEW, so its key was not locked: read again.
            raise WriteConflict(f"thread {found.thread.id} appeared while its lock was being taken")
        return found

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        if self._committed:
            raise RuntimeError("this unit of work has committed")
        self._queued.append((changes, events))
        self._saved_events.extend(events)
        if changes.message is not None:
            self._last_message = changes.message

    def _send_queued(self) -> None:
        """Queue the saved writes and events on the open pipeline (the caller syncs it)."""
        connection, statements = self._connection, self._statements
        for changes, events in self._queued:
            self._writing = True
            self._write(changes)
            if events:
                connection.execute(statements.LOCK_OUTBOX_SHARED, (self._repository._outbox_lock,), prepare=True)
                inserted = connection.cursor()
                ids, data = [p.event_id for p in events], [rows.event_json(p) for p in events]
                inserted.execute(statements.INSERT_EVENTS, (ids, data), prepare=True)
                self._inserted.append((inserted, events))
        self._queued.clear()

    def commit(self) -> tuple[EventRecord, ...]:
        if self._committed:
            raise RuntimeError("a unit of work commits at most once")
        self._committed = True
        connection = self._connection
        commit_sent = False

        def send() -> None:
            nonlocal commit_sent
            self._begin_if_idle()
            self._send_queued()
            commit_sent = True
            connection.execute("COMMIT", prepare=False)

        try:
            in_one_round_trip(connection, send)
        except psycopg.Error as error:
            if commit_sent and connection_lost(error, connection):
                return self._repository._settle_lost_commit(
                    self._backend_pid, self._saved_events, self._last_message, error
                )
            if connection_lost(error, connection):
                self._repository._recover()
            raise translate(error, nothing_sent=True) from error
        records: list[EventRecord] = []
        for cursor, events in self._inserted:
            sequences = {event_id: sequence for sequence, event_id in cursor.fetchall()}
            records.extend(EventRecord(sequences[p.event_id], p.event_id, p.timestamp, p.event) for p in events)
        return tuple(records)

    def _write(self, changes: Changes) -> None:
        statements = self._statements

        def execute(sql: str, parameters: Sequence[Any]) -> None:
            self._connection.execute(sql, parameters, prepare=True)

        if changes.channel is not None:
            execute(statements.UPSERT_CHANNEL, (changes.channel.id, rows.channel_json(changes.channel)))
        if changes.account is not None:
            account = changes.account
            identifier = account.delivery_identifier
            execute(
                statements.UPSERT_ACCOUNT,
                (account.id, account.channel_id, identifier.type.value, identifier.value, rows.account_json(account)),
            )
        for thread in changes.threads:
            execute(statements.UPSERT_THREAD, rows.thread_row(thread))
        for ticket in changes.tickets:
            execute(statements.UPSERT_TICKET, (ticket.id, ticket.thread_id, ticket.status.value))
        if changes.message is not None:
            message = changes.message
            execute(
                statements.INSERT_MESSAGE,
                (
                    message.id,
                    message.thread_id,
                    message.channel_account_id,
                    message.integration_idempotency_id,
                    rows.message_json(message),
                ),
            )

    def end(self) -> None:
        """End the transaction if ``commit`` did not; a dead connection is left for the pool to discard.

        A transaction that never started writing ends with COMMIT, which writes nothing and releases the
        locks like ROLLBACK would: psycopg forgets every prepared statement on a rollback, so rolling back
        each read-only unit of work (a DUPLICATE, a rejected command) would cost re-preparing all of them.
        """
        connection = self._connection
        if connection.closed or connection.info.transaction_status == TransactionStatus.IDLE:
            return
        try:
            if self._writing or connection.info.transaction_status != TransactionStatus.INTRANS:
                connection.rollback()
            else:
                connection.commit()
        except psycopg.Error:
            pass


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


def view_from_rows(found: list[tuple[Any, ...]]) -> View:
    """The :class:`View` from ``VIEW``'s rows: (role, ten thread columns or a ticket's three, document)."""
    threads: dict[str, Thread] = {}
    open_thread = latest_closed = None
    documents: dict[str, str] = {}
    tickets: dict[str, Ticket] = {}
    for role, *columns, data in found:
        if role == "ticket":
            ticket = rows.ticket_from_row(columns[:3])
            tickets[ticket.id] = ticket
        elif data is not None:
            documents[role] = data
        elif role == "key":
            # Open first, then the latest closed (R4b): as ordered by VIEW.
            thread = rows.thread_from_row(columns)
            if thread.is_open and open_thread is None:
                open_thread = thread
            elif not thread.is_open and latest_closed is None:
                latest_closed = thread
        else:
            threads[role] = rows.thread_from_row(columns)
    account = documents.get("account")
    channel = documents.get("channel")
    duplicate = documents.get("duplicate")
    holder = documents.get("identifier_holder")
    return View(
        channel=None if channel is None else rows.channel_from_json(channel),
        account=None if account is None else rows.account_from_json(account),
        thread=threads.get("thread"),
        open_thread=open_thread,
        latest_closed_thread=latest_closed,
        integration_thread=threads.get("integration"),
        duplicate=None if duplicate is None else rows.message_from_json(duplicate),
        duplicate_thread=threads.get("duplicate_thread") if duplicate is not None else None,
        account_with_identifier=None if holder is None else rows.account_from_json(holder),
        tickets=tickets,
    )
