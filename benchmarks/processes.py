"""PostgreSQL throughput with 1, 2 and 4 processes appending to the same threads.

The parent creates one store with the append scenario's open threads; each worker process (started with
``spawn``, so it shares nothing with the parent) opens its own engine and connection pool on it, with ids of its
own, and builds all its commands before the first round. Every worker draws its keys from the same threads, so
they meet on the same key locks as concurrent servers would. The rounds are synchronised with a barrier: all
workers start together, each runs for ``round_seconds``, and the round's rate is the sum of their rates.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from threading_engine import Command, Engine, ThreadingError, open_repository

from .postgres_tools import PostgresServer
from .results import ProcessRow
from .scenarios import Append
from .timing import Stats, SteppingClock
from .workload import START, incoming, new_fixture

PROCESS_COUNTS = (1, 2, 4)
BARRIER_TIMEOUT = 120.0


class ProcessIds:
    """Ids unique to one worker process: ``<kind>-p<worker>-<n>``."""

    def __init__(self, worker: int) -> None:
        self._prefix = f"p{worker}"
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str) -> str:
        with self._lock:
            counter = self._counters.setdefault(kind, itertools.count(1))
            return f"{kind}-{self._prefix}-{next(counter)}"


def _worker(
    url: str,
    account_id: str,
    open_threads: int,
    worker: int,
    commands_per_round: int,
    rounds: int,
    round_seconds: float,
    barrier: Any,
    answers: Any,
) -> None:
    """One worker: build every round's commands, then for each round wait for the others and run."""
    try:
        clock = SteppingClock(START)
        engine = Engine(open_repository(url), clock=clock, ids=ProcessIds(worker))
    except BaseException:
        barrier.abort()  # the parent and the other workers stop waiting for this one
        raise
    try:
        picker = random.Random(1000 + worker)
        numbered = itertools.count(1)
        plan: list[list[Command]] = []
        for _ in range(rounds):
            commands: list[Command] = []
            for _ in range(commands_per_round):
                idempotency_id = f"p{worker}.{next(numbered)}"
                who = picker.randrange(open_threads)
                commands.append(incoming(account_id, who, clock.now, idempotency_id=idempotency_id))
            plan.append(commands)
        for commands in plan:
            barrier.wait(BARRIER_TIMEOUT)
            answers.put(_run_for(engine, commands, round_seconds))
            barrier.wait(BARRIER_TIMEOUT)
    except BaseException:
        barrier.abort()
        raise
    finally:
        engine.close()


def _run_for(engine: Engine, commands: Sequence[Command], seconds: float) -> tuple[int, float, int]:
    """Send commands one by one until ``seconds`` have passed; (messages, elapsed, unexpected outcomes)."""
    execute = engine.execute
    unexpected = 0
    sent = 0
    start = time.perf_counter()
    deadline = start + seconds
    for command in commands:
        try:
            if execute(command).outcome != "APPENDED":
                unexpected += 1
        except ThreadingError:
            unexpected += 1
        sent += 1
        if time.perf_counter() >= deadline:
            break
    return sent, time.perf_counter() - start, unexpected


def run_processes(
    server: PostgresServer,
    *,
    open_threads: int,
    rounds: int,
    round_seconds: float,
    expected_rate: float,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[ProcessRow]:
    """Throughput with each of :data:`PROCESS_COUNTS` processes, on one shared, freshly set-up store."""
    url = server.store_url(server.fresh_schema())
    fixture = new_fixture(open_repository(url))
    try:
        Append(open_threads).prepare(fixture)
        account_id = fixture.account_id
    finally:
        fixture.engine.close()
    # Enough commands that no worker runs out before its time is up, even if it ran alone at twice the rate.
    per_round = max(50, int(expected_rate * round_seconds * 2) + 50)
    context = multiprocessing.get_context("spawn")
    rows = []
    for count in PROCESS_COUNTS:
        barrier = context.Barrier(count + 1)
        answers = context.Queue()
        workers = [
            context.Process(
                target=_worker,
                args=(url, account_id, open_threads, index, per_round, rounds, round_seconds, barrier, answers),
                daemon=True,
            )
            for index in range(count)
        ]
        for process in workers:
            process.start()
        rates = []
        unexpected = 0
        try:
            for _ in range(rounds):
                barrier.wait(BARRIER_TIMEOUT)
                results = [answers.get(timeout=BARRIER_TIMEOUT) for _ in range(count)]
                barrier.wait(BARRIER_TIMEOUT)
                rates.append(sum(sent / elapsed for sent, elapsed, _ in results))
                unexpected += sum(missed for _, _, missed in results)
        finally:
            for process in workers:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
        row = ProcessRow(count, Stats.of(rates), round_seconds, unexpected)
        rows.append(row)
        progress(f"  postgres {count} process{'es' if count > 1 else ''}: {row.rate.median:10,.0f} msgs/s")
    return rows
