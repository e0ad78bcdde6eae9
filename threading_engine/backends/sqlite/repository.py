"""The SQLite repository: opening a store in a file, units of work, and the reads outside them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from ...events import EventRecord
from ...model import Channel, ChannelAccount, Message, StagingToken, Thread, Ticket
from ...reads import AccountFilter, Page, ThreadFilter, page_of
from .. import listing, rows
from ..viewcache import DEFAULT_VIEW_CACHE_SIZE, ViewCache
from .schema import migrate
from .translation import translated
from .unit import SQLiteUnitOfWork

Synchronous = Literal["FULL", "NORMAL"]
_SQLITE = listing.Dialect(prefix="", parameter="?")


def _id_of(value: Channel | ChannelAccount | Thread | Message) -> str:
    return value.id


class SQLiteRepository:
    """A repository in one SQLite file (or ``":memory:"``), shared safely by threads and processes.

    One connection per repository, guarded by a lock; open one repository per process.

    ``view_cache_size``: how many keys' views to remember between transactions (``viewcache.py``), so that a
    message on a recently used key reads nothing (whether its idempotency id is taken is left to the unique
    index, when the message is inserted: ``repository.DeferringUnitOfWork``); 0 remembers none.
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
        # A remembered view leaves a message's duplicate to the unique index (``repository.DeferringUnitOfWork``).
        self.defers_duplicates = view_cache_size > 0
        self._decoded = rows.Documents()
        with translated:
            self._connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if path != ":memory:":
                self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute(f"PRAGMA synchronous = {synchronous}")
            migrate(self._connection)

    # -- transactions -------------------------------------------------------------------------------------

    def unit_of_work(self) -> SQLiteUnitOfWork:
        return SQLiteUnitOfWork(self._connection, self._lock, self._views, self._decoded)

    # -- reads ---------------------------------------------------------------------------------------------

    def _one(self, sql: str, parameters: Sequence[Any]) -> Any:
        with self._lock, translated:
            return self._connection.execute(sql, parameters).fetchone()

    def _all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self._lock, translated:
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

    def get_staging_token(self, token: str) -> StagingToken | None:
        row = self._one("SELECT data FROM staging_tokens WHERE id = ?", (token,))
        return None if row is None else rows.staging_token_from_json(row[0])

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

    def page_channels(self, after: str | None, limit: int) -> Page[Channel]:
        sql, parameters, total_sql = listing.channels_sql(_SQLITE, after, limit)
        found = [rows.channel_from_json(r[0]) for r in self._all(sql, parameters)]
        return page_of(found, limit, _id_of, self._one(total_sql, ())[0])

    def page_accounts(self, where: AccountFilter, after: str | None, limit: int) -> Page[ChannelAccount]:
        sql, parameters, total_sql, total_parameters = listing.accounts_sql(_SQLITE, where, after, limit)
        found = [rows.account_from_json(r[0]) for r in self._all(sql, parameters)]
        return page_of(found, limit, _id_of, self._one(total_sql, total_parameters)[0])

    def page_threads(self, where: ThreadFilter, after: str | None, limit: int, newest_first: bool) -> Page[Thread]:
        sql, parameters = listing.threads_sql(_SQLITE, where, after, limit, newest_first)
        return page_of([rows.thread_from_row(r) for r in self._all(sql, parameters)], limit, _id_of)

    def page_messages(self, thread_id: str, after: str | None, limit: int, newest_first: bool) -> Page[Message]:
        sql, parameters = listing.messages_sql(_SQLITE, thread_id, after, limit, newest_first)
        return page_of([rows.message_from_json(r[0]) for r in self._all(sql, parameters)], limit, _id_of)

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
        with self._lock, translated:
            cursor = self._connection.executemany(
                "UPDATE events SET acknowledged = 1 WHERE event_id = ? AND acknowledged = 0", [(i,) for i in ids]
            )
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._connection.close()
