"""The writers of the failover tests: processes that publish through a failover, retrying what they were not told.

Every message is named by its idempotency id, and everything else about it follows from that name: its
account, customer, direction and conversation. So any writer can send any message again with the same payload
(D1): a writer's own retry, another writer's echo (a webhook delivered twice, to two hosts), or the repair an
integration runs after an asynchronous failover.

Writers also close and archive threads now and then (``{"change": name}`` in the log), so that keys reopen and
conversations start new threads (R4, I1) across the failover.

Each writer appends one JSON line per attempt to its log, flushed at once, so that what it was told survives
it: ``{"id", "attempt", "sent", "at", "outcome", "message", "thread", "events"}`` for an acknowledged publish,
``{"id", "attempt", "sent", "at", "error", "detail"}`` for one whose outcome it did not learn (a
``StorageError``), ``{"id", "gave_up": true}`` when it stops trying, and ``{"id", "rejected"}`` for a refusal.
Times are ``time.time()``, comparable between processes.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Result,
    StorageError,
    ThreadingError,
    ThreadingModel,
    open_repository,
)

OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")
INTEGRATION_OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550199")
# Few customers and conversations, so that every key is shared by all writers (unless each keeps to its own).
CUSTOMERS = tuple(DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{n:02}") for n in range(3))
CONVERSATIONS = ("conv-0", "conv-1", "conv-2")
ECHOES = 0.1  # the share of deliveries that repeat another writer's message
CLOSES = 0.12  # the share of acknowledged publishes whose thread the writer then closes
ARCHIVES = 0.03  # ... or archives

Entry = dict[str, Any]


@dataclass(frozen=True)
class Accounts:
    """A DELIVERY_IDENTIFIER account (R1 applies) and an INTEGRATION_THREAD_ID one (I1 applies)."""

    delivery: str
    integration: str


@dataclass(frozen=True)
class Message:
    idempotency_id: str
    integration: bool
    customer: int
    outgoing: bool
    conversation: str | None


@dataclass(frozen=True)
class WriterPlan:
    store_url: str
    accounts: Accounts
    writer: int
    writers: int
    log: str
    retries: bool = True
    give_up_after: float = 90.0
    echoes: float = ECHOES
    # False: each writer's messages go to a customer and a conversation of its own (another's only as an echo),
    # so the views its process remembers stay current and most of its commands are one round trip.
    shared_keys: bool = True


def set_up(store_url: str) -> Accounts:
    """Create the two channels and their accounts every writer publishes to."""
    with Engine(open_repository(store_url)) as engine:
        accounts = []
        for model, own in (
            (ThreadingModel.DELIVERY_IDENTIFIER, OWN),
            (ThreadingModel.INTEGRATION_THREAD_ID, INTEGRATION_OWN),
        ):
            capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), model, allow_outgoing_messages=True)
            channel_id = engine.create_channel(model.value, capabilities).channel_id
            assert channel_id is not None
            account = engine.create_channel_account(
                channel_id, name="Desk", inbox_id="1", creates_tickets=True, delivery_identifier=own
            )
            assert account.channel_account_id is not None
            accounts.append(account.channel_account_id)
        return Accounts(*accounts)


def message(idempotency_id: str, shared_keys: bool = True) -> Message:
    """The message ``idempotency_id`` (``w<writer>-<step>``) names: the same in every process (a string seed is
    hashed with SHA-512). Without ``shared_keys``, its customer and conversation are its writer's own."""
    rng = random.Random(idempotency_id)
    kind, customer, conversation = rng.random(), rng.randrange(len(CUSTOMERS)), rng.choice(CONVERSATIONS)
    if not shared_keys:
        writer = int(idempotency_id[1:].partition("-")[0])
        customer, conversation = writer % len(CUSTOMERS), CONVERSATIONS[writer % len(CONVERSATIONS)]
    if kind < 0.2:
        return Message(idempotency_id, True, customer, False, conversation)
    return Message(idempotency_id, False, customer, kind < 0.35, None)


def publish(engine: Engine, accounts: Accounts, sent: Message) -> Result:
    customer = CUSTOMERS[sent.customer]
    if sent.integration:
        return engine.publish_message(
            accounts.integration,
            direction=Direction.INCOMING,
            senders=[customer],
            text=f"about {sent.conversation}: {sent.idempotency_id}",
            integration_thread_id=sent.conversation,
            integration_idempotency_id=sent.idempotency_id,
        )
    return engine.publish_message(
        accounts.delivery,
        direction=Direction.OUTGOING if sent.outgoing else Direction.INCOMING,
        senders=[OWN if sent.outgoing else customer],
        recipients=[customer] if sent.outgoing else [],
        text=f"message {sent.idempotency_id}",
        integration_idempotency_id=sent.idempotency_id,
    )


def until_told(
    plan: WriterPlan, note: Callable[..., None], rng: random.Random, name: dict[str, str], command: Callable[[], Result]
) -> Result | None:
    """Run ``command`` until told its outcome, running it again after each unknown one (if the writer retries).

    ``name`` names the command in the log: ``{"id": idempotency id}`` for a publish, ``{"change": ...}`` for a
    close or an archive, which may be repeated as harmlessly (R8: the repeat is UNCHANGED)."""
    first = time.time()
    attempt = 0
    while True:
        attempt += 1
        sent = time.time()
        try:
            result = command()
        except StorageError as error:  # the outcome is unknown: the change may or may not be stored
            note(**name, attempt=attempt, sent=sent, at=time.time(), error=error.code, detail=str(error))
            if not plan.retries or time.time() - first > plan.give_up_after:
                note(**name, gave_up=True)
                return None
            time.sleep(rng.uniform(0.05, 0.15))
            continue
        except ThreadingError as error:
            note(**name, rejected=error.code)
            return None
        note(
            **name,
            attempt=attempt,
            sent=sent,
            at=time.time(),
            outcome=result.outcome.value,
            message=result.message_id,
            thread=result.thread_id,
            events=[record.event_id for record in result.events],
        )
        return result


def deliver(
    engine: Engine, plan: WriterPlan, idempotency_id: str, note: Callable[..., None], rng: random.Random
) -> Result | None:
    """Publish the message ``idempotency_id`` names until told the outcome."""
    sent = message(idempotency_id, plan.shared_keys)
    return until_told(plan, note, rng, {"id": idempotency_id}, lambda: publish(engine, plan.accounts, sent))


def write(plan: WriterPlan, stop: Event) -> None:
    """Deliver this writer's messages, and now and then another's, until ``stop``; then finish the last one."""
    # The pool logs a warning for every connection it cannot make while no primary answers: expected here.
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
    rng = random.Random(plan.writer)
    engine = Engine(open_repository(plan.store_url))
    with open(plan.log, "a", encoding="utf-8") as log:

        def note(**entry: Any) -> None:
            log.write(json.dumps({"writer": plan.writer, **entry}) + "\n")
            log.flush()

        step = changes = 0
        while not stop.is_set():
            others = [n for n in range(plan.writers) if n != plan.writer]
            if step and others and rng.random() < plan.echoes:
                idempotency_id = f"w{rng.choice(others)}-{rng.randrange(step)}"
            else:
                idempotency_id, step = f"w{plan.writer}-{step}", step + 1
            result = deliver(engine, plan, idempotency_id, note, rng)
            draw = rng.random()
            if result is not None and result.thread_id is not None and draw < CLOSES + ARCHIVES:
                change = partial(engine.archive_thread if draw < ARCHIVES else engine.close_thread, result.thread_id)
                until_told(plan, note, rng, {"change": f"w{plan.writer}-c{changes}"}, change)
                changes += 1
    engine.close()


def redeliver(store_url: str, accounts: Accounts, idempotency_ids: Iterable[str], log: Path) -> None:
    """Send every message in ``idempotency_ids`` again, as an integration repairs a failover that lost some."""
    plan = WriterPlan(store_url, accounts, writer=-1, writers=0, log=str(log))
    rng = random.Random(0)
    with Engine(open_repository(store_url)) as engine, log.open("a", encoding="utf-8") as out:

        def note(**entry: Any) -> None:
            out.write(json.dumps({"writer": "repair", **entry}) + "\n")

        for idempotency_id in idempotency_ids:
            deliver(engine, plan, idempotency_id, note, rng)


def read_logs(paths: Iterable[Path]) -> list[Entry]:
    entries = []
    for path in paths:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.endswith("}"):  # a line cut short was never finished, so never acted on
                    entries.append(json.loads(line))
    return entries
