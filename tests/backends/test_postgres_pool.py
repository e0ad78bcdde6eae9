"""The repository's connection pool keeps the size it was given when the server ends its sessions.

``pg_terminate_backend`` ends pooled sessions while they sit idle, as a server restart, an administrator or
``idle_session_timeout`` does. The commands that meet a dead connection must still succeed (retried on
another), and the pool must replace what it lost without growing: ``pool_size`` (the connections the pool
counts as its own) stays at ``min_size``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

psycopg = pytest.importorskip("psycopg")

from threading_engine import (  # noqa: E402
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    ThreadingModel,
)
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402

pytestmark = pytest.mark.postgres

OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")


class PooledStore:
    """A PostgreSQL store whose pool's sessions carry an application name of their own, so that the test can
    find (and end) exactly those, whatever else runs on the server."""

    def __init__(self, postgres_url: str, schema: str, min_size: int) -> None:
        self.min_size = min_size
        self.name = f"te_pool_{uuid.uuid4().hex[:12]}"
        joiner = "&" if "?" in postgres_url else "?"
        url = f"{postgres_url}{joiner}{urlencode({'application_name': self.name})}"
        self.repository = PostgresRepository(url, schema=schema, min_size=min_size, max_size=6, lock_timeout=2)
        self.engine = Engine(self.repository)
        capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
        channel_id = self.engine.create_channel("SMS", capabilities).channel_id
        assert channel_id is not None
        account = self.engine.create_channel_account(channel_id, name="Desk", inbox_id="1", delivery_identifier=OWN)
        assert account.channel_account_id is not None
        self.account_id = account.channel_account_id
        self.admin = psycopg.connect(postgres_url, autocommit=True)
        self.messages = 0

    @property
    def stats(self) -> dict[str, int]:
        pool = self.repository._connections._pool
        assert pool is not None
        return pool.get_stats()

    def sessions(self) -> list[int]:
        found = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid", (self.name,)
        ).fetchall()
        return [pid for (pid,) in found]

    def settle(self) -> None:
        """Wait until the pool holds ``min_size`` idle sessions again (it replaces lost ones in the background)."""
        deadline = time.monotonic() + 10
        while (len(self.sessions()), self.stats["pool_available"]) != (self.min_size, self.min_size):
            assert time.monotonic() < deadline, f"the pool did not settle: {self.stats}, {self.sessions()}"
            time.sleep(0.02)

    def terminate(self, pids: list[int]) -> None:
        for pid in pids:
            self.admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while set(pids) & set(self.sessions()):
            assert time.monotonic() < deadline, "the server did not end the sessions"
            time.sleep(0.01)

    def publish(self) -> None:
        self.messages += 1
        customer = DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{self.messages % 50:02}")
        result = self.engine.publish_message(
            self.account_id, direction=Direction.INCOMING, senders=[customer], text=f"message {self.messages}"
        )
        assert result.message_id is not None

    def close(self) -> None:
        self.admin.close()
        self.engine.close()


@pytest.fixture(params=[1, 2], ids=["min_size=1", "min_size=2"])
def store(request: pytest.FixtureRequest, postgres_url: str, postgres_schema: str) -> Iterator[PooledStore]:
    pooled = PooledStore(postgres_url, postgres_schema, request.param)
    try:
        yield pooled
    finally:
        pooled.close()


def test_the_pool_keeps_its_size_when_the_server_ends_one_session_at_a_time(store: PooledStore) -> None:
    store.settle()
    for _ in range(4):
        store.terminate(store.sessions()[:1])
        for _ in range(3):  # one of these meets the dead session (the pool hands its sessions out in turn)
            store.publish()
        store.settle()
        assert store.stats["pool_size"] == store.min_size, store.stats
    assert len(store.repository.list_messages()) == store.messages


def test_commands_succeed_when_the_server_ends_every_session_of_the_pool(store: PooledStore) -> None:
    store.settle()
    for _ in range(3):
        store.terminate(store.sessions())
        for _ in range(3):
            store.publish()
        store.settle()
        assert store.stats["pool_size"] == store.min_size, store.stats
    assert len(store.repository.list_messages()) == store.messages
