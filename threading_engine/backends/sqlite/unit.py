"""One unit of work on SQLite: a ``BEGIN IMMEDIATE`` transaction, its view loads and its writes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime

from ... import codec
from ...decisions import Changes, View, ViewQuery
from ...errors import UnseenDuplicate, WriteConflict
from ...events import EventRecord, EventRecordByPosition
from ...model import StagingToken, Thread
from ...repository import PendingEvent
from .. import rows
from ..view import ViewRows
from ..viewcache import (
    DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN,
    DUPLICATE_RATE_WINDOW,
    UnitViews,
    ViewCache,
    cache_key,
)
from .statements import (
    CHANGE_MESSAGE,
    DUPLICATE_THREAD,
    IDENTIFIER_TYPES_IN_USE,
    INSERT_EVENT,
    INSERT_MESSAGE,
    LATEST_MESSAGES,
    MESSAGE_BY_ID,
    MUTABLE_THREAD_FIELDS,
    STAGING_TOKEN_BY_ID,
    TAKEN,
    THREAD_BY_ID,
    TOUCH_THREAD,
    UPSERT_STAGING_TOKEN,
    UPSERT_THREAD,
    add_rows,
    thread_update_sql,
    view_sql,
)
from .translation import raise_translated, translate, translated


class SQLiteUnitOfWork:
    """One ``BEGIN IMMEDIATE`` transaction, holding the repository's lock from entry to exit; rolled back on
    exit unless it committed. A plain class rather than ``@contextmanager``: one is entered per command."""

    def __init__(
        self, connection: sqlite3.Connection, lock: threading.RLock, cache: ViewCache, decoded: rows.Documents
    ) -> None:
        self._connection = connection
        # One cursor for the statements of every command: ``Connection.execute`` makes a cursor per statement.
        # (BEGIN, COMMIT and ROLLBACK, once per unit, still go through the connection.)
        self._execute = connection.cursor().execute
        self._decoded = decoded
        self._lock = lock
        self._cache = cache
        self._views: UnitViews | None = None
        self._committed = False
        self._records: list[EventRecord] = []
        # The stored version of every thread this unit has read or written, by id: a change to one of them is
        # written as an UPDATE of the columns that differ, so SQLite maintains only the indexes it must.
        self._stored: dict[str, Thread] = {}
        # The engine's time last written, and its ISO text: a command's message and events share one time, often
        # a whole batch does, and ``isoformat`` costs more than the rest of an event's text.
        self._now: datetime | None = None
        self._now_text = ""
        # The account and idempotency id of the last view loaded without asking whether that id is taken
        # (``load_deferring_duplicate``), until the message is saved or the rejection confirmed; and whether a
        # duplicate left out so has been found, after which this unit asks again for every view.
        self._unchecked: tuple[str, str] | None = None
        self._ask_taken = False
        # Whether the next load is of a message decided again, not to be counted twice (``viewcache.py``).
        self._deciding_again = False

    def __enter__(self) -> SQLiteUnitOfWork:
        self._lock.acquire()
        try:
            with translated:
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

    def load_staging_token(self, token: str) -> StagingToken | None:
        """T1: under the write lock this unit holds since BEGIN IMMEDIATE, so no other unit completes it."""
        with translated:
            row = self._connection.execute(STAGING_TOKEN_BY_ID, (token,)).fetchone()
        return None if row is None else rows.staging_token_from_json(row[0])

    def load(self, query: ViewQuery) -> View:
        return self.load_deferring_duplicate(query, False)

    def confirm_not_duplicate(self, query: ViewQuery) -> bool:
        unchecked, self._unchecked = self._unchecked, None
        if unchecked is None or unchecked != (query.channel_account_id, query.idempotency_id):
            return True
        try:
            taken = self._execute(TAKEN, unchecked).fetchone() is not None
        except sqlite3.Error as error:
            raise_translated(error)
        if taken:
            self._ask_taken = self._deciding_again = True
            self._cache.ids_taken += 1
        return not taken

    def load_deferring_duplicate(self, query: ViewQuery, deferring: bool = True) -> View:
        """:meth:`load`, except that a remembered view of a key (not of an integration thread id) is given without
        asking whether the query's idempotency id is taken: the unique index asks when the message is saved, and
        :meth:`save` raises :class:`UnseenDuplicate` if it is (``repository.DeferringUnitOfWork``). With
        ``deferring`` false, :meth:`load` itself: the body is here because the engine calls this one for nearly
        every message, and a call more would cost it some 700 instructions."""
        # try/except rather than ``with translated``: free when nothing is raised, and this runs per command.
        try:
            self._unchecked = None
            views = self._views
            key = None if views is None else cache_key(query)
            if views is None or key is None:
                return self._read(query)
            view = views.get(key)
            idempotency_id = query.idempotency_id
            if view is not None and idempotency_id is not None:
                cache = self._cache
                # A message decided again (its duplicate found after all) was counted by its first load.
                counted = not self._deciding_again
                self._deciding_again = False
                if counted:
                    cache.loads_with_id += 1
                    if cache.loads_with_id >= DUPLICATE_RATE_WINDOW:
                        cache.loads_with_id //= 2
                        cache.ids_taken //= 2
                if (
                    deferring
                    and key[1] is not None  # by a key: its publishes draw no id before a refusal (then confirmed)
                    and not self._ask_taken
                    and cache.ids_taken * DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN <= cache.loads_with_id
                ):
                    self._unchecked = (key[0], idempotency_id)
                elif self._execute(TAKEN, (key[0], idempotency_id)).fetchone() is not None:
                    cache.ids_taken += counted
                    view = None
            if view is not None:
                stored = self._stored
                for thread in (view.open_thread, view.latest_closed_thread, view.integration_thread):
                    if thread is not None:
                        stored[thread.id] = thread
                return view
            view = self._read(query)
            if view.duplicate is None:
                views.loaded(key, view)
            return view
        except sqlite3.Error as error:
            raise_translated(error)

    def _read(self, query: ViewQuery) -> View:
        """At most two statements in the common case: the thread a query names, then everything else at once."""
        found = ViewRows(self._decoded)
        account_id, key, integration_thread_id = query.channel_account_id, query.key, query.integration_thread_id
        thread = None
        if query.message_id is not None:  # S1: the message, whose account the rest of the view is read for
            add_rows(found, self._execute(MESSAGE_BY_ID, (query.message_id,)).fetchall())
            data = found.documents.get("message")
            if data is not None and account_id is None:
                account_id = rows.message_from_json(data).channel_account_id
        if query.thread_id is not None:
            add_rows(found, self._execute(THREAD_BY_ID, (query.thread_id,)).fetchall())
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
        sql, used = view_sql(
            has_account,  # account
            has_account or query.channel_id is not None,  # channel
            has_account and key is not None,  # key
            has_account and integration_thread_id is not None,  # integration
            has_account and query.idempotency_id is not None,  # duplicate
            identifier is not None and (has_account or query.channel_id is not None),  # identifier_holder
        )
        if sql:
            add_rows(found, self._execute(sql, parameters[:used]).fetchall())
        duplicate = found.duplicate()
        if duplicate is not None:
            add_rows(found, self._execute(DUPLICATE_THREAD, (duplicate.thread_id,)).fetchall())
        if query.participant_names and thread is not None:
            latest = self._execute(LATEST_MESSAGES, (thread.id,)).fetchall()
            found.latest_messages(row[0] for row in latest)
        if query.channel_identifier_types:
            channel = found.documents.get("channel")
            if channel is not None:
                channel_id = self._decoded.channel(channel).id
                in_use = self._execute(IDENTIFIER_TYPES_IN_USE, (channel_id,)).fetchall()
                found.identifier_types_in_use(row[0] for row in in_use)
        stored = self._stored
        for found_thread in (*found.threads.values(), *found.key_threads):
            stored[found_thread.id] = found_thread
        return found.view(duplicate)

    def save(self, changes: Changes, events: Sequence[PendingEvent]) -> None:
        if self._committed:
            raise RuntimeError("this unit of work has committed")
        try:
            self._records += self._write(changes, events)
        except sqlite3.Error as error:
            raise_translated(error)
        if self._views is not None:
            self._views.saved(changes)

    def commit(self) -> tuple[EventRecord, ...]:
        if self._committed:
            raise RuntimeError("a unit of work commits at most once")
        self._committed = True
        try:
            with translated:
                self._connection.execute("COMMIT")
        except BaseException:
            self._cache.clear()  # whether anything was written is not known: remember nothing
            raise
        if self._views is not None:
            self._views.committed()
        return tuple(self._records)

    def _write(self, changes: Changes, events: Sequence[PendingEvent]) -> list[EventRecord]:
        execute = self._execute
        # The message first: a duplicate its view left out (load_deferring_duplicate) is then found before
        # anything else of the save is written. (No foreign key orders the tables.)
        if changes.message is not None:
            message = changes.message
            received_at = message.received_at
            if received_at is not self._now:
                self._now, self._now_text = received_at, received_at.isoformat()
            timestamp = message.timestamp
            data = codec.message_json_with_times(
                message, self._now_text if timestamp is received_at else timestamp.isoformat(), self._now_text
            )
            try:
                execute(
                    INSERT_MESSAGE,
                    (
                        message.id,
                        message.thread_id,
                        message.channel_account_id,
                        message.integration_idempotency_id,
                        data,
                    ),
                )
            except sqlite3.IntegrityError as error:
                refused = translate(error, message.id)
                if (
                    self._unchecked is not None
                    and isinstance(refused, WriteConflict)
                    and refused.rule == "U2"
                    and self._unchecked == (message.channel_account_id, message.integration_idempotency_id)
                ):
                    # The duplicate the view left out (load_deferring_duplicate): nothing of this save is written
                    # yet, the message going first. Ask for every idempotency id in this unit from now on.
                    self._unchecked = None
                    self._ask_taken = self._deciding_again = True
                    self._cache.ids_taken += 1
                    raise UnseenDuplicate(
                        f"message {message.id!r}: its idempotency id was taken (D1), unseen by its view",
                        field="integrationIdempotencyId",
                        value=message.integration_idempotency_id,
                        rule="D1",
                    ) from error
                raise refused from error
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
        if changes.changed_message is not None:
            changed = changes.changed_message
            execute(CHANGE_MESSAGE, (rows.message_json(changed), changed.id))
        if changes.staging_token is not None:
            token = changes.staging_token
            execute(UPSERT_STAGING_TOKEN, (token.id, token.channel_id, rows.staging_token_json(token)))
        records = []
        for pending in events:
            at = pending.timestamp
            if at is not self._now:
                self._now, self._now_text = at, at.isoformat()
            try:
                cursor = execute(
                    INSERT_EVENT,
                    (pending.event_id, codec.event_json_with_time(pending.event_id, self._now_text, pending.event)),
                )
            except sqlite3.IntegrityError as error:
                raise translate(error, pending.event_id) from error
            assert cursor.lastrowid is not None
            records.append(EventRecordByPosition(cursor.lastrowid, pending.event_id, at, pending.event))
        return records

    def _write_thread(self, thread: Thread) -> None:
        stored = self._stored.get(thread.id)
        if stored is None:
            self._execute(UPSERT_THREAD, rows.thread_row(thread))
        elif (
            thread.status is stored.status
            and thread.archived is stored.archived
            and thread.closed_at == stored.closed_at
            and thread.ticket_id == stored.ticket_id
        ):
            # A message appended (nearly every save): of the columns a change may touch, only the latest message's
            # time can differ. (Anything else takes the general path below, which compares every column.)
            if thread.latest_message_at != stored.latest_message_at:
                self._execute(TOUCH_THREAD, (rows.micros(thread.latest_message_at), thread.id))
        else:
            # The write lock is held since BEGIN IMMEDIATE, so the row is still as this unit last saw it.
            changed = tuple(i for i, name in MUTABLE_THREAD_FIELDS if getattr(thread, name) != getattr(stored, name))
            if changed:
                row = rows.thread_row(thread)
                self._execute(thread_update_sql(changed), (*(row[i] for i in changed), thread.id))
        self._stored[thread.id] = thread
