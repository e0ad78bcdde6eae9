"""The SQL a SQLite unit of work sends: a thread's writes, and its view in as few statements as possible.

Every statement is built when the module is imported (one per combination of what a view asks for, one per set
of a thread's changed columns), so that nothing is formatted or cached per command.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from .. import rows
from ..view import NAMES_FROM_MESSAGES, ViewRows

THREAD_COLUMN_NAMES = tuple(name.strip() for name in rows.THREAD_COLUMNS.split(","))
# The columns a thread's changes may touch (its id, account, key, creation and integration id never change),
# as (column index, the Thread attribute of the same name).
MUTABLE_THREAD_FIELDS = tuple(
    (THREAD_COLUMN_NAMES.index(name), name)
    for name in ("status", "archived", "closed_at", "ticket_id", "latest_message_at")
)
UPSERT_THREAD = (
    f"INSERT INTO threads ({rows.THREAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET status = excluded.status, archived = excluded.archived, "
    "closed_at = excluded.closed_at, ticket_id = excluded.ticket_id, "
    "latest_message_at = excluded.latest_message_at"
)


def _thread_update(columns: tuple[int, ...]) -> str:
    assignments = ", ".join(f"{THREAD_COLUMN_NAMES[i]} = ?" for i in columns)
    return f"UPDATE threads SET {assignments} WHERE id = ?"


# The UPDATE of each set of changed columns (as column indexes, in MUTABLE_THREAD_FIELDS' order): 31 of them.
_THREAD_UPDATES = {
    columns: _thread_update(columns)
    for size in range(1, len(MUTABLE_THREAD_FIELDS) + 1)
    for columns in itertools.combinations([index for index, _ in MUTABLE_THREAD_FIELDS], size)
}
thread_update_sql = _THREAD_UPDATES.__getitem__
# A message appended to a thread: only its latest message's time changes (the UPDATE of that column alone).
TOUCH_THREAD = thread_update_sql((THREAD_COLUMN_NAMES.index("latest_message_at"),))
INSERT_MESSAGE = "INSERT INTO messages (id, thread_id, account_id, idempotency_id, data) VALUES (?, ?, ?, ?, ?)"
INSERT_EVENT = "INSERT INTO events (event_id, data) VALUES (?, ?)"


# -- the view in as few statements as possible --------------------------------------------------------------
#
# Every statement below returns rows of one shape: (role, the ten thread columns, the thread's ticket's
# thread id and status, a JSON document). Thread rows carry their ticket, so tickets cost no statement.

_NO_THREAD = ", ".join(["NULL"] * 12)
_THREAD_AND_TICKET = ", ".join(f"t.{name}" for name in THREAD_COLUMN_NAMES) + ", k.thread_id, k.status, NULL"
_THREADS = "threads AS t LEFT JOIN tickets AS k ON k.id = t.ticket_id"
THREAD_BY_ID = f"SELECT 'thread', {_THREAD_AND_TICKET} FROM {_THREADS} WHERE t.id = ?"
# Whether a message already has the idempotency id: all a remembered view leaves to read (D1).
TAKEN = "SELECT 1 FROM messages WHERE account_id = ? AND idempotency_id = ?"
# S1: a message by id, as a view document, and its new version written back (its status).
MESSAGE_BY_ID = f"SELECT 'message', {_NO_THREAD}, data FROM messages WHERE id = ?"
CHANGE_MESSAGE = "UPDATE messages SET data = ? WHERE id = ?"
# T1: a staging token by id, and a new or completed one written.
STAGING_TOKEN_BY_ID = "SELECT data FROM staging_tokens WHERE id = ?"
UPSERT_STAGING_TOKEN = (
    "INSERT INTO staging_tokens (id, channel_id, data) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET data = excluded.data"
)
# N1: the documents of a thread's latest messages, newest first, for its participants' names.
LATEST_MESSAGES = f"SELECT data FROM messages WHERE thread_id = ? ORDER BY seq DESC LIMIT {NAMES_FROM_MESSAGES}"
# V7: the identifier types a channel's accounts use (through U4's index, which begins with the channel).
IDENTIFIER_TYPES_IN_USE = "SELECT DISTINCT identifier_type FROM accounts WHERE channel_id = ?"
DUPLICATE_THREAD = f"SELECT 'duplicate_thread', {_THREAD_AND_TICKET} FROM {_THREADS} WHERE t.id = ?"
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


def _view_statement(wanted: tuple[bool, ...]) -> tuple[str, int]:
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


# The statement of every combination of parts, by the tuple of their flags: 64 of them.
_VIEW_STATEMENTS = {
    wanted: _view_statement(wanted) for wanted in itertools.product((False, True), repeat=len(_VIEW_PARTS))
}


def view_sql(*wanted: bool) -> tuple[str, int]:
    """The statement that reads the parts of a view flagged in ``wanted`` (see :func:`_view_statement`)."""
    return _VIEW_STATEMENTS[wanted]


def add_rows(found: ViewRows, statement_rows: Iterable[Sequence[Any]]) -> None:
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
