"""The benchmark's world: one channel, two accounts, counterparts by number, and the ways commands are sent.

Every store starts the same way (:func:`new_fixture`): a DELIVERY_IDENTIFIER channel for phone numbers that
allows outgoing messages and conversation starts, an account without tickets (the micro scenarios, so that
the engine does what the floors do) and one that opens tickets (the mixed trace). The engine gets
:class:`~threading_engine.SequentialIds` and a :class:`SteppingClock`, so every run writes the same ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from threading_engine import (
    Capabilities,
    Command,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Participant,
    PublishMessage,
    Repository,
    Result,
    SequentialIds,
    ThreadingError,
    ThreadingModel,
)

from .timing import SteppingClock

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ACCOUNT_NUMBER = "+15550100000"
TICKETS_ACCOUNT_NUMBER = "+15550100001"
BATCH_SIZE = 100
TEXT = "Hello, is my order on its way? It was due yesterday."

Answer = Result | ThreadingError
BatchExecutor = Callable[[Sequence[Command]], list[Answer]]


def counterpart(number: int) -> DeliveryIdentifier:
    """The ``number``-th customer's phone number, already canonical (+44 and ten digits)."""
    return DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, f"+44{number:010d}")


@dataclass
class Fixture:
    """A fresh store with its engine, clock, the ids of the benchmark's channel and accounts, and their numbers."""

    engine: Engine
    clock: SteppingClock
    channel_id: str
    account_id: str
    tickets_account_id: str
    own: Participant
    tickets_own: Participant

    def incoming(self, who: int, *, idempotency_id: str | None = None) -> PublishMessage:
        """An INCOMING message from counterpart ``who`` to the account without tickets."""
        return incoming(self.account_id, who, self.clock.now, idempotency_id=idempotency_id)


def incoming(account_id: str, who: int, now: datetime, *, idempotency_id: str | None = None) -> PublishMessage:
    """An INCOMING message from counterpart ``who``, sent two seconds before ``now`` by the provider's clock.

    Its recipients are left out: they default to the account (SPEC section 8), as most integrations send them.
    """
    return PublishMessage(
        account_id,
        Direction.INCOMING,
        (Participant(counterpart(who)),),
        TEXT,
        timestamp=now - timedelta(seconds=2),
        integration_idempotency_id=idempotency_id,
    )


def new_fixture(repository: Repository, *, engine_clock: Callable[[], datetime] | None = None) -> Fixture:
    """Set up the benchmark's channel and accounts in ``repository`` and return the engine around it.

    The engine reads ``engine_clock`` if given, else the fixture's stepping clock.
    """
    clock = SteppingClock(START)
    engine = Engine(repository, clock=engine_clock or clock, ids=SequentialIds())
    capabilities = Capabilities(
        (IdentifierType.HS_PHONE_NUMBER,),
        ThreadingModel.DELIVERY_IDENTIFIER,
        allow_outgoing_messages=True,
        allow_conversation_start=True,
    )
    channel = engine.create_channel("Benchmark SMS", capabilities, webhook_url="https://example.com/hook")
    assert channel.channel_id is not None
    numbers = {}
    for name, number, tickets in (("Sales", ACCOUNT_NUMBER, False), ("Support", TICKETS_ACCOUNT_NUMBER, True)):
        account = engine.create_channel_account(
            channel.channel_id,
            name=name,
            inbox_id="1",
            delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", number),
            creates_tickets=tickets,
        )
        assert account.channel_account_id is not None
        numbers[number] = account.channel_account_id
    return Fixture(
        engine,
        clock,
        channel.channel_id,
        numbers[ACCOUNT_NUMBER],
        numbers[TICKETS_ACCOUNT_NUMBER],
        Participant(DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, ACCOUNT_NUMBER)),
        Participant(DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, TICKETS_ACCOUNT_NUMBER)),
    )


# -- sending commands ---------------------------------------------------------------------------------------


def batch_executor(engine: Engine) -> BatchExecutor:
    """The engine's ``execute_many`` when it has one; else the same contract as a loop over ``execute``."""
    native = getattr(engine, "execute_many", None)
    if native is not None:
        return cast(BatchExecutor, native)
    execute = engine.execute

    def one_by_one(commands: Sequence[Command]) -> list[Answer]:
        results: list[Answer] = []
        for command in commands:
            try:
                results.append(execute(command))
            except ThreadingError as error:
                results.append(error)
        return results

    return one_by_one


def has_batch_api(engine: Engine) -> bool:
    return getattr(engine, "execute_many", None) is not None


def run_single(engine: Engine, commands: Sequence[Command]) -> Callable[[], list[Answer]]:
    """The timed work of sending ``commands`` one by one: one unit of work (transaction) each."""
    execute = engine.execute

    def run() -> list[Answer]:
        results: list[Answer] = []
        append = results.append
        for command in commands:
            try:
                append(execute(command))
            except ThreadingError as error:
                append(error)
        return results

    return run


def run_batches(engine: Engine, commands: Sequence[Command]) -> Callable[[], list[Answer]]:
    """The timed work of sending ``commands`` in batches of :data:`BATCH_SIZE` (cut before timing)."""
    execute_many = batch_executor(engine)
    batches = list(chunks(commands, BATCH_SIZE))

    def run() -> list[Answer]:
        results: list[Answer] = []
        for batch in batches:
            results.extend(execute_many(batch))
        return results

    return run


RUNNERS: dict[str, Callable[[Engine, Sequence[Command]], Callable[[], list[Answer]]]] = {
    "single": run_single,
    "batch": run_batches,
}


def settle(engine: Engine, commands: Sequence[Command]) -> list[Result]:
    """Untimed set-up: send ``commands`` in batches and insist that every one succeeds."""
    execute_many = batch_executor(engine)
    results: list[Result] = []
    for batch in chunks(commands, BATCH_SIZE):
        for item in execute_many(batch):
            if isinstance(item, ThreadingError):
                raise RuntimeError(f"benchmark set-up command failed: {item!r}")
            results.append(item)
    return results


def chunks(items: Sequence[Command], size: int) -> Iterator[Sequence[Command]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
