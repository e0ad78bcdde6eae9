"""One engine per store (memory, SQLite, PostgreSQL) fed the same commands, for tests that every store agrees.

Whatever validation accepts, every store must keep, give back and render byte for byte alike; whatever it
refuses, it must refuse with the same typed error (``threading_engine.storable``). :meth:`Trio.each` runs one
action on the three and checks exactly that after every step.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threading_engine import (
    Capabilities,
    CreateChannel,
    CreateChannelAccount,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    SequentialIds,
    ThreadingError,
    ThreadingModel,
)
from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.hubspot import (
    account_to_json,
    channel_to_json,
    event_to_json,
    message_to_json,
    thread_to_json,
    ticket_to_json,
)
from threading_engine.repository import Repository
from threading_engine.testing.conformance import snapshot

BACKENDS = ("memory", "sqlite", "postgresql")
OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")
CUSTOMER = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460001")
TABLES = ("channels", "accounts", "threads", "tickets", "messages", "events")
Answer = tuple[Any, ...]


class Clock:
    """The one clock of the three engines: a test may set it to any time (R4's "now")."""

    def __init__(self) -> None:
        self.now: object = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now  # type: ignore[return-value]  # tests set times validation must refuse, too


def rendered(repository: Repository) -> bytes:
    """Everything the store holds as HubSpot's JSON, encoded to UTF-8 (which every accepted string has)."""
    state = snapshot(repository)
    accounts = {account.id: account for account in state["accounts"]}
    document = {
        "channels": [channel_to_json(channel) for channel in state["channels"]],
        "accounts": [account_to_json(account) for account in state["accounts"]],
        "threads": [thread_to_json(thread, account=accounts[thread.channel_account_id]) for thread in state["threads"]],
        "tickets": [ticket_to_json(ticket) for ticket in state["tickets"]],
        "messages": [
            message_to_json(message, channel_id=accounts[message.channel_account_id].channel_id)
            for message in state["messages"]
        ],
        "events": [event_to_json(record) for record in state["events"]],
        "pending": state["pending"],
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def outcome_of(action: Callable[[Engine], object], engine: Engine) -> Answer:
    """``("ok", what the action returned)`` or ``("refused", its error's class, code, field, rule, message)``;
    any other exception escapes: no input may cause one."""
    try:
        return ("ok", action(engine))
    except ThreadingError as error:
        return ("refused", type(error).__name__, error.code, error.field, error.rule, error.message)


class Trio:
    """Three engines with sequential ids on one clock: memory (the reference), SQLite and PostgreSQL."""

    def __init__(self, repositories: list[Repository]) -> None:
        self.clock = Clock()
        self.engines = [Engine(repository, clock=self.clock, ids=SequentialIds()) for repository in repositories]

    def each(self, action: Callable[[Engine], object]) -> Answer:
        """Run ``action`` on the three; they must agree on its outcome, their stored state and its JSON."""
        outcomes = [outcome_of(action, engine) for engine in self.engines]
        for backend, outcome in zip(BACKENDS[1:], outcomes[1:], strict=True):
            assert outcome == outcomes[0], f"{backend} answered {outcome!r}, memory {outcomes[0]!r}"
        self.assert_same_state()
        return outcomes[0]

    def assert_same_state(self) -> None:
        states = [snapshot(engine.repository) for engine in self.engines]
        for backend, state in zip(BACKENDS[1:], states[1:], strict=True):
            assert state == states[0], f"{backend} holds another state than memory"
        documents = [rendered(engine.repository) for engine in self.engines]
        for backend, document in zip(BACKENDS[1:], documents[1:], strict=True):
            assert document == documents[0], f"{backend} renders another JSON than memory"


def set_up(trio: Trio) -> None:
    """What every test starts from: channel-1/account-1 keyed by delivery identifiers (every type allowed),
    channel-2/account-2 by integration thread ids, both creating tickets; and thread-1, open on account-1."""
    for model in (ThreadingModel.DELIVERY_IDENTIFIER, ThreadingModel.INTEGRATION_THREAD_ID):
        capabilities = Capabilities(
            tuple(IdentifierType), model, allow_outgoing_messages=True, allow_conversation_start=True
        )
        trio.each(lambda engine, c=capabilities: engine.execute(CreateChannel("Channel", c)))  # type: ignore[misc]
    for number in (1, 2):
        command = CreateChannelAccount(f"channel-{number}", "Desk", "1", OWN, creates_tickets=True)
        trio.each(lambda engine, c=command: engine.execute(c))  # type: ignore[misc]
    trio.each(
        lambda engine: engine.publish_message(
            "account-1", direction=Direction.INCOMING, senders=[CUSTOMER], text="hello"
        )
    )


class TrioFactory:
    """Makes a fresh :class:`Trio` per example: a new memory store and SQLite file, and the one PostgreSQL
    schema emptied (creating a schema per example would cost a migration each)."""

    def __init__(self, directory: Path, postgres_url: str, *, view_cache_size: int | None = None) -> None:
        """``view_cache_size``: the PostgreSQL store's remembered views (its default if ``None``)."""
        import psycopg

        from threading_engine.backends.postgres import PostgresRepository

        self.directory = directory
        self.schema = f"te_test_{uuid.uuid4().hex[:16]}"
        sized = {} if view_cache_size is None else {"view_cache_size": view_cache_size}
        self.postgres = PostgresRepository(postgres_url, schema=self.schema, min_size=1, max_size=2, **sized)
        self.admin = psycopg.connect(postgres_url, autocommit=True)
        self._files = itertools.count()

    @contextmanager
    def fresh(self) -> Iterator[Trio]:
        tables = ", ".join(f'"{self.schema}".{table}' for table in TABLES)
        self.admin.execute(f"TRUNCATE {tables} RESTART IDENTITY")
        sqlite = SQLiteRepository(str(self.directory / f"store-{next(self._files)}.db"))
        try:
            yield Trio([MemoryRepository(), sqlite, self.postgres])
        finally:
            sqlite.close()

    def close(self) -> None:
        self.postgres.close()
        self.admin.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.admin.close()
