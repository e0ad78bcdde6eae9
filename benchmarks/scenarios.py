"""The throughput scenarios: what each round sends, what the store must hold first, and what must come back.

Each scenario runs on its own fresh store. ``prepare`` writes the state the scenario starts from (untimed);
``commands`` builds one round's commands (untimed too, together with any state the round consumes, such as the
closed threads a reopen needs) and the outcome each must have.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

import attrs

from threading_engine import CloseThread, Command, PublishMessage

from .mixed import MixedTrace
from .timing import Round
from .workload import RUNNERS, Fixture, settle

SCENARIOS = ("append", "new-thread", "reopen", "duplicate", "mixed")


class Scenario(Protocol):
    """One kind of traffic, measured on a fresh store."""

    name: str

    def prepare(self, fixture: Fixture) -> None: ...

    def commands(self, fixture: Fixture, size: int) -> tuple[list[Command], list[str]]: ...


class Append:
    """The steady state: incoming messages, each with its idempotency id, on ``open_threads`` open threads.

    ``written_one_by_one``: the threads are opened by the measured engine one command at a time, as a server's
    own traffic opens them, rather than in batches. A store that remembers the views of the keys its process
    wrote one at a time (SQLite, PostgreSQL) then starts as it is in a running server that wrote its keys;
    filled in batches, it starts as if another process had written every key.
    """

    name = "append"

    def __init__(self, open_threads: int, *, seed: int = 1, written_one_by_one: bool = False) -> None:
        self.open_threads = open_threads
        self.written_one_by_one = written_one_by_one
        self._random = random.Random(seed)
        self._ids = itertools.count(1)

    def prepare(self, fixture: Fixture) -> None:
        firsts = [fixture.incoming(n) for n in range(self.open_threads)]
        if not self.written_one_by_one:
            settle(fixture.engine, firsts)
            return
        for command in firsts:
            fixture.engine.execute(command)  # raises if the set-up fails, as ``settle`` does

    def commands(self, fixture: Fixture, size: int) -> tuple[list[Command], list[str]]:
        pick = self._random.randrange
        commands: list[Command] = [
            fixture.incoming(pick(self.open_threads), idempotency_id=f"wamid.{next(self._ids)}") for _ in range(size)
        ]
        return commands, ["APPENDED"] * size


class NewThread:
    """Every message from a customer never seen before: a thread is created for each (R4c)."""

    name = "new-thread"

    def __init__(self) -> None:
        self._customers = itertools.count(10_000_000)

    def prepare(self, fixture: Fixture) -> None:
        pass

    def commands(self, fixture: Fixture, size: int) -> tuple[list[Command], list[str]]:
        commands: list[Command] = []
        for _ in range(size):
            number = next(self._customers)
            commands.append(fixture.incoming(number, idempotency_id=f"new.{number}"))
        return commands, ["CREATED"] * size


class Reopen:
    """Incoming messages on threads closed a minute earlier, inside the reopen window (R4b)."""

    name = "reopen"

    def __init__(self) -> None:
        self._customers = itertools.count(30_000_000)

    def prepare(self, fixture: Fixture) -> None:
        pass

    def commands(self, fixture: Fixture, size: int) -> tuple[list[Command], list[str]]:
        numbers = [next(self._customers) for _ in range(size)]
        created = settle(fixture.engine, [fixture.incoming(n) for n in numbers])
        settle(fixture.engine, [CloseThread(str(result.thread_id)) for result in created])
        fixture.clock.advance(timedelta(minutes=1))
        commands: list[Command] = [fixture.incoming(n, idempotency_id=f"reopen.{n}") for n in numbers]
        return commands, ["REOPENED"] * size


class Duplicate:
    """Retried publishes: the same idempotency id and payload again, answered DUPLICATE without a write (D1)."""

    name = "duplicate"

    def __init__(self, originals: int) -> None:
        self.originals = originals
        self._sent: list[PublishMessage] = []
        self._next = itertools.cycle(range(originals))

    def prepare(self, fixture: Fixture) -> None:
        self._sent = [fixture.incoming(n, idempotency_id=f"retried.{n}") for n in range(self.originals)]
        settle(fixture.engine, self._sent)

    def commands(self, fixture: Fixture, size: int) -> tuple[list[Command], list[str]]:
        # A fresh object per retry, as a server would parse it from a new request.
        commands: list[Command] = [attrs.evolve(self._sent[next(self._next)]) for _ in range(size)]
        return commands, ["DUPLICATE"] * size


class Mixed:
    """A realistic trace from :class:`~benchmarks.mixed.MixedTrace`, on the account that opens tickets."""

    name = "mixed"

    def __init__(self, *, seed: int = 20240301) -> None:
        self.seed = seed
        self._trace: MixedTrace | None = None

    def prepare(self, fixture: Fixture) -> None:
        self._trace = MixedTrace(fixture, seed=self.seed)

    def commands(self, fixture: Fixture, size: int) -> tuple[list[Command], list[str]]:
        assert self._trace is not None, "prepare() first"
        return self._trace.take(size)


def make_scenario(name: str, *, open_threads: int, written_one_by_one: bool = False) -> Scenario:
    """A new scenario object (each keeps its own counters, so each store gets its own); ``written_one_by_one``
    is the append's (see :class:`Append`)."""
    makers: dict[str, Callable[[], Scenario]] = {
        "append": lambda: Append(open_threads, written_one_by_one=written_one_by_one),
        "new-thread": NewThread,
        "reopen": Reopen,
        "duplicate": lambda: Duplicate(open_threads),
        "mixed": Mixed,
    }
    return makers[name]()


def engine_round(fixture: Fixture, scenario: Scenario, mode: str, size: int) -> Round:
    """Prepare one round of ``scenario`` sent in ``mode`` (``single`` or ``batch``)."""
    fixture.clock.next_round()
    commands, expected = scenario.commands(fixture, size)
    return Round(len(commands), RUNNERS[mode](fixture.engine, commands), expected)
