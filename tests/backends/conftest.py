"""Fixtures for the backend tests: a PostgreSQL server to test against, and a fresh schema for each test.

The server is named by ``THREADING_ENGINE_TEST_POSTGRES_URL`` (default: the local ``test`` database). When it
cannot be reached the PostgreSQL tests skip, saying why; with ``THREADING_ENGINE_REQUIRE_POSTGRES=1`` (as CI
sets it) they fail instead, so a missing server can never pass for a green run.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest

from threading_engine.events import (
    MessageAppended,
    ThreadArchived,
    ThreadClosed,
    ThreadCreated,
    ThreadReopened,
    ThreadRestored,
    TicketClosed,
    TicketCreated,
    TicketReopened,
)
from threading_engine.repository import Repository
from threading_engine.testing.roundtrips import RoundTripRelay

from .three_stores import TrioFactory

URL_VARIABLE = "THREADING_ENGINE_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "THREADING_ENGINE_REQUIRE_POSTGRES"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

if os.environ.get(REQUIRE_VARIABLE) == "1":
    import psycopg  # noqa: F401 - required: a missing driver must fail the run, not skip its tests


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE}=1 makes this a failure)", pytrace=False)
    pytest.skip(f"{reason} (set {URL_VARIABLE} to a server the tests may use)")


def _masked(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a reachable PostgreSQL server, or a skip (a failure when the server is required)."""
    url = os.environ.get(URL_VARIABLE) or DEFAULT_URL
    try:
        import psycopg
    except ImportError as error:
        _unavailable(f"psycopg is not installed ({error}); install the 'postgres' extra")
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        _unavailable(f"PostgreSQL at {_masked(url)} cannot be reached: {str(error).strip()}")
    return url


@pytest.fixture
def new_schema(postgres_url: str) -> Iterator[Callable[[], str]]:
    """Makes names of fresh schemas for this test; every schema made is dropped when the test ends."""
    import psycopg

    made: list[str] = []

    def make() -> str:
        made.append(f"te_test_{uuid.uuid4().hex[:16]}")
        return made[-1]

    yield make
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for name in made:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def postgres_schema(new_schema: Callable[[], str]) -> str:
    """One fresh schema name for this test."""
    return new_schema()


def assert_store_is_consistent(repository: Repository) -> None:
    """Nothing is half-written: every stored change has its events and every event its change.

    Folding the outbox's thread and ticket events must give exactly the stored threads and tickets; every
    message has its thread and exactly one MESSAGE_APPENDED event; R1 holds.
    """
    threads: dict[str, list[object]] = {}
    tickets: dict[str, str] = {}
    appended: Counter[str] = Counter()
    sequences = []
    for record in repository.read_events():
        sequences.append(record.sequence)
        event = record.event
        if isinstance(event, ThreadCreated):
            assert event.thread_id not in threads, f"{event.thread_id} created twice"
            threads[event.thread_id] = ["OPEN", False]
        elif isinstance(event, ThreadClosed | ThreadReopened):
            threads[event.thread_id][0] = "CLOSED" if isinstance(event, ThreadClosed) else "OPEN"
        elif isinstance(event, ThreadArchived | ThreadRestored):
            threads[event.thread_id][1] = isinstance(event, ThreadArchived)
        elif isinstance(event, TicketCreated | TicketReopened | TicketClosed):
            tickets[event.ticket_id] = "CLOSED" if isinstance(event, TicketClosed) else "OPEN"
        elif isinstance(event, MessageAppended):
            appended[event.message_id] += 1
    assert sequences == sorted(set(sequences)), "event sequence numbers are not increasing"
    stored = {t.id: t for t in repository.list_threads()}
    assert {i: [t.status.value, t.archived] for i, t in stored.items()} == threads
    assert {t.id: t.status.value for t in repository.list_tickets()} == tickets
    messages = repository.list_messages()
    assert Counter(m.id for m in messages) == appended
    for message in messages:
        assert message.thread_id in stored, f"message {message.id} has no thread"
        assert stored[message.thread_id].channel_account_id == message.channel_account_id
    live = Counter((t.channel_account_id, t.key) for t in stored.values() if t.is_open and not t.integration_thread_id)
    assert all(count == 1 for count in live.values()), "R1: two open threads for one key"


@pytest.fixture(scope="module")
def trios(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[TrioFactory]:
    """Fresh memory, SQLite and PostgreSQL stores for each test or example (``three_stores.py``)."""
    factory = TrioFactory(tmp_path_factory.mktemp("three-stores"), postgres_url)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def assert_consistent() -> Callable[[Repository], None]:
    """The check :func:`assert_store_is_consistent`, for tests that cannot import this module."""
    return assert_store_is_consistent


@pytest.fixture
def relayed_url(postgres_url: str) -> Iterator[tuple[str, RoundTripRelay]]:
    """A URL of the test server through a relay that counts round trips, and the relay."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(postgres_url)
    host = str(params.get("host") or "127.0.0.1")
    if host.startswith("/"):
        pytest.skip("the round-trip relay needs a TCP server, not a Unix socket")
    relay = RoundTripRelay(host, int(params.get("port") or 5432))
    params.update(host="127.0.0.1", port=str(relay.port), sslmode="disable")
    try:
        yield make_conninfo(**params), relay  # type: ignore[arg-type]
    finally:
        relay.close()
