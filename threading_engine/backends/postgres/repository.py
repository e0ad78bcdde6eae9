"""The PostgreSQL repository: opening a store in a schema, units of work, and the reads outside them.

See the package's docstring for the theory of operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg.pq import TransactionStatus

from ...errors import StorageError, ThreadingError
from ...events import EventRecord
from ...model import Channel, ChannelAccount, Message, StagingToken, Thread, Ticket
from ...reads import AccountFilter, Page, ThreadFilter, page_of
from .. import listing, rows
from ..viewcache import DEFAULT_VIEW_CACHE_SIZE
from .connections import Connection, Connections, Pool, in_one_round_trip
from .remembered import RememberedViews
from .schema import Statements, quoted_schema
from .unit import PostgresUnitOfWork


class PostgresRepository:
    """A repository in one PostgreSQL schema, shared safely by threads, processes and hosts.

    ``target`` is a conninfo string or ``postgresql://`` URL (the repository then owns a connection pool of
    ``min_size`` to ``max_size`` connections and closes it in :meth:`close`), or a psycopg
    ``ConnectionPool`` or ``Connection`` you own (left open by :meth:`close`; a single connection serializes
    the units of work of all threads). Connections are used in autocommit mode, with explicit transactions.
    ``schema`` names the PostgreSQL schema that holds the tables; it is created and migrated on opening.
    ``lock_timeout`` bounds the wait for a key's lock (SQLSTATE 55P03 then makes the engine retry);
    ``pool_timeout`` bounds the wait for a free connection of the pool (then :class:`StorageError`).
    ``view_cache_size``: how many keys' views to remember between commands (``remembered.py``), so that a
    command on a key this process wrote costs one round trip; 0 turns it off.

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
        view_cache_size: int = DEFAULT_VIEW_CACHE_SIZE,
    ) -> None:
        quoted_schema(schema)
        if lock_timeout <= 0:
            raise ValueError(f"lock_timeout {lock_timeout!r} must be positive")
        if pool_timeout <= 0:
            raise ValueError(f"pool_timeout {pool_timeout!r} must be positive")
        self.pool_timeout = pool_timeout
        self.schema = schema
        self.lock_timeout = lock_timeout
        self._statements = Statements(schema)
        self._dialect = listing.Dialect(prefix=f"{quoted_schema(schema)}.", parameter="%s")
        self._outbox_lock = f"{self._statements.lock_prefix}outbox"
        self._decoded = rows.Documents()
        # The views remembered between commands, with their hit rates (``remembered.py``).
        self.remembered_views = RememberedViews(view_cache_size)
        # A command may be decided on a remembered view its commit then finds stale (and sent again).
        self.may_answer_stale = view_cache_size > 0
        self._connections = Connections(
            target,
            schema=schema,
            statements=self._statements,
            min_size=min_size,
            max_size=max_size,
            lock_timeout=lock_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )

    # -- transactions -------------------------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        connections = self._connections
        with connections.translated(), connections.connection() as connection:
            unit = PostgresUnitOfWork(connections, connection, self._decoded, self.remembered_views)
            try:
                yield unit
                if unit.unconfirmed:  # an outcome without a commit, decided from memory: decide it again
                    raise unit.forget_unconfirmed()
            except ThreadingError as error:
                if unit.unconfirmed and not isinstance(error, StorageError):
                    # A rejection decided from a remembered view stands only once a fresh read confirms it.
                    raise unit.forget_unconfirmed() from error
                raise
            finally:
                unit.end()

    # -- reads ---------------------------------------------------------------------------------------------

    def _rows(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._connections.read(lambda connection: connection.execute(sql, parameters).fetchall())

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

    def get_staging_token(self, token: str) -> StagingToken | None:
        row = self._one(self._statements.GET_STAGING_TOKEN, token)
        return None if row is None else rows.staging_token_from_json(row[0])

    def page_channels(self, after: str | None, limit: int) -> Page[Channel]:
        sql, parameters, total_sql = listing.channels_sql(self._dialect, after, limit)
        found = [rows.channel_from_json(r[0]) for r in self._rows(sql, parameters)]
        return page_of(found, limit, _id_of, self._rows(total_sql, ())[0][0])

    def page_accounts(self, where: AccountFilter, after: str | None, limit: int) -> Page[ChannelAccount]:
        sql, parameters, total_sql, total_parameters = listing.accounts_sql(self._dialect, where, after, limit)
        found = [rows.account_from_json(r[0]) for r in self._rows(sql, parameters)]
        return page_of(found, limit, _id_of, self._rows(total_sql, total_parameters)[0][0])

    def page_threads(self, where: ThreadFilter, after: str | None, limit: int, newest_first: bool) -> Page[Thread]:
        sql, parameters = listing.threads_sql(self._dialect, where, after, limit, newest_first)
        return page_of([rows.thread_from_row(r) for r in self._rows(sql, parameters)], limit, _id_of)

    def page_messages(self, thread_id: str, after: str | None, limit: int, newest_first: bool) -> Page[Message]:
        sql, parameters = listing.messages_sql(self._dialect, thread_id, after, limit, newest_first)
        return page_of([rows.message_from_json(r[0]) for r in self._rows(sql, parameters)], limit, _id_of)

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

        return [rows.event_from_row(sequence, data) for sequence, data in self._connections.read(read)]

    def pending_events(self, limit: int | None = None) -> list[EventRecord]:
        found = self._rows(self._statements.PENDING_EVENTS, (limit,))
        return [rows.event_from_row(sequence, data) for sequence, data in found]

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        ids = list(dict.fromkeys(event_ids))
        # Not retried after a lost connection: the count would be wrong if the first try had committed.
        with self._connections.translated(), self._connections.connection() as connection:
            return connection.execute(self._statements.ACKNOWLEDGE, (ids,)).rowcount

    def close(self) -> None:
        """Close the pool the repository opened; a pool or connection passed in is left to its owner."""
        self._connections.close()


def _id_of(value: Channel | ChannelAccount | Thread | Message) -> str:
    return value.id
