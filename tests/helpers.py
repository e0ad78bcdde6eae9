"""Shared builders for the example-based tests: an engine on a clock the test moves, and ready-made channels.

``delivery_world()`` is a DELIVERY_IDENTIFIER channel whose account creates tickets (R0-R8);
``integration_world()`` is an INTEGRATION_THREAD_ID channel (I1, I2). ``A``, ``B`` and ``C`` are customers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypedDict, Unpack

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    EventRecord,
    IdentifierType,
    Message,
    Participant,
    Policy,
    Result,
    SequentialIds,
    Thread,
    ThreadingModel,
    Ticket,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALL_TYPES = tuple(IdentifierType)


class Clock:
    """A clock the test sets and moves; the engine reads it as R4's "now"."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return self.now


def phone(value: str) -> DeliveryIdentifier:
    return DeliveryIdentifier.of(IdentifierType.HS_PHONE_NUMBER, value)


def email(value: str) -> DeliveryIdentifier:
    return DeliveryIdentifier.of(IdentifierType.HS_EMAIL_ADDRESS, value)


A = phone("+15550100001")
B = phone("+15550100002")
C = phone("+15550100003")
OWN = phone("+15550109999")


def new_engine(*, clock: Clock | None = None, policy: Policy | None = None) -> Engine:
    """An in-memory engine with sequential ids, so that ids in assertions are predictable."""
    return Engine(clock=clock or Clock(), ids=SequentialIds(), policy=policy)


@dataclass(frozen=True)
class World:
    """One channel with one account on an engine, and shortcuts for the commands tests repeat."""

    engine: Engine
    clock: Clock
    channel_id: str
    account_id: str
    identifier: DeliveryIdentifier

    def incoming(
        self,
        *senders: DeliveryIdentifier | Participant,
        text: str = "hello",
        recipients: Iterable[DeliveryIdentifier | Participant] = (),
        timestamp: datetime | None = None,
        integration_thread_id: str | None = None,
        idempotency_id: str | None = None,
    ) -> Result:
        """The integration publishes a message a customer sent (INCOMING); ``A`` by default."""
        return self.engine.publish_message(
            self.account_id,
            direction=Direction.INCOMING,
            senders=senders or (A,),
            text=text,
            recipients=recipients,
            timestamp=timestamp,
            integration_thread_id=integration_thread_id,
            integration_idempotency_id=idempotency_id,
        )

    def outgoing(
        self,
        *recipients: DeliveryIdentifier | Participant,
        text: str = "sent elsewhere",
        integration_thread_id: str | None = None,
        idempotency_id: str | None = None,
    ) -> Result:
        """The integration mirrors a message the business sent from elsewhere (OUTGOING); to ``A`` by default."""
        return self.engine.publish_message(
            self.account_id,
            direction=Direction.OUTGOING,
            senders=(self.identifier,),
            text=text,
            recipients=recipients or (A,),
            integration_thread_id=integration_thread_id,
            integration_idempotency_id=idempotency_id,
        )

    def thread(self, thread_id: str | None) -> Thread:
        assert thread_id is not None
        return self.engine.thread(thread_id)

    def ticket(self, ticket_id: str | None) -> Ticket:
        assert ticket_id is not None
        return self.engine.ticket(ticket_id)

    def message(self, result: Result) -> Message:
        """The message a publish, reply or conversation start stored."""
        assert result.message_id is not None
        return self.engine.message(result.message_id)


def connect(
    engine: Engine,
    model: ThreadingModel,
    *,
    identifier: DeliveryIdentifier = OWN,
    creates_tickets: bool = True,
    allow_outgoing_messages: bool = True,
    allow_conversation_start: bool = True,
    types: tuple[IdentifierType, ...] = ALL_TYPES,
) -> tuple[str, str]:
    """Create a channel of ``model`` that accepts the identifier ``types`` (every one by default), and one account
    on it: their ids."""
    capabilities = Capabilities(
        delivery_identifier_types=types,
        threading_model=model,
        allow_outgoing_messages=allow_outgoing_messages,
        allow_conversation_start=allow_conversation_start,
    )
    channel = engine.create_channel(f"{model.value} channel", capabilities)
    assert channel.channel_id is not None
    account = engine.create_channel_account(
        channel.channel_id,
        name="Support",
        inbox_id="inbox-1",
        delivery_identifier=identifier,
        creates_tickets=creates_tickets,
    )
    assert account.channel_account_id is not None
    return channel.channel_id, account.channel_account_id


class WorldOptions(TypedDict, total=False):
    creates_tickets: bool
    allow_outgoing_messages: bool
    allow_conversation_start: bool
    policy: Policy
    clock: Clock


def _world(
    model: ThreadingModel,
    *,
    creates_tickets: bool = True,
    allow_outgoing_messages: bool = True,
    allow_conversation_start: bool = True,
    policy: Policy | None = None,
    clock: Clock | None = None,
) -> World:
    clock = clock or Clock()
    engine = new_engine(clock=clock, policy=policy)
    channel_id, account_id = connect(
        engine,
        model,
        creates_tickets=creates_tickets,
        allow_outgoing_messages=allow_outgoing_messages,
        allow_conversation_start=allow_conversation_start,
    )
    return World(engine, clock, channel_id, account_id, OWN)


def delivery_world(**options: Unpack[WorldOptions]) -> World:
    """A DELIVERY_IDENTIFIER channel accepting every identifier type, and an account that creates tickets."""
    return _world(ThreadingModel.DELIVERY_IDENTIFIER, **options)


def integration_world(**options: Unpack[WorldOptions]) -> World:
    """An INTEGRATION_THREAD_ID channel accepting every identifier type, and an account that creates tickets."""
    return _world(ThreadingModel.INTEGRATION_THREAD_ID, **options)


def two_closed_threads(world: World) -> tuple[str, str]:
    """Thread one closed at +1 min; thread two (a mirrored OUTGOING, R3) created at +2 min, closed at +3 min."""
    one = thread_id_of(world.incoming(A))
    world.clock.advance(timedelta(minutes=1))
    world.engine.close_thread(one)
    world.clock.advance(timedelta(minutes=1))
    two = thread_id_of(world.outgoing(A))
    world.clock.advance(timedelta(minutes=1))
    world.engine.close_thread(two)
    world.clock.advance(timedelta(minutes=1))
    assert one != two
    return one, two


def thread_id_of(result: Result) -> str:
    """The thread a command landed on; fails the test if it names none."""
    assert result.thread_id is not None, result
    return result.thread_id


def event_types(result: Result) -> list[str]:
    return [record.event.type for record in result.events]


def event_rules(records: Iterable[EventRecord]) -> list[tuple[str, str | None]]:
    """Each event's type and the rule it names (E2); ``None`` for events that name none."""
    return [(record.event.type, getattr(record.event, "rule", None)) for record in records]


StoreSnapshot = tuple[list[object], ...]


def snapshot(engine: Engine) -> StoreSnapshot:
    """Everything the store holds, to compare before and after a command that must change nothing."""
    repository = engine.repository
    return (
        list(repository.list_channels()),
        list(repository.list_accounts()),
        list(repository.list_threads()),
        list(repository.list_tickets()),
        list(repository.list_messages()),
        list(repository.read_events()),
        list(repository.pending_events()),
    )
