"""A PostgreSQL store made before keys of any length (schema version 1) is migrated forward when opened: its
threads are kept and found again, U1 still holds (R1), and a group whose key overflows a B-tree row is
stored (R0)."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

psycopg = pytest.importorskip("psycopg")

from threading_engine import (  # noqa: E402
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    ThreadingModel,
    WriteConflict,
)
from threading_engine.backends import rows  # noqa: E402
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402
from threading_engine.backends.postgres.migrations import MIGRATIONS, SCHEMA_VERSION  # noqa: E402
from threading_engine.backends.postgres.schema import quoted_schema  # noqa: E402
from threading_engine.decisions import Changes  # noqa: E402
from threading_engine.identifiers import thread_key  # noqa: E402
from threading_engine.model import Channel, ChannelAccount, Thread  # noqa: E402
from threading_engine.reads import AccountFilter  # noqa: E402
from threading_engine.testing.contract_checks import commit  # noqa: E402

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", "customer-1")
CHANNEL = Channel(
    "channel-1",
    "Chat",
    Capabilities((IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID,), ThreadingModel.DELIVERY_IDENTIFIER),
    T0,
)
ACCOUNT = ChannelAccount(
    "account-1", "channel-1", "Desk", "1", DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", "desk"), T0
)
OPEN = Thread("thread-1", ACCOUNT.id, thread_key([CUSTOMER]), T0, latest_message_at=T0)


def version_1_store(postgres_url: str, schema: str) -> None:
    """A schema as version 1 of the schema made it, holding a channel, an account and one open thread."""
    quoted = quoted_schema(schema)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {quoted}")
        connection.execute(
            f"CREATE TABLE {quoted}.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL "
            "DEFAULT now())"
        )
        connection.execute(MIGRATIONS[0].replace("{schema}", quoted))
        connection.execute(f"INSERT INTO {quoted}.schema_version (version) VALUES (1)")
        connection.execute(
            f"INSERT INTO {quoted}.channels (id, data) VALUES (%s, %s)", (CHANNEL.id, rows.channel_json(CHANNEL))
        )
        identifier = ACCOUNT.delivery_identifier
        connection.execute(
            f"INSERT INTO {quoted}.accounts (id, channel_id, identifier_type, identifier_value, data) "
            "VALUES (%s, %s, %s, %s, %s)",
            (ACCOUNT.id, CHANNEL.id, identifier.type.value, identifier.value, rows.account_json(ACCOUNT)),
        )
        connection.execute(
            f"INSERT INTO {quoted}.threads ({rows.THREAD_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows.thread_row(OPEN),
        )


def test_a_version_1_store_is_migrated_forward_and_keeps_its_threads(postgres_url: str, postgres_schema: str) -> None:
    version_1_store(postgres_url, postgres_schema)
    repository = PostgresRepository(postgres_url, schema=postgres_schema)
    try:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            versions = f'SELECT max(version) FROM "{postgres_schema}".schema_version'
            assert connection.execute(versions).fetchone() == (SCHEMA_VERSION,) == (5,)
        engine = Engine(repository, clock=lambda: T0)
        # Version 4's computed columns read the stored documents: the account is found by its portal and flag.
        found = engine.accounts_page(AccountFilter(portal_id=ACCOUNT.portal_id, archived=False)).results
        assert [account.id for account in found] == [ACCOUNT.id]
        appended = engine.publish_message(ACCOUNT.id, direction=Direction.INCOMING, senders=[CUSTOMER], text="hi")
        assert (appended.outcome, appended.thread_id) == (Outcome.APPENDED, OPEN.id)
        with pytest.raises(WriteConflict) as raised:  # U1 still holds: no second open thread of the key
            commit(repository, Changes(threads=(attrs.evolve(OPEN, id="thread-2"),)))
        assert raised.value.rule == "U1"
        group = [
            DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", "".join(chr(0x4E00 + n * 256 + i) for i in range(256)))
            for n in range(20)
        ]
        created = engine.publish_message(ACCOUNT.id, direction=Direction.INCOMING, senders=group, text="all of us")
        again = engine.publish_message(ACCOUNT.id, direction=Direction.INCOMING, senders=group[::-1], text="again")
        assert created.outcome is Outcome.CREATED
        assert (again.outcome, again.thread_id) == (Outcome.APPENDED, created.thread_id)
    finally:
        repository.close()
