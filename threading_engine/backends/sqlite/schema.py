"""The SQLite schema and its forward migrations.

The uniqueness rules of the repository contract are enforced here by the database itself, so that they hold
between processes sharing one file, not only inside one engine:

- U1 (R1): ``threads_one_open_per_key``, a partial unique index over open, non-archived threads of the
  DELIVERY_IDENTIFIER model;
- U2 (D1): ``messages_one_per_idempotency_id``;
- U3 (I1): ``threads_one_live_per_integration_id``;
- U4 (V2): the unique (channel, identifier) constraint on ``accounts``.

Times that are compared in SQL are stored as integer microseconds since the epoch (UTC).

When one of these refuses a row, SQLite's error names the index by its columns ("UNIQUE constraint failed:
threads.account_id, threads.key"): :data:`CONFLICTS` maps them back to the index and its rule, and
``translation.py`` turns exactly those into a WriteConflict. Any other refused row is a StorageError at once.
"""

from __future__ import annotations

import sqlite3

from ...errors import StorageError

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema.
    """
    CREATE TABLE channels (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL
    );
    CREATE TABLE accounts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        channel_id TEXT NOT NULL,
        identifier_type TEXT NOT NULL,
        identifier_value TEXT NOT NULL,
        data TEXT NOT NULL,
        CONSTRAINT accounts_one_per_identifier UNIQUE (channel_id, identifier_type, identifier_value)
    );
    CREATE TABLE threads (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
        archived INTEGER NOT NULL CHECK (archived IN (0, 1)),
        created_at INTEGER NOT NULL,
        closed_at INTEGER,
        integration_thread_id TEXT,
        ticket_id TEXT,
        latest_message_at INTEGER
    );
    CREATE UNIQUE INDEX threads_one_open_per_key ON threads (account_id, key)
        WHERE status = 'OPEN' AND archived = 0 AND integration_thread_id IS NULL;
    CREATE UNIQUE INDEX threads_one_live_per_integration_id ON threads (account_id, integration_thread_id)
        WHERE archived = 0 AND integration_thread_id IS NOT NULL;
    CREATE INDEX threads_by_key ON threads (account_id, key, closed_at);
    CREATE INDEX threads_by_account ON threads (account_id, seq);
    CREATE TABLE tickets (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        thread_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('OPEN', 'CLOSED'))
    );
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        thread_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        idempotency_id TEXT,
        data TEXT NOT NULL
    );
    CREATE UNIQUE INDEX messages_one_per_idempotency_id ON messages (account_id, idempotency_id)
        WHERE idempotency_id IS NOT NULL;
    CREATE INDEX messages_by_thread ON messages (thread_id, seq);
    CREATE TABLE events (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL,
        acknowledged INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX events_pending ON events (sequence) WHERE acknowledged = 0;
    """,
    # 2: staging tokens (T1), a table of their own; nothing else changes.
    """
    CREATE TABLE staging_tokens (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        channel_id TEXT NOT NULL,
        data TEXT NOT NULL
    );
    """,
    # 3: the paged reads' filters (``listing.py``): an account's portal, inbox and archived flag as columns
    # computed from its document, and the indexes that scope accounts to a portal or a channel.
    """
    ALTER TABLE accounts ADD COLUMN portal_id TEXT
        GENERATED ALWAYS AS (coalesce(json_extract(data, '$.portal_id'), '0')) VIRTUAL;
    ALTER TABLE accounts ADD COLUMN inbox_id TEXT GENERATED ALWAYS AS (json_extract(data, '$.inbox_id')) VIRTUAL;
    ALTER TABLE accounts ADD COLUMN archived INTEGER
        GENERATED ALWAYS AS (coalesce(json_extract(data, '$.archived'), 0)) VIRTUAL;
    CREATE INDEX accounts_by_portal ON accounts (portal_id, channel_id, seq);
    CREATE INDEX accounts_by_channel ON accounts (channel_id, seq);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

# The uniqueness rules a concurrent writer can break (U1-U4 of ``repository.py``): the columns SQLite names when
# one refuses a row, and the rule and index (or constraint) they belong to.
CONFLICTS: dict[str, tuple[str, str]] = {
    "threads.account_id, threads.key": ("U1", "threads_one_open_per_key"),
    "messages.account_id, messages.idempotency_id": ("U2", "messages_one_per_idempotency_id"),
    "threads.account_id, threads.integration_thread_id": ("U3", "threads_one_live_per_integration_id"),
    "accounts.channel_id, accounts.identifier_type, accounts.identifier_value": ("U4", "accounts_one_per_identifier"),
}
# The ids only ever inserted (U0 of ``repository.py``): the column SQLite names, and the id's field.
INSERTED_IDS: dict[str, str] = {"messages.id": "messageId", "events.event_id": "eventId"}


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`; safe when several processes open one file at once.

    The connection must be in autocommit mode. ``BEGIN IMMEDIATE`` takes the write lock before the version
    is read, so only one process applies each migration. Returns the version found before migrating.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
        found = int(row[0] or 0)
        if found > SCHEMA_VERSION:
            raise StorageError(
                f"the store's schema version {found} is newer than this library's {SCHEMA_VERSION}: upgrade it"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1].split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return found
