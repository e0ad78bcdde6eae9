"""Remembered views on PostgreSQL: a command on a key this process wrote is one round trip (``remembered.py``).

Round trips are counted on the wire by ``RoundTripRelay``. A second writer is a second repository (its own pool
and connections, as another process would have) or a plain connection that is not this library.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    Result,
    ThreadingModel,
    ThreadNotOpenError,
)
from threading_engine.backends.postgres import PostgresRepository
from threading_engine.backends.postgres.remembered import HIT_RATE_TO_USE, RememberedViews
from threading_engine.decisions import View
from threading_engine.testing.roundtrips import RoundTripRelay

from .pg_relay import HoldingRelay

pytestmark = pytest.mark.postgres

OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")
PEOPLE = [DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{n:02}") for n in range(20)]


class Writer:
    """An engine on its own repository, counting the round trips of the relay it may talk through."""

    def __init__(self, url: str, schema: str, relay: RoundTripRelay | None = None, **options: int) -> None:
        self.repository = PostgresRepository(url, schema=schema, min_size=1, max_size=1, **options)
        self.engine = Engine(self.repository)
        self.relay = relay
        self._serial = iter(range(1_000_000))

    def publish(
        self, account_id: str, person: int, *, direction: Direction = Direction.INCOMING, **fields: Any
    ) -> Result:
        incoming = direction is Direction.INCOMING
        return self.engine.publish_message(
            account_id,
            direction=direction,
            senders=[PEOPLE[person] if incoming else OWN],
            recipients=() if incoming else [PEOPLE[person]],
            text="hello",
            integration_idempotency_id=fields.pop("idempotency_id", f"{id(self)}-{next(self._serial)}"),
            **fields,
        )

    def counted(self, account_id: str, person: int, **fields: Any) -> tuple[Outcome, int]:
        assert self.relay is not None
        before = self.relay.round_trips
        outcome = self.publish(account_id, person, **fields).outcome
        return outcome, self.relay.round_trips - before

    def close(self) -> None:
        self.engine.close()


def _account(engine: Engine, model: ThreadingModel = ThreadingModel.DELIVERY_IDENTIFIER) -> str:
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), model, allow_outgoing_messages=True)
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    account_id = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", delivery_identifier=OWN
    ).channel_account_id
    assert account_id is not None
    return account_id


@pytest.fixture
def writers(
    relayed_url: tuple[str, RoundTripRelay], postgres_url: str, postgres_schema: str
) -> Iterator[tuple[Writer, Writer]]:
    """This process's writer (through the relay) and another one on the same schema."""
    url, relay = relayed_url
    ours = Writer(url, postgres_schema, relay)
    other = Writer(postgres_url, postgres_schema)
    try:
        yield ours, other
    finally:
        ours.close()
        other.close()


def test_a_command_on_a_warm_key_costs_one_round_trip(writers: tuple[Writer, Writer]) -> None:
    ours, _ = writers
    account_id = _account(ours.engine)
    for person in range(10):  # the account's routing, then each key's first command: read, then written
        ours.publish(account_id, person)
    assert ours.relay is not None
    before = ours.relay.round_trips
    outcomes = [ours.publish(account_id, n % 10).outcome for n in range(100)]
    outcomes += [ours.publish(account_id, n % 10, direction=Direction.OUTGOING).outcome for n in range(100)]
    assert outcomes == [Outcome.APPENDED] * 200
    assert (ours.relay.round_trips - before) / 200 == 1.00
    views = ours.repository.remembered_views
    assert (views.misses, views.stale) == (0, 0) and views.answered >= 200
    # A retried idempotency id is a miss: the guard checks the id is free, and the plain path finds it.
    assert ours.counted(account_id, 0, idempotency_id="once") == (Outcome.APPENDED, 1)
    assert ours.counted(account_id, 0, idempotency_id="once") == (Outcome.DUPLICATE, 3)


def test_a_write_by_another_connection_fails_the_guard_and_the_command_is_decided_afresh(
    writers: tuple[Writer, Writer],
) -> None:
    ours, other = writers
    account_id = _account(ours.engine)
    thread_id = ours.publish(account_id, 0).thread_id
    assert ours.counted(account_id, 0) == (Outcome.APPENDED, 1)
    # The other writer closes the thread: our remembered view still shows it open.
    other.engine.close_thread(thread_id)  # type: ignore[arg-type]
    outcome, round_trips = ours.counted(account_id, 0)
    # The guard fails (one round trip, nothing written), the plain path reads and reopens (two more). On a loaded
    # machine the relay may count one more: a server answer that leaves before the rest of a pipeline arrives
    # looks like a round trip of its own (``RoundTripRelay``), so a fourth is tolerated, never fewer than three.
    assert outcome is Outcome.REOPENED
    assert round_trips in (3, 4)
    assert (ours.repository.remembered_views.misses, ours.repository.remembered_views.stale) == (1, 1)
    assert [m.thread_id for m in ours.engine.messages(thread_id)].count(thread_id) == 3  # type: ignore[arg-type]
    # The miss halved the key's hit rate: the next commands go the plain way (the reopened thread left its
    # place in the view, which is read again) until a read finds what was remembered, a hit that would have been.
    assert [ours.counted(account_id, 0) for _ in range(3)] == [(Outcome.APPENDED, 2)] * 2 + [(Outcome.APPENDED, 1)]


def test_a_write_by_a_tool_that_is_not_this_library_fails_the_guard_too(
    writers: tuple[Writer, Writer], postgres_url: str, postgres_schema: str
) -> None:
    ours, _ = writers
    account_id = _account(ours.engine)
    thread_id = ours.publish(account_id, 0).thread_id
    assert ours.counted(account_id, 0) == (Outcome.APPENDED, 1)
    with psycopg.connect(postgres_url, autocommit=True) as connection:  # a row rewritten as it was: a write still
        connection.execute(f'UPDATE "{postgres_schema}".threads SET status = status WHERE id = %s', (thread_id,))
    outcome, round_trips = ours.counted(account_id, 0)
    assert outcome is Outcome.APPENDED
    assert round_trips in (3, 4)  # three, or one more counted under load (see above)
    assert ours.repository.remembered_views.misses == 1


def test_another_writer_on_the_same_key_in_between_makes_a_stale_view_retry_at_once(
    writers: tuple[Writer, Writer],
) -> None:
    ours, other = writers
    account_id = _account(ours.engine)
    ours.publish(account_id, 1)
    ours.publish(account_id, 1)
    appended = other.publish(account_id, 1)
    result = ours.publish(account_id, 1, idempotency_id="after-the-other")
    assert (result.outcome, result.thread_id) == (Outcome.APPENDED, appended.thread_id)
    # The miss switched the key off for a while: a retried idempotency id goes the plain way.
    assert ours.counted(account_id, 1, idempotency_id="after-the-other") == (Outcome.DUPLICATE, 2)
    assert len(ours.engine.messages(appended.thread_id)) == 4  # type: ignore[arg-type]


def test_a_rejection_decided_from_a_remembered_view_is_confirmed_on_a_fresh_read(
    writers: tuple[Writer, Writer],
) -> None:
    ours, other = writers
    account_id = _account(ours.engine, ThreadingModel.INTEGRATION_THREAD_ID)
    thread_id = ours.publish(account_id, 0, integration_thread_id="conversation-7").thread_id
    ours.engine.close_thread(thread_id)  # type: ignore[arg-type]
    with pytest.raises(ThreadNotOpenError):  # read afresh, and now remembered: closed
        ours.publish(account_id, 0, direction=Direction.OUTGOING, integration_thread_id="conversation-7")
    other.publish(account_id, 0, integration_thread_id="conversation-7")  # reopens it
    # From memory the thread is closed; the rejection is checked on a fresh read, which finds it open.
    assert ours.counted(account_id, 0, direction=Direction.OUTGOING, integration_thread_id="conversation-7") == (
        Outcome.APPENDED,
        2,
    )
    other.engine.close_thread(thread_id)  # type: ignore[arg-type]
    outgoing: dict[str, Any] = {"direction": Direction.OUTGOING, "integration_thread_id": "conversation-7"}
    with pytest.raises(ThreadNotOpenError):  # remembered open: the guard fails, and the fresh read rejects it
        ours.publish(account_id, 0, **outgoing)
    assert ours.relay is not None
    before = ours.relay.round_trips
    with pytest.raises(ThreadNotOpenError):  # remembered closed: rejected from memory, then on a fresh read
        ours.publish(account_id, 0, **outgoing)
    assert ours.relay.round_trips - before == 2


def test_keys_another_writer_shares_switch_the_path_off_and_back_on(writers: tuple[Writer, Writer]) -> None:
    ours, other = writers
    account_id = _account(ours.engine)
    views = ours.repository.remembered_views
    for _ in range(2):
        ours.publish(account_id, 2)
    costs = []
    for _ in range(12):  # the other writer writes the key between every two of ours: every view is stale
        other.publish(account_id, 2)
        costs.append(ours.counted(account_id, 2))
    assert {outcome for outcome, _ in costs} == {Outcome.APPENDED}
    # One miss (three round trips, or a fourth the relay may count under load: see above), then the plain path's
    # two: never a miss again.
    trips = [trips for _, trips in costs]
    assert trips[0] in (3, 4) and trips[1:] == [2] * 11
    assert views.misses == 12  # counted while off too, by comparing each fresh read with the remembered view
    key = ours.engine.thread(ours.publish(account_id, 2).thread_id).key  # type: ignore[arg-type]
    assert views.usable((account_id, key, None)) is None
    trips = [ours.counted(account_id, 2)[1] for _ in range(12)]  # alone again: the hit rates climb back
    assert trips[0] == 2 and trips[-1] == 1
    assert views.hit_rate < 1 and views.hit_rate >= HIT_RATE_TO_USE


def test_a_one_round_trip_commit_whose_answer_is_lost_is_settled_once(postgres_url: str, postgres_schema: str) -> None:
    """The server commits a one-round-trip pipeline (no BEGIN, no COMMIT: its Sync commits), then its session ends
    before the answer reaches the client. The unit settles the lost commit (``settle_lost_commit``): committed, so
    the command's outcome is what it stored, with its events, told once (D1); its ids are not drawn again."""
    params = conninfo_to_dict(postgres_url)
    relay = HoldingRelay(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    params.update(host="127.0.0.1", port=str(relay.port), sslmode="disable", application_name="te-held-answer")
    ours = Writer(make_conninfo(**params), postgres_schema)  # type: ignore[arg-type]
    try:
        account_id = _account(ours.engine)
        ours.publish(account_id, 4)
        ours.publish(account_id, 4)  # the key is remembered: the next command is one pipeline
        relay.hold_next_commit_answer(re.compile(rb"held-once"), implicit=True)
        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(ours.publish, account_id, 4, idempotency_id="held-once")
            assert relay.held.wait(10), "no one-round-trip commit was held"
            with psycopg.connect(postgres_url, autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                    ("te-held-answer",),
                )
                result = sent.result(timeout=30)
                stored = connection.execute(
                    f'SELECT id FROM "{postgres_schema}".messages WHERE idempotency_id = %s', ("held-once",)
                ).fetchall()
        assert result.outcome is Outcome.APPENDED  # as committed, not a DUPLICATE found by sending it again
        assert stored == [(result.message_id,)] and result.events
        outbox = {record.event_id: record.sequence for record in ours.repository.read_events()}
        assert [outbox.get(e.event_id) for e in result.events] == [e.sequence for e in result.events]
        assert ours.publish(account_id, 4).outcome is Outcome.APPENDED  # fresh ids: none of the stored ones
    finally:
        ours.close()
        relay.close()


def test_the_path_can_be_turned_off(relayed_url: tuple[str, RoundTripRelay], postgres_schema: str) -> None:
    url, relay = relayed_url
    ours = Writer(url, postgres_schema, relay, view_cache_size=0)
    try:
        account_id = _account(ours.engine)
        ours.publish(account_id, 3)
        assert [ours.counted(account_id, 3) for _ in range(3)] == [(Outcome.APPENDED, 2)] * 3
        assert len(ours.repository.remembered_views) == 0
    finally:
        ours.close()


def test_the_least_recently_used_view_is_forgotten_first_and_a_view_without_versions_is_not_kept() -> None:
    from .test_postgres_migration import ACCOUNT, CHANNEL

    with pytest.raises(ValueError, match="negative"):
        RememberedViews(-1)
    views = RememberedViews(1)
    view = View(channel=CHANNEL, account=ACCOUNT)
    versions = {("account", ACCOUNT.id): 1, ("channel", CHANNEL.id): 1}
    first, second = (ACCOUNT.id, "key-1", None), (ACCOUNT.id, "key-2", None)
    views.read(first, view, versions, False)
    views.read(second, view, {("account", ACCOUNT.id): 1}, False)  # no channel version: nothing to guard
    assert len(views) == 1 and views.usable(first) is not None
    views.read(second, view, versions, False)
    assert len(views) == 1 and views.usable(first) is None and views.usable(second) is not None
