"""One unit of work on PostgreSQL.

See the package's docstring for the theory: a unit of work is one READ COMMITTED transaction sent as two pipelines,
one that locks the command's subject and loads its view (or, for a batch, every command's), one that writes,
appends the events and commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg.pq import TransactionStatus

from ...decisions import Changes, View, ViewQuery
from ...errors import StaleView, WriteConflict
from ...events import EventRecord, EventRecordByPosition
from ...model import Message, StagingToken
from ...repository import PendingEvent
from .. import rows
from ..readahead import ReadAhead
from ..view import updated_view
from ..viewcache import CacheKey, cache_key
from .connections import SET_LOCK_TIMEOUT, Connection, Connections, connection_lost, in_one_round_trip, translate
from .remembered import Guard, RememberedViews, Versions, plain_query, without_duplicate
from .schema import STALE_VIEW
from .viewrows import batch_parameters, batch_views, batchable, view_from_rows, view_parameters
from .writes import Cursor, send_writes


class PostgresUnitOfWork:
    """One transaction on one connection of ``connections``: one pipeline to load, one to commit; or, for a
    command whose view ``remembered`` holds, one pipeline in all (``remembered.py``)."""

    def __init__(
        self,
        connections: Connections,
        connection: Connection,
        decoded: rows.Documents,
        remembered: RememberedViews,
    ) -> None:
        self._connections = connections
        self._decoded = decoded
        self._statements = connections.statements
        self._outbox_lock = f"{connections.statements.lock_prefix}outbox"
        self._connection = connection
        self._backend_pid = connection.info.backend_pid
        self._committed = False
        self._writing = False
        # Saved decisions not yet sent: they travel with the next load's pipeline or with COMMIT's, so that
        # saving costs no round trip of its own.
        self._queued: list[tuple[Changes, Sequence[PendingEvent]]] = []
        self._inserted: list[tuple[Cursor, Sequence[PendingEvent]]] = []
        # Everything saved in this unit, sent or not: what a lost COMMIT must be settled against.
        self._saved_events: list[PendingEvent] = []
        self._last_message: Message | None = None
        # Views read ahead by ``prefetch``, kept current with what is saved after (``readahead.py``).
        self._ahead = ReadAhead()
        self._remembered = remembered
        self._batch = False
        # The remembered keys this unit loaded (from memory, or read): each one's view as the unit's
        # saves left it (None: not certain) and the versions of its rows as read; and what else the saves wrote.
        self._tracked: dict[CacheKey, tuple[View | None, Versions]] = {}
        self._written: set[CacheKey] = set()
        self._wrote_setup = False
        # The cursors of the thread and ticket writes, which return each row's new version.
        self._returned: list[tuple[str, Cursor]] = []
        # The key and query answered from memory and the guard that must pass before what was decided stands.
        self._key: CacheKey | None = None
        self._from_memory: ViewQuery | None = None
        self._guard: Guard | None = None
        self._guard_sent = False
        self._guard_passed = False

    def _begin_if_idle(self) -> None:
        connection = self._connection
        if connection.info.transaction_status == TransactionStatus.IDLE:
            # Explicit, whatever the server's default: the lock-then-read argument needs READ COMMITTED.
            connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED", prepare=False)
            if not self._connections.session_lock_timeout:  # a connection the caller lent: set for this transaction
                connection.execute(SET_LOCK_TIMEOUT, (self._connections.lock_timeout_text, True), prepare=True)

    def load(self, query: ViewQuery) -> View:
        ahead = self._ahead.take(query)
        if ahead is not None:
            return ahead
        key = self._rememberable(query)
        if key is not None and self._idle():
            usable = self._remembered.usable(key)
            if usable is not None:  # nothing is sent: the lock and the guard go with the writes
                view, versions, self._guard = usable
                self._key, self._from_memory = key, query
                self._tracked[key] = (view, versions)
                return view
        read: list[Versions] = [{}]
        found, locked = self._load_views([query], read)
        view = found[0]
        if view.thread is not None and self._statements.thread_lock_name(view.thread) not in locked:
            # The thread was committed between LOCK and VIEW, so its key was not locked: read again.
            raise WriteConflict(f"thread {view.thread.id} appeared while its lock was being taken")
        if key is not None and key not in self._tracked:
            self._remembered.read(key, view, read[0], view.duplicate is not None)
            self._tracked[key] = (without_duplicate(view), read[0])
        return view

    def load_staging_token(self, token: str) -> StagingToken | None:
        """T1: one round trip that sends what this unit saved, takes the token's lock and reads it."""
        statements = self._statements
        with self._connections.translated():
            connection, found = self._connection, self._connection.cursor()

            def send() -> None:
                self._begin_if_idle()
                self._send_queued()
                lock = {"name": f"{statements.lock_prefix}{token}\x1fstaging_token"}
                connection.execute(statements.LOCK_ONE, lock, prepare=True)
                found.execute(statements.GET_STAGING_TOKEN, (token,), prepare=True)

            in_one_round_trip(connection, send)
            row = found.fetchone()
        return None if row is None else rows.staging_token_from_json(row[0])

    def _rememberable(self, query: ViewQuery) -> CacheKey | None:
        """Where the view of ``query`` is remembered, if it is (``viewcache.cache_key``), the store remembers
        views and the unit is not a batch's. A batch reads its views ahead in one round trip anyway, and
        remembering a hundred views costs it more (some 30 us of CPU a message) than its round trips: what it
        writes is forgotten instead."""
        if not self._remembered.size or self._batch or query.channel_identifier_types or query.participant_names:
            return None
        return cache_key(query)

    def _idle(self) -> bool:
        """Whether nothing of this unit was sent or queued yet: a remembered view may answer its load."""
        return self._connection.info.transaction_status == TransactionStatus.IDLE and not self._queued

    @property
    def unconfirmed(self) -> bool:
        """Whether the unit answered a load from memory and no guard has confirmed that view yet."""
        return self._from_memory is not None and not self._guard_passed

    def forget_unconfirmed(self) -> StaleView:
        """What to raise instead of an outcome decided from an unconfirmed remembered view: the engine sends the
        command again at once, and the key's view is read afresh."""
        assert self._key is not None
        self._remembered.forget({self._key})
        return StaleView("decided from a remembered view: confirming on a fresh read")

    def _send_guard(self) -> None:
        """Queue the key's lock and the guard of the view answered from memory, once, on the open pipeline."""
        query, guard, key = self._from_memory, self._guard, self._key
        if query is None or guard is None or key is None or self._guard_sent:
            return
        self._guard_sent = True
        statements, connection = self._statements, self._connection
        (name,) = statements.lock_names(query)
        connection.execute(statements.LOCK_ONE, {"name": name}, prepare=True)
        parameters = {
            "account_id": guard.account_id,
            "account_version": guard.account_version,
            "channel_id": guard.channel_id,
            "channel_version": guard.channel_version,
            "idempotency_id": query.idempotency_id,
            "thread": guard.thread,
        }
        if key[1] is not None:
            connection.execute(statements.GUARD_KEY, {**parameters, "key": key[1]}, prepare=True)
        else:
            connection.execute(statements.GUARD_INTEGRATION, {**parameters, "key": key[2]}, prepare=True)

    def prefetch(self, queries: Sequence[ViewQuery]) -> None:
        """Lock the subjects of every query and load all their views in one round trip (see ``Repository``).

        A view whose thread was committed between LOCK and VIEW is dropped: its ``load`` reads it again.
        """
        self._batch = True
        wanted = list(dict.fromkeys(queries))
        if not wanted:
            return
        found, locked = self._load_views(wanted, [{} for _ in wanted])
        thread_lock_name = self._statements.thread_lock_name
        self._ahead = ReadAhead(
            {
                query: view
                for query, view in zip(wanted, found, strict=True)
                if view.thread is None or thread_lock_name(view.thread) in locked
            }
        )

    def _load_views(self, queries: Sequence[ViewQuery], versions: list[Versions]) -> tuple[list[View], set[str]]:
        """One pipeline: the guard of a view answered from memory (if any), the queued writes, one LOCK for every
        query's subjects, then the views: those of a batch's publishes in one ``BATCH_VIEW``, any other with its
        own ``VIEW``. ``versions``, one per query, receives the versions of the rows of each view."""
        statements = self._statements
        names = sorted({name for query in queries for name in statements.lock_names(query)})
        thread_ids = [query.thread_id for query in queries if query.thread_id is not None]
        lock_parameters = {"names": names, "prefix": statements.lock_prefix, "thread_ids": thread_ids}
        batched = [query for query in queries if batchable(query)] if len(queries) > 1 else []
        alone = [query for query in queries if not (batched and batchable(query))]
        with self._stale_views_missed(), self._connections.translated(nothing_sent=True):
            connection = self._connection
            lock, batch = connection.cursor(), connection.cursor()
            views = [connection.cursor() for _ in alone]

            def send() -> None:
                self._begin_if_idle()
                self._send_guard()
                self._send_queued()
                if len(names) == 1 and not thread_ids:
                    lock.execute(statements.LOCK_ONE, {"name": names[0]}, prepare=True)
                else:
                    lock.execute(statements.LOCK, lock_parameters, prepare=True)
                if batched:
                    batch.execute(statements.BATCH_VIEW, batch_parameters(batched), prepare=True)
                for query, view in zip(alone, views, strict=True):
                    view.execute(statements.VIEW, view_parameters(query), prepare=True)

            in_one_round_trip(connection, send)
            self._guard_passed = self._guard_sent
            locked = {row[0] for row in lock.fetchall()}
            decoded = self._decoded
            versions_of = dict(zip(queries, versions, strict=True))
            found = {
                query: view_from_rows(
                    view.fetchall(),
                    decoded,
                    asked_types=query.channel_identifier_types,
                    asked_names=query.participant_names,
                    versions=versions_of[query],
                )
                for query, view in zip(alone, views, strict=True)
            }
            if batched:
                read = batch_views(batched, batch.fetchall(), decoded, [versions_of[query] for query in batched])
                found.update(zip(batched, read, strict=True))
            return [found[query] for query in queries], locked

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        if self._committed:
            raise RuntimeError("this unit of work has committed")
        self._queued.append((changes, events))
        self._saved_events.extend(events)
        if changes.message is not None:
            self._last_message = changes.message
        self._ahead.saved(changes)
        tracked = self._tracked
        if changes.channel is not None or changes.account is not None:
            self._wrote_setup = True
            for key, (_, versions) in tracked.items():
                tracked[key] = (None, versions)
        for place in set(_places(changes)):
            self._written.add(place)
            known = tracked.get(place)
            if known is not None and known[0] is not None:
                tracked[place] = (updated_view(plain_query(place), known[0], changes), known[1])

    def _send_queued(self) -> None:
        """Queue the saved writes and events on the open pipeline (``writes.py``); the caller syncs it."""
        if not self._queued:
            return
        self._writing = True
        saved = list(self._queued)
        self._queued.clear()
        sent = send_writes(self._connection, self._statements, self._outbox_lock, saved)
        self._returned.extend(sent.returned)
        if sent.inserted is not None:
            self._inserted.append(sent.inserted)

    def commit(self) -> tuple[EventRecord, ...]:
        if self._committed:
            raise RuntimeError("a unit of work commits at most once")
        self._committed = True
        connection = self._connection
        commit_sent = False
        # A unit whose view came from memory sends everything in one pipeline with no BEGIN and no COMMIT: the
        # pipeline's one Sync commits it, or, when the guard fails, rolls it back, with no round trip of its own
        # for the ROLLBACK an explicit transaction would need (the guard checks it runs READ COMMITTED).
        implicit = (
            self._from_memory is not None
            and not self._guard_sent
            and connection.info.transaction_status == TransactionStatus.IDLE
        )

        def send() -> None:
            nonlocal commit_sent
            if not implicit:
                self._begin_if_idle()
            elif not self._connections.session_lock_timeout:
                connection.execute(SET_LOCK_TIMEOUT, (self._connections.lock_timeout_text, True), prepare=True)
            self._send_guard()
            self._send_queued()
            commit_sent = True
            if not implicit:
                connection.execute("COMMIT", prepare=False)

        try:
            with self._stale_views_missed():
                in_one_round_trip(connection, send)
        except psycopg.Error as error:
            self._forget_written()  # whether anything was written is not known here
            if commit_sent and connection_lost(error, connection):
                settled = self._connections.settle_lost_commit(
                    self._backend_pid, self._saved_events, self._last_message, error
                )
                # Committed: the guard sent with the writes passed, in the same transaction. Left unconfirmed, the
                # outcome would be taken for one decided on a stale view, and its stored ids handed out again.
                self._guard_passed = self._guard_sent
                return settled
            if connection_lost(error, connection):
                self._connections.recover()
            raise translate(error, nothing_sent=True) from error
        self._guard_passed = self._guard_sent
        self._remember_committed()
        records: list[EventRecord] = []
        for cursor, events in self._inserted:
            sequences = {event_id: sequence for sequence, event_id in cursor.fetchall()}
            records.extend(
                EventRecordByPosition(sequences[p.event_id], p.event_id, p.timestamp, p.event) for p in events
            )
        return tuple(records)

    @contextmanager
    def _stale_views_missed(self) -> Iterator[None]:
        """A guard that failed in the pipeline inside counts as a miss of the key's view."""
        try:
            yield
        except psycopg.Error as error:
            if self._key is not None and getattr(error, "sqlstate", None) == STALE_VIEW:
                self._remembered.missed(self._key)
            raise

    def _forget_written(self) -> None:
        remembered = self._remembered
        if self._wrote_setup:
            remembered.forget_all()
        elif self._key is not None:
            remembered.forget({*self._written, self._key})
        elif self._written:
            remembered.forget(self._written)

    def _remember_committed(self) -> None:
        """What this unit committed: each view it loaded as its saves left it, at the versions its writes
        returned; any other remembered view its saves concern is forgotten (its guard would fail)."""
        remembered, tracked = self._remembered, self._tracked
        if not remembered.size:
            return
        if self._wrote_setup:
            remembered.forget_all()
        else:
            remembered.forget(self._written - tracked.keys())
        returned: Versions = {}
        for table, cursor in self._returned:  # in the order written: a row written twice keeps its last version
            returned.update(((table, row_id), version) for row_id, version in cursor.fetchall())
        for key, (view, versions) in tracked.items():
            guarded = key == self._key and self._guard_passed
            remembered.committed(key, view, versions, returned, guarded=guarded)

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


def _places(changes: Changes) -> Iterator[CacheKey]:
    """The remembered views a save's threads appear in: their integration thread id's, or else their key's."""
    for thread in changes.threads:
        if thread.integration_thread_id is None:
            yield (thread.channel_account_id, thread.key, None)
        else:
            yield (thread.channel_account_id, None, thread.integration_thread_id)
