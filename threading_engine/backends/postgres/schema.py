"""The PostgreSQL schema: its statements, and how its migrations (``migrations``) are run.

Tables, row shapes and uniqueness rules mirror the SQLite store's ``schema.py`` so both SQL backends share ``rows.py``.
The uniqueness rules of the repository contract are enforced by the database itself, so they hold between
every process and host that writes to one database:

- U1 (R1): ``threads_one_open_per_key``, a partial exclusion constraint over open, non-archived threads of
  the DELIVERY_IDENTIFIER model (see "Long keys" below);
- U2 (D1): ``messages_one_per_idempotency_id``;
- U3 (I1): ``threads_one_live_per_integration_id``;
- U4 (V2): the unique (channel, identifier) constraint on ``accounts``.

Times compared in SQL are integer microseconds since the epoch (UTC), as in SQLite. The event sequence keeps
``CACHE 1``: the outbox's ordering argument (see the package docstring) needs every ``nextval`` to come from the one
shared counter at the moment it is called, which a per-session cache would break.

Long keys. A key (R0) is as long as its participants make it: a group of 20 opaque ids of 256 characters
makes a key of some 5,700 characters, and a B-tree index row holds at most 2,704 bytes. So no B-tree indexes
the key itself (migration 2): ``threads_by_key``, the lookup index, holds its 64-bit hash
(``hashtextextended``) and every lookup compares the key too, and U1 is an exclusion constraint on a hash
index, which stores only a hash of its expression yet compares whole values, so U1 stays exact: two different
keys never conflict, whatever their hashes. Its expression is the account id and the key, made unambiguous by
the account id's length. Ids, idempotency ids and integration thread ids are short enough for a B-tree row at
any UTF-8 width (``storable.py``), so U2-U4 stay unique B-tree indexes.

Row versions. Every row of ``channels``, ``accounts``, ``threads`` and ``tickets`` carries a ``version`` that a
trigger sets to 1 on insert and raises by one on every update (migration 5), whoever writes: a tool that is not
this library included. A view a process remembers (``remembered.py``) is kept with the versions of the rows it
was read from, and ``GUARD_KEY`` / ``GUARD_INTEGRATION`` fail the transaction (SQLSTATE ``TEV01``, raised by
``view_unchanged``) unless those rows are still the ones the key's lookup finds, at those versions. Not ``xmin``:
it names the transaction, not the row's history, so two updates in one transaction share it, and freezing may
rewrite it.

Every object lives in one PostgreSQL schema (``threading_engine`` unless told otherwise), so several stores
can share a database; ``{schema}`` in the texts below is replaced by the quoted schema name.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from ...decisions import ViewQuery
from ...errors import StorageError, ValidationError
from ...model import Thread
from ...storable import shown
from .. import rows
from ..view import NAMES_FROM_MESSAGES
from .migrations import MIGRATIONS, SCHEMA_VERSION

# The uniqueness rules a concurrent writer can break (U1-U4 of ``repository.py``), by the name PostgreSQL
# reports for the index or constraint that refused a row; ``connections.translate`` makes these (and only
# these) a WriteConflict.
CONFLICTS: dict[str, str] = {
    "threads_one_open_per_key": "U1",
    "messages_one_per_idempotency_id": "U2",
    "threads_one_live_per_integration_id": "U3",
    "accounts_one_per_identifier": "U4",
}
# What ``view_unchanged`` raises when a remembered view's guard fails (see "Row versions").
STALE_VIEW = "TEV01"
# The ids only ever inserted (U0 of ``repository.py``), by their unique constraint's name, and the id's field.
INSERTED_IDS: dict[str, str] = {"messages_id_key": "messageId", "events_event_id_key": "eventId"}

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Schemas PostgreSQL itself uses, or every role shares by default: a store there would mix with what is not its own.
_RESERVED_SCHEMAS = frozenset({"public", "information_schema"})


def quoted_schema(schema: str) -> str:
    """``schema`` quoted for SQL, after checking it is a plain lower-case identifier (no quoting surprises) and
    none of PostgreSQL's own schemas (``pg_*``, ``information_schema``) nor the shared ``public``."""
    if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
        raise ValidationError(
            f"schema {shown(schema)} is not a plain PostgreSQL schema name: use lower-case letters, digits and _, "
            "at most 63 characters, not starting with a digit",
            field="schema",
            value=schema,
        )
    if schema.startswith("pg_") or schema in _RESERVED_SCHEMAS:
        raise ValidationError(
            f"schema {schema!r} is PostgreSQL's own or shared by every role: name a schema for the store alone",
            field="schema",
            value=schema,
        )
    return f'"{schema}"'


def migrate(connection: psycopg.Connection[Any], schema: str) -> int:
    """Create ``schema`` and bring it up to :data:`SCHEMA_VERSION`; returns the version found before.

    Safe when several processes start at once: one transaction holds an advisory lock named after the schema
    from before it reads the version until it commits, so each migration is applied exactly once and a
    process that waited sees the finished schema. The connection must be in autocommit mode (idle).
    """
    quoted = quoted_schema(schema)
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"threading_engine:{schema}:",))
        # Test before creating: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even
        # when the schema exists, and an administrator may have created it for a less privileged role.
        exists = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists is None:
            connection.execute(f"CREATE SCHEMA {quoted}")
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted}.schema_version "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = connection.execute(f"SELECT coalesce(max(version), 0) FROM {quoted}.schema_version").fetchone()
        found = int(row[0]) if row is not None else 0
        if found > SCHEMA_VERSION:
            raise StorageError(
                f"schema {schema!r} is at version {found}, newer than this library's {SCHEMA_VERSION}: upgrade it"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            connection.execute(MIGRATIONS[version - 1].replace("{schema}", quoted))
            connection.execute(f"INSERT INTO {quoted}.schema_version (version) VALUES (%s)", (version,))
    return found


class Statements:
    """Every SQL statement the backend runs, written once for one schema.

    ``LOCK`` and ``VIEW`` are a unit of work's load (see the package docstring for why they are two statements); the
    others are its commit and the repository's plain reads. Parameters are named after the view query's
    fields; every one is cast so that ``None`` needs no type guessing and plans can be prepared once.
    """

    def __init__(self, schema: str) -> None:
        s = quoted_schema(schema)
        columns = rows.THREAD_COLUMNS
        t_columns = ", ".join(f"t.{name.strip()}" for name in columns.split(","))
        nothing = ", ".join(["NULL"] * 9)
        self.lock_prefix = f"{schema}\x1f"
        # Thread ids name the thread's key (or integration thread id), which never changes: so the lock can
        # be derived from a snapshot taken before the lock is held. One statement takes the locks of a whole
        # batch (``prefetch``), in name order, so two batches never wait for each other in a cycle.
        self.LOCK = f"""
            SELECT name, pg_advisory_xact_lock(hashtextextended(name, 0)) FROM (
                SELECT unnest(%(names)b::text[]) AS name
                UNION
                SELECT %(prefix)s::text || account_id || chr(31) || CASE WHEN integration_thread_id IS NULL
                    THEN 'key' || chr(31) || key ELSE 'integration' || chr(31) || integration_thread_id END
                FROM {s}.threads WHERE id = ANY(%(thread_ids)b::text[])
                ORDER BY 1
            ) AS subjects"""
        # The common case, one subject (a message's key) and no thread, without arrays: they cost the driver
        # several times what the lock itself costs the server.
        self.LOCK_ONE = "SELECT %(name)s::text, pg_advisory_xact_lock(hashtextextended(%(name)s::text, 0))"
        self.VIEW = f"""
            WITH subject AS (
                SELECT account_id, key, integration_thread_id FROM {s}.threads WHERE id = %(thread_id)s::text
            ), wanted AS (
                SELECT coalesce(s.account_id, q.account_id,
                    (SELECT account_id FROM {s}.messages WHERE id = %(message_id)s::text)) AS account_id,
                    CASE WHEN s.account_id IS NOT NULL AND s.integration_thread_id IS NULL THEN s.key
                        ELSE q.key END AS key,
                    coalesce(s.integration_thread_id, q.integration_thread_id) AS integration_thread_id
                FROM (SELECT %(account_id)s::text AS account_id, %(key)s::text AS key,
                    %(integration_thread_id)s::text AS integration_thread_id) AS q
                LEFT JOIN subject AS s ON true
            ), account AS (
                SELECT a.id, a.channel_id, a.data, a.version FROM {s}.accounts AS a
                JOIN wanted AS w ON a.id = w.account_id
            ), channel_wanted AS (
                SELECT coalesce((SELECT channel_id FROM account), %(channel_id)s::text) AS id
            ), duplicate AS (
                SELECT m.id, m.thread_id, m.data FROM {s}.messages AS m JOIN wanted AS w ON m.account_id = w.account_id
                WHERE m.idempotency_id = %(idempotency_id)s::text
            ), found AS (
                SELECT 'thread' AS role, t.version, {t_columns} FROM {s}.threads AS t WHERE t.id = %(thread_id)s::text
                UNION ALL (
                    SELECT 'key', t.version, {t_columns} FROM {s}.threads AS t
                    JOIN wanted AS w ON t.account_id = w.account_id
                    AND hashtextextended(t.key, 0) = hashtextextended(w.key, 0) AND t.key = w.key
                    WHERE t.archived = 0 AND t.integration_thread_id IS NULL
                    ORDER BY t.status = 'OPEN' DESC, t.closed_at DESC NULLS LAST, t.seq DESC LIMIT 1
                )
                UNION ALL
                SELECT 'integration', t.version, {t_columns} FROM {s}.threads AS t
                JOIN wanted AS w ON t.account_id = w.account_id AND t.integration_thread_id = w.integration_thread_id
                WHERE t.archived = 0
                UNION ALL
                SELECT 'duplicate_thread', t.version, {t_columns} FROM {s}.threads AS t
                JOIN duplicate AS d ON t.id = d.thread_id
            )
            SELECT role, version, {columns}, NULL AS data FROM found
            UNION ALL
            SELECT 'ticket', version, id, thread_id, status, {", ".join(["NULL"] * 7)}, NULL FROM {s}.tickets
            WHERE id IN (SELECT ticket_id FROM found)
            UNION ALL SELECT 'account', version, id, {nothing}, data FROM account
            UNION ALL SELECT 'channel', c.version, c.id, {nothing}, c.data FROM {s}.channels AS c
            JOIN channel_wanted AS w USING (id)
            UNION ALL SELECT 'duplicate', NULL, id, {nothing}, data FROM duplicate
            UNION ALL SELECT 'message', NULL, id, {nothing}, data FROM {s}.messages WHERE id = %(message_id)s::text
            UNION ALL SELECT 'named', NULL, latest.seq::text, {nothing}, latest.data FROM (
                SELECT m.seq, m.data FROM {s}.messages AS m WHERE %(names)s::boolean
                AND m.thread_id = %(thread_id)s::text ORDER BY m.seq DESC LIMIT {NAMES_FROM_MESSAGES}
            ) AS latest
            UNION ALL SELECT 'identifier_type', NULL, NULL, {nothing}, used.identifier_type FROM (
                SELECT DISTINCT a.identifier_type FROM {s}.accounts AS a
                JOIN channel_wanted AS w ON a.channel_id = w.id WHERE %(identifier_types)s::boolean
            ) AS used
            UNION ALL SELECT 'identifier_holder', a.version, a.id, {nothing}, a.data FROM {s}.accounts AS a
            JOIN channel_wanted AS w ON a.channel_id = w.id
            WHERE a.identifier_type = %(identifier_type)s::text AND a.identifier_value = %(identifier_value)s::text"""
        # The views of many queries that name an account and nothing a thread or channel would resolve (a
        # batch's publishes): the rows of ``VIEW`` for each, tagged with the query's position, in one statement.
        # The account and channel rows are sent once per account (position NULL, tagged with the account).
        self.BATCH_VIEW = f"""
            WITH q AS (
                SELECT * FROM unnest(%(account_ids)b::text[], %(keys)b::text[], %(integration_thread_ids)b::text[],
                    %(idempotency_ids)b::text[])
                    WITH ORDINALITY AS q (account_id, key, integration_thread_id, idempotency_id, position)
            ), duplicate AS (
                SELECT q.position, m.id, m.thread_id, m.data FROM q JOIN {s}.messages AS m
                ON m.account_id = q.account_id AND m.idempotency_id = q.idempotency_id
            ), found AS (
                SELECT q.position, k.* FROM q CROSS JOIN LATERAL (
                    SELECT 'key' AS role, t.version, {t_columns} FROM {s}.threads AS t
                    WHERE t.account_id = q.account_id
                    AND hashtextextended(t.key, 0) = hashtextextended(q.key, 0) AND t.key = q.key
                    AND t.archived = 0 AND t.integration_thread_id IS NULL
                    ORDER BY t.status = 'OPEN' DESC, t.closed_at DESC NULLS LAST, t.seq DESC LIMIT 1
                ) AS k
                UNION ALL
                SELECT q.position, 'integration', t.version, {t_columns} FROM q JOIN {s}.threads AS t
                ON t.account_id = q.account_id AND t.integration_thread_id = q.integration_thread_id
                WHERE t.archived = 0
                UNION ALL
                SELECT d.position, 'duplicate_thread', t.version, {t_columns} FROM duplicate AS d
                JOIN {s}.threads AS t ON t.id = d.thread_id
            )
            SELECT position, NULL::text AS for_account, role, version, {columns}, NULL::text AS data FROM found
            UNION ALL
            SELECT f.position, NULL, 'ticket', k.version, k.id, k.thread_id, k.status, {", ".join(["NULL"] * 7)}, NULL
            FROM found AS f JOIN {s}.tickets AS k ON k.id = f.ticket_id
            UNION ALL SELECT position, NULL, 'duplicate', NULL, id, {nothing}, data FROM duplicate
            UNION ALL SELECT NULL, a.id, 'account', a.version, a.id, {nothing}, a.data FROM {s}.accounts AS a
            WHERE a.id IN (SELECT account_id FROM q)
            UNION ALL SELECT NULL, a.id, 'channel', c.version, c.id, {nothing}, c.data FROM {s}.accounts AS a
            JOIN {s}.channels AS c ON c.id = a.channel_id WHERE a.id IN (SELECT account_id FROM q)"""
        # The guard of a remembered view (see "Row versions"): its account and channel at the versions it was
        # read at, the thread its key's (or integration thread id's) lookup finds now the same at the same version
        # with its ticket's (``id<US>version<US>ticket version``, or NULL for none), and its idempotency id free.
        # Sent after the key's lock, as a statement of its own, so that it sees every commit of the lock's holders.
        unchanged = (
            f"SELECT {s}.view_unchanged("
            f"(SELECT version FROM {s}.accounts WHERE id = %(account_id)s::text) = %(account_version)s::bigint "
            f"AND (SELECT version FROM {s}.channels WHERE id = %(channel_id)s::text) = %(channel_version)s::bigint "
            f"AND NOT EXISTS (SELECT 1 FROM {s}.messages WHERE account_id = %(account_id)s::text "
            "AND idempotency_id = %(idempotency_id)s::text) "
            "AND (SELECT t.id || chr(31) || t.version || chr(31) || coalesce(k.version::text, '') "
            f"FROM {s}.threads AS t LEFT JOIN {s}.tickets AS k ON k.id = t.ticket_id "
            "WHERE t.account_id = %(account_id)s::text AND t.archived = 0 AND {lookup} "
            "ORDER BY t.status = 'OPEN' DESC, t.closed_at DESC NULLS LAST, t.seq DESC LIMIT 1) "
            "IS NOT DISTINCT FROM %(thread)s::text "
            # Sent without BEGIN (``unit.py``): only READ COMMITTED reads after the lock what its holders wrote.
            "AND current_setting('transaction_isolation') = 'read committed')"
        )
        self.GUARD_KEY = unchanged.replace(
            "{lookup}",
            "t.integration_thread_id IS NULL AND hashtextextended(t.key, 0) = hashtextextended(%(key)s::text, 0) "
            "AND t.key = %(key)s::text",
        )
        self.GUARD_INTEGRATION = unchanged.replace("{lookup}", "t.integration_thread_id = %(key)s::text")
        self.UPSERT_CHANNEL = (
            f"INSERT INTO {s}.channels (id, data) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data"
        )
        self.UPSERT_ACCOUNT = (
            f"INSERT INTO {s}.accounts (id, channel_id, identifier_type, identifier_value, data) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET identifier_type = EXCLUDED.identifier_type, "
            "identifier_value = EXCLUDED.identifier_value, data = EXCLUDED.data"
        )
        # Threads, tickets and messages are written many rows per statement, one array per column, in the order
        # saved (the position orders the rows): a batch costs a few statements, not a few per command. Rows are
        # checked against the unique indexes one by one, as separate statements would be; a statement must not
        # touch one id twice, so the unit of work starts a new one when an id repeats. The arrays travel in
        # binary (``%b``), which spares quoting every JSON document.
        self.UPSERT_THREADS = (
            f"INSERT INTO {s}.threads ({columns}) SELECT {columns} FROM unnest(%b::text[], %b::text[], %b::text[], "
            "%b::text[], %b::smallint[], %b::bigint[], %b::bigint[], %b::text[], %b::text[], %b::bigint[]) "
            f"WITH ORDINALITY AS r ({columns}, position) ORDER BY position "
            "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, archived = EXCLUDED.archived, "
            "closed_at = EXCLUDED.closed_at, ticket_id = EXCLUDED.ticket_id, "
            "latest_message_at = EXCLUDED.latest_message_at RETURNING id, version"
        )
        self.UPSERT_TICKETS = (
            f"INSERT INTO {s}.tickets (id, thread_id, status) SELECT id, thread_id, status "
            "FROM unnest(%b::text[], %b::text[], %b::text[]) WITH ORDINALITY AS r (id, thread_id, status, position) "
            "ORDER BY position ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status RETURNING id, version"
        )
        self.INSERT_MESSAGES = (
            f"INSERT INTO {s}.messages (id, thread_id, account_id, idempotency_id, data) "
            "SELECT id, thread_id, account_id, idempotency_id, data "
            "FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[]) "
            "WITH ORDINALITY AS r (id, thread_id, account_id, idempotency_id, data, position) ORDER BY position"
        )
        # The same for a single row, as a single command writes: binding scalars costs the driver far less than
        # building arrays (about 90 us less per command, measured with ``python -m benchmarks``).
        self.UPSERT_THREAD = (
            f"INSERT INTO {s}.threads ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, archived = EXCLUDED.archived, "
            "closed_at = EXCLUDED.closed_at, ticket_id = EXCLUDED.ticket_id, "
            "latest_message_at = EXCLUDED.latest_message_at RETURNING id, version"
        )
        self.UPSERT_TICKET = (
            f"INSERT INTO {s}.tickets (id, thread_id, status) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status RETURNING id, version"
        )
        self.INSERT_MESSAGE = (
            f"INSERT INTO {s}.messages (id, thread_id, account_id, idempotency_id, data) VALUES (%s, %s, %s, %s, %s)"
        )
        self.CHANGE_MESSAGE = f"UPDATE {s}.messages SET data = %s WHERE id = %s"  # its status (S1)
        # Writers share the outbox lock from drawing sequence numbers until their commit; a reader takes it
        # alone, so while it reads no number is drawn and uncommitted (see "Outbox order" in the package docstring). The
        # event inserts take it themselves, which spares a statement: every row they insert comes out of a join
        # with the lock's one-row subquery, so no row (and no ``nextval`` for it) exists before the lock is held.
        self.LOCK_OUTBOX_ALONE = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
        outbox = "(SELECT pg_advisory_xact_lock_shared(hashtextextended(%(outbox)s, 0))) AS outbox"
        self.INSERT_EVENTS = (
            f"INSERT INTO {s}.events (event_id, data) SELECT e.event_id, e.data FROM {outbox}, "
            "unnest(%(event_ids)b::text[], %(data)b::text[]) WITH ORDINALITY AS e (event_id, data, position) "
            "ORDER BY e.position RETURNING sequence, event_id"
        )
        self.INSERT_EVENT = (
            f"INSERT INTO {s}.events (event_id, data) SELECT %(event_ids)s::text, %(data)s::text FROM {outbox} "
            "RETURNING sequence, event_id"
        )
        self.GET_CHANNEL = f"SELECT data FROM {s}.channels WHERE id = %s"
        self.GET_ACCOUNT = f"SELECT data FROM {s}.accounts WHERE id = %s"
        self.GET_THREAD = f"SELECT {columns} FROM {s}.threads WHERE id = %s"
        self.GET_TICKET = f"SELECT id, thread_id, status FROM {s}.tickets WHERE id = %s"
        self.GET_MESSAGE = f"SELECT data FROM {s}.messages WHERE id = %s"
        self.GET_STAGING_TOKEN = f"SELECT data FROM {s}.staging_tokens WHERE id = %s"  # T1
        self.UPSERT_STAGING_TOKEN = (
            f"INSERT INTO {s}.staging_tokens (id, channel_id, data) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data"
        )
        self.LIST_CHANNELS = f"SELECT data FROM {s}.channels ORDER BY seq"
        self.LIST_ACCOUNTS = (
            f"SELECT data FROM {s}.accounts WHERE %(channel_id)s::text IS NULL OR channel_id = %(channel_id)s "
            "ORDER BY seq"
        )
        self.LIST_THREADS = (
            f"SELECT {columns} FROM {s}.threads WHERE %(account_id)s::text IS NULL OR account_id = %(account_id)s "
            "ORDER BY seq"
        )
        self.LIST_TICKETS = f"SELECT id, thread_id, status FROM {s}.tickets ORDER BY seq"
        self.LIST_MESSAGES = (
            f"SELECT data FROM {s}.messages WHERE %(thread_id)s::text IS NULL OR thread_id = %(thread_id)s ORDER BY seq"
        )
        self.READ_EVENTS = (
            f"SELECT sequence, data FROM {s}.events WHERE sequence > %s ORDER BY sequence LIMIT %s::bigint"
        )
        self.PENDING_EVENTS = (
            f"SELECT sequence, data FROM {s}.events WHERE NOT acknowledged ORDER BY sequence LIMIT %s::bigint"
        )
        self.ACKNOWLEDGE = (
            f"UPDATE {s}.events SET acknowledged = true WHERE event_id = ANY(%s::text[]) AND NOT acknowledged"
        )
        self.EVENTS_BY_ID = f"SELECT sequence, data FROM {s}.events WHERE event_id = ANY(%s::text[]) ORDER BY sequence"
        self.MESSAGE_EXISTS = f"SELECT 1 FROM {s}.messages WHERE id = %s"
        self.BACKEND_STATE = "SELECT state FROM pg_stat_activity WHERE pid = %s"

    def lock_names(self, query: ViewQuery) -> list[str]:
        """The advisory locks ``LOCK`` takes for ``query``, besides a thread's own (which it derives in SQL).

        The subject of a command: its key (R1, R4) or integration thread id (I1), the identifier of a new
        account (V2); else the account or channel it updates, so two updates of one row run one at a time.
        """
        prefix, account = self.lock_prefix, query.channel_account_id
        names = []
        if account is not None and query.key is not None:
            names.append(f"{prefix}{account}\x1fkey\x1f{query.key}")
        if account is not None and query.integration_thread_id is not None:
            names.append(f"{prefix}{account}\x1fintegration\x1f{query.integration_thread_id}")
        if query.message_id is not None:  # S1: statuses of one message are set one at a time
            names.append(f"{prefix}{query.message_id}\x1fmessage")
        if query.account_identifier is not None and query.channel_id is not None:
            identifier = query.account_identifier
            names.append(f"{prefix}{query.channel_id}\x1fidentifier\x1f{identifier.type.value}\x1f{identifier.value}")
            # V7: a capability update of the channel waits for the new account, and the account for it.
            names.append(f"{prefix}{query.channel_id}\x1fchannel")
        if not names and query.thread_id is None:
            if account is not None:
                names.append(f"{prefix}{account}\x1faccount")
            elif query.channel_id is not None:
                names.append(f"{prefix}{query.channel_id}\x1fchannel")
        return names

    def thread_lock_name(self, thread: Thread) -> str:
        """The lock ``LOCK`` derives for ``thread``: the one its publishes take too."""
        prefix = f"{self.lock_prefix}{thread.channel_account_id}"
        if thread.integration_thread_id is None:
            return f"{prefix}\x1fkey\x1f{thread.key}"
        return f"{prefix}\x1fintegration\x1f{thread.integration_thread_id}"
