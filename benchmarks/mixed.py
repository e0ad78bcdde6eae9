"""A seeded generator of realistic traffic: the "mixed" scenario.

Customers write in (mostly on conversations they already have), the integration mirrors messages the business
sent elsewhere, agents reply, close and now and then archive threads, and a few publishes are retried by the
network. Agent commands name threads by id, and commands are built before the timed region, so the generator
keeps a small model of the engine's threads: it predicts which thread each message lands on and the id
:class:`~threading_engine.SequentialIds` will give a new thread. Each command comes with its expected outcome;
the harness counts any disagreement, so a model that drifted from the engine is reported, never hidden.

The model relies on the clock standing still while a round runs and staying within the 24 h reopen window
(the harness moves it by a second between rounds): an incoming message on a key without an open thread
reopens the key's closed, non-archived thread with the latest ``closedAt``, the one created last on a tie
(R4b), else creates one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from threading_engine import (
    ArchiveThread,
    CloseThread,
    Command,
    Direction,
    Participant,
    PublishMessage,
    Reply,
)

from .workload import TEXT, Fixture, counterpart

# The share of each kind of command, in the order they are drawn.
MIX: tuple[tuple[str, float], ...] = (
    ("incoming", 0.55),
    ("outgoing", 0.10),
    ("reply", 0.17),
    ("close", 0.08),
    ("archive", 0.03),
    ("retry", 0.07),
)
NEW_CUSTOMER_SHARE = 0.10
FIRST_CUSTOMER = 20_000_000


@dataclass
class _Key:
    """What the model knows of one customer's key: its threads in creation order and the open one."""

    threads: list[str] = field(default_factory=list)
    open: str | None = None


class MixedTrace:
    """An endless, reproducible trace for one fresh store; ``take(n)`` continues where the last call stopped.

    Every command it returns must be sent, in order, to the engine of that store, or the model drifts.
    """

    def __init__(self, fixture: Fixture, *, seed: int = 20240301) -> None:
        self._fixture = fixture
        self._account_id = fixture.tickets_account_id
        self._random = random.Random(seed)
        self._keys: dict[int, _Key] = {}
        self._customers: list[int] = []
        self._thread_key: dict[str, int] = {}
        self._open: list[str] = []  # open threads, for a random pick; removal swaps with the last
        self._open_at: dict[str, int] = {}
        self._closed_at: dict[str, datetime] = {}  # closed, non-archived threads
        self._published: list[PublishMessage] = []
        self._threads_created = 0
        self._messages = 0
        self._steps: dict[str, Callable[[], tuple[Command, str] | None]] = {
            "incoming": self._incoming,
            "outgoing": self._outgoing,
            "reply": self._reply,
            "close": self._close,
            "archive": self._archive,
            "retry": self._retry,
        }

    def take(self, count: int) -> tuple[list[Command], list[str]]:
        """The next ``count`` commands and the outcome (or error code) each must have."""
        commands: list[Command] = []
        expected: list[str] = []
        cumulative = []
        total = 0.0
        for kind, share in MIX:
            total += share
            cumulative.append((total, kind))
        while len(commands) < count:
            draw = self._random.random() * total
            kind = next(name for bound, name in cumulative if draw < bound)
            step = self._steps[kind]()
            if step is not None:
                commands.append(step[0])
                expected.append(step[1])
        return commands, expected

    # -- the kinds of command ----------------------------------------------------------------------------------

    def _customer(self) -> int:
        if not self._customers or self._random.random() < NEW_CUSTOMER_SHARE:
            number = FIRST_CUSTOMER + len(self._customers)
            self._customers.append(number)
            self._keys[number] = _Key()
            return number
        return self._random.choice(self._customers)

    def _publish(self, direction: Direction, number: int) -> PublishMessage:
        self._messages += 1
        customer = Participant(counterpart(number))
        own = self._fixture.tickets_own
        senders, recipients = ((customer,), ()) if direction is Direction.INCOMING else ((own,), (customer,))
        command = PublishMessage(
            self._account_id,
            direction,
            senders,
            TEXT,
            recipients,
            timestamp=self._fixture.clock.now - timedelta(seconds=1),
            integration_idempotency_id=f"mixed.{self._messages}",
        )
        self._published.append(command)
        return command

    def _incoming(self) -> tuple[Command, str]:
        number = self._customer()
        key = self._keys[number]
        command = self._publish(Direction.INCOMING, number)
        if key.open is not None:
            return command, "APPENDED"
        latest: str | None = None
        for thread_id in key.threads:  # creation order, so ">=" lets the one created last win a tie
            closed_at = self._closed_at.get(thread_id)
            if closed_at is not None and (latest is None or closed_at >= self._closed_at[latest]):
                latest = thread_id
        if latest is not None:
            self._set_open(number, latest)
            return command, "REOPENED"
        self._new_thread(number)
        return command, "CREATED"

    def _outgoing(self) -> tuple[Command, str]:
        # R3: a mirrored outgoing message never reopens: it joins the open thread or starts a new one.
        number = self._customer()
        command = self._publish(Direction.OUTGOING, number)
        if self._keys[number].open is not None:
            return command, "APPENDED"
        self._new_thread(number)
        return command, "CREATED"

    def _reply(self) -> tuple[Command, str] | None:
        if not self._open:
            return None
        return Reply(self._random.choice(self._open), "Thanks, we are on it."), "APPENDED"

    def _close(self) -> tuple[Command, str] | None:
        if not self._open:
            return None
        thread_id = self._random.choice(self._open)
        self._set_closed(thread_id)
        return CloseThread(thread_id), "CHANGED"

    def _archive(self) -> tuple[Command, str] | None:
        # Mostly an open thread (archiving closes it first, R7), sometimes one already closed.
        candidates = self._open if self._open and self._random.random() < 0.7 else list(self._closed_at)
        if not candidates:
            return None
        thread_id = self._random.choice(candidates)
        if thread_id in self._open_at:
            self._set_closed(thread_id)
        del self._closed_at[thread_id]  # archived threads are never reopened (R2)
        return ArchiveThread(thread_id), "CHANGED"

    def _retry(self) -> tuple[Command, str] | None:
        if not self._published:
            return None
        return self._random.choice(self._published), "DUPLICATE"

    # -- the model ---------------------------------------------------------------------------------------------

    def _new_thread(self, number: int) -> None:
        self._threads_created += 1
        thread_id = f"thread-{self._threads_created}"
        self._keys[number].threads.append(thread_id)
        self._thread_key[thread_id] = number
        self._set_open(number, thread_id)

    def _set_open(self, number: int, thread_id: str) -> None:
        self._keys[number].open = thread_id
        self._closed_at.pop(thread_id, None)
        self._open_at[thread_id] = len(self._open)
        self._open.append(thread_id)

    def _set_closed(self, thread_id: str) -> None:
        self._keys[self._thread_key[thread_id]].open = None
        self._closed_at[thread_id] = self._fixture.clock.now
        position = self._open_at.pop(thread_id)
        last = self._open.pop()
        if last != thread_id:
            self._open[position] = last
            self._open_at[last] = position
