"""The PostgreSQL schema's versioned forward migrations: the n-th text brings a store from version n-1 to n.

``{schema}`` in each text is replaced by the quoted schema name; ``schema.migrate`` runs the texts a store has
not run yet, under a lock, so several processes may open a new schema at once. Why the tables look as they do
is in ``schema``'s docstring.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema.
    """
    CREATE TABLE {schema}.channels (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        data text NOT NULL
    );
    CREATE TABLE {schema}.accounts (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        channel_id text NOT NULL,
        identifier_type text NOT NULL,
        identifier_value text NOT NULL,
        data text NOT NULL,
        CONSTRAINT accounts_one_per_identifier UNIQUE (channel_id, identifier_type, identifier_value)
    );
    CREATE TABLE {schema}.threads (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        account_id text NOT NULL,
        key text NOT NULL,
        status text NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
        archived smallint NOT NULL CHECK (archived IN (0, 1)),
        created_at bigint NOT NULL,
        closed_at bigint,
        integration_thread_id text,
        ticket_id text,
        latest_message_at bigint
    );
    CREATE UNIQUE INDEX threads_one_open_per_key ON {schema}.threads (account_id, key)
        WHERE status = 'OPEN' AND archived = 0 AND integration_thread_id IS NULL;
    CREATE UNIQUE INDEX threads_one_live_per_integration_id ON {schema}.threads (account_id, integration_thread_id)
        WHERE archived = 0 AND integration_thread_id IS NOT NULL;
    CREATE INDEX threads_by_key ON {schema}.threads (account_id, key, closed_at);
    CREATE INDEX threads_by_account ON {schema}.threads (account_id, seq);
    CREATE TABLE {schema}.tickets (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        thread_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('OPEN', 'CLOSED'))
    );
    CREATE TABLE {schema}.messages (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        thread_id text NOT NULL,
        account_id text NOT NULL,
        idempotency_id text,
        data text NOT NULL
    );
    CREATE UNIQUE INDEX messages_one_per_idempotency_id ON {schema}.messages (account_id, idempotency_id)
        WHERE idempotency_id IS NOT NULL;
    CREATE INDEX messages_by_thread ON {schema}.messages (thread_id, seq);
    CREATE TABLE {schema}.events (
        sequence bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME {schema}.events_sequence CACHE 1) PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        data text NOT NULL,
        acknowledged boolean NOT NULL DEFAULT false
    );
    CREATE INDEX events_pending ON {schema}.events (sequence) WHERE NOT acknowledged;
    """,
    # 2: keys of any length (see "Long keys"): U1 on a hash index, and the key lookup by the key's hash.
    """
    DROP INDEX {schema}.threads_one_open_per_key;
    ALTER TABLE {schema}.threads ADD CONSTRAINT threads_one_open_per_key
        EXCLUDE USING hash ((length(account_id)::text || ':' || account_id || key) WITH =)
        WHERE (status = 'OPEN' AND archived = 0 AND integration_thread_id IS NULL);
    DROP INDEX {schema}.threads_by_key;
    CREATE INDEX threads_by_key ON {schema}.threads (account_id, hashtextextended(key, 0), closed_at);
    """,
    # 3: staging tokens (T1), a table of their own; nothing else changes.
    """
    CREATE TABLE {schema}.staging_tokens (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        channel_id text NOT NULL,
        data text NOT NULL
    );
    """,
    # 4: the paged reads' filters (``listing.py``): an account's portal, inbox and archived flag as columns
    # computed from its document (nothing that writes an account changes), and the indexes that scope accounts
    # to a portal or a channel.
    """
    ALTER TABLE {schema}.accounts
        ADD COLUMN portal_id text GENERATED ALWAYS AS (coalesce((data::jsonb) ->> 'portal_id', '0')) STORED,
        ADD COLUMN inbox_id text GENERATED ALWAYS AS ((data::jsonb) ->> 'inbox_id') STORED,
        ADD COLUMN archived smallint
            GENERATED ALWAYS AS (coalesce(((data::jsonb) ->> 'archived')::boolean, false)::int::smallint) STORED;
    CREATE INDEX accounts_by_portal ON {schema}.accounts (portal_id, channel_id, seq);
    CREATE INDEX accounts_by_channel ON {schema}.accounts (channel_id, seq);
    """,
    # 5: row versions, for the views a process remembers (see "Row versions"), and the guard that checks them.
    """
    ALTER TABLE {schema}.channels ADD COLUMN version bigint NOT NULL DEFAULT 1;
    ALTER TABLE {schema}.accounts ADD COLUMN version bigint NOT NULL DEFAULT 1;
    ALTER TABLE {schema}.threads ADD COLUMN version bigint NOT NULL DEFAULT 1;
    ALTER TABLE {schema}.tickets ADD COLUMN version bigint NOT NULL DEFAULT 1;
    CREATE FUNCTION {schema}.next_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            NEW.version := OLD.version + 1;
        ELSE
            NEW.version := 1;
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER channels_version BEFORE INSERT OR UPDATE ON {schema}.channels
        FOR EACH ROW EXECUTE FUNCTION {schema}.next_version();
    CREATE TRIGGER accounts_version BEFORE INSERT OR UPDATE ON {schema}.accounts
        FOR EACH ROW EXECUTE FUNCTION {schema}.next_version();
    CREATE TRIGGER threads_version BEFORE INSERT OR UPDATE ON {schema}.threads
        FOR EACH ROW EXECUTE FUNCTION {schema}.next_version();
    CREATE TRIGGER tickets_version BEFORE INSERT OR UPDATE ON {schema}.tickets
        FOR EACH ROW EXECUTE FUNCTION {schema}.next_version();
    CREATE FUNCTION {schema}.view_unchanged(unchanged boolean) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
        IF unchanged IS NOT TRUE THEN
            RAISE EXCEPTION 'a remembered view is stale' USING ERRCODE = 'TEV01';
        END IF;
        RETURN true;
    END $$;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
