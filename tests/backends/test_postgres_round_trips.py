"""Round trips per unit of work on PostgreSQL: at most two in steady state (one to load, one to commit).

The repository talks to the server through ``threading_engine.testing.roundtrips.RoundTripRelay``, a TCP
relay that counts round trips on the wire, so pipelining is proved rather than assumed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

psycopg = pytest.importorskip("psycopg")

from threading_engine import (  # noqa: E402
    Capabilities,
    CloseThread,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdempotencyConflictError,
    IdentifierType,
    Outcome,
    Participant,
    PublishMessage,
    Result,
    ThreadingModel,
)
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402
from threading_engine.testing.roundtrips import RoundTripRelay  # noqa: E402

pytestmark = pytest.mark.postgres


def test_steady_state_costs_at_most_two_round_trips_per_unit_of_work(
    relayed_url: tuple[str, RoundTripRelay], postgres_schema: str
) -> None:
    """Without remembered views (``test_postgres_remembered_views.py`` has them): load, then commit."""
    url, relay = relayed_url
    repository = PostgresRepository(url, schema=postgres_schema, min_size=1, max_size=1, view_cache_size=0)
    with Engine(repository) as engine:
        capabilities = Capabilities(
            (IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER, allow_outgoing_messages=True
        )
        channel = engine.create_channel("SMS", capabilities)
        assert channel.channel_id is not None
        account_id = engine.create_channel_account(
            channel.channel_id,
            name="Desk",
            inbox_id="1",
            creates_tickets=True,
            delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100"),
        ).channel_account_id
        assert account_id is not None
        people = [DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{n:02}") for n in range(40)]
        serial = iter(range(1_000_000))

        def publish(
            person: int, direction: Direction = Direction.INCOMING, idempotency_id: str | None = None
        ) -> Result:
            sender, recipients = (people[person], ()) if direction is Direction.INCOMING else (None, (people[person],))
            return engine.publish_message(
                account_id,
                direction=direction,
                senders=[sender or DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")],
                recipients=recipients,
                text="hello",
                integration_idempotency_id=idempotency_id or f"id-{next(serial)}",
            )

        # Warm-up: the engine reads the account once for its routing cache.
        for person in range(3):
            publish(person)

        measured: dict[str, int] = {}

        def count(label: str, action: Callable[[], object], expected: Outcome | None) -> None:
            before = relay.round_trips
            outcome = action()
            measured[label] = max(measured.get(label, 0), relay.round_trips - before)
            if expected is not None:
                assert isinstance(outcome, Result) and outcome.outcome is expected, label

        def conflicting() -> None:
            with pytest.raises(IdempotencyConflictError):
                engine.publish_message(
                    account_id,
                    direction=Direction.INCOMING,
                    senders=[people[0]],
                    text="other",
                    integration_idempotency_id="id-0",
                )

        def one_round(fresh: int) -> str:
            count("publish CREATED", lambda: publish(fresh), Outcome.CREATED)
            count("publish APPENDED", lambda: publish(fresh), Outcome.APPENDED)
            count("publish OUTGOING APPENDED", lambda: publish(fresh, Direction.OUTGOING), Outcome.APPENDED)
            count("publish DUPLICATE", lambda: publish(0, idempotency_id="id-0"), Outcome.DUPLICATE)
            thread_id = publish(fresh + 1).thread_id
            assert thread_id is not None
            count("reply", lambda: engine.reply(thread_id, "on it"), Outcome.APPENDED)
            count("close", lambda: engine.close_thread(thread_id), Outcome.CHANGED)
            count("close again", lambda: engine.close_thread(thread_id), Outcome.UNCHANGED)
            count("publish REOPENED", lambda: publish(fresh + 1), Outcome.REOPENED)
            count("rejected publish", conflicting, None)
            return thread_id

        for round_ in range(3):
            thread_id = one_round(10 + round_ * 5)
        # The relay itself: a plain read is one round trip.
        count("read", lambda: repository.get_thread(thread_id), None)

    assert measured.pop("read") == 1
    # Load, then commit (or, for a unit of work that writes nothing, the end of its transaction).
    assert measured == dict.fromkeys(measured, 2)


def test_a_batch_loads_every_view_in_one_round_trip(
    relayed_url: tuple[str, RoundTripRelay], postgres_schema: str
) -> None:
    url, relay = relayed_url
    repository = PostgresRepository(url, schema=postgres_schema, min_size=1, max_size=1)
    with Engine(repository) as engine:
        capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
        channel_id = engine.create_channel("SMS", capabilities).channel_id
        assert channel_id is not None
        account_id = engine.create_channel_account(
            channel_id,
            name="Desk",
            inbox_id="1",
            delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100"),
        ).channel_account_id
        assert account_id is not None
        people = [DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{n:02}") for n in range(40)]
        serial = iter(range(1_000_000))

        def publishes(persons: list[int]) -> list[PublishMessage]:
            return [
                PublishMessage(
                    account_id,
                    Direction.INCOMING,
                    (Participant(people[person]),),
                    "hello",
                    integration_idempotency_id=f"id-{next(serial)}",
                )
                for person in persons
            ]

        engine.publish_message(account_id, direction=Direction.INCOMING, senders=[people[0]], text="warm-up")

        def batch(persons: list[int]) -> tuple[list[Outcome], int]:
            before = relay.round_trips
            results = engine.execute_many(publishes(persons))
            assert all(isinstance(result, Result) for result in results)
            return [result.outcome for result in results if isinstance(result, Result)], relay.round_trips - before

        # Twenty new threads: every view read ahead, then the commit.
        assert batch(list(range(1, 21))) == ([Outcome.CREATED] * 20, 2)
        # Twenty appends to them: the same.
        assert batch(list(range(1, 21))) == ([Outcome.APPENDED] * 20, 2)
        # Keys the batch writes more than once: the views read ahead are kept current with what it saved.
        assert batch([30, 30, 1]) == ([Outcome.CREATED, Outcome.APPENDED, Outcome.APPENDED], 2)
        assert batch([31, 2, 31, 31]) == ([Outcome.CREATED, *[Outcome.APPENDED] * 3], 2)
        # A thread closed earlier in the batch moves out of its place in the view: that view is read again.
        thread_id = engine.publish_message(
            account_id, direction=Direction.INCOMING, senders=[people[3]], text="hi"
        ).thread_id
        assert thread_id is not None
        before = relay.round_trips
        results = engine.execute_many([CloseThread(thread_id), *publishes([3])])
        assert [r.outcome for r in results if isinstance(r, Result)] == [Outcome.CHANGED, Outcome.REOPENED]
        assert relay.round_trips - before == 3
