"""PostgreSQL throughput with 1, 2 and 4 processes appending to the same threads.

The parent creates one store with the append scenario's open threads; each worker process (started with
``spawn``, so it shares nothing with the parent) opens its own engine and connection pool on it, with ids of its
own, and builds all its commands before the first round. Every worker draws its keys from the same threads, so
they meet on the same key locks as concurrent servers would. The rounds are synchronised with a barrier: all
workers start together, each runs for ``round_seconds``, and the round's rate is the sum of their rates.

Run as a module, it compares remembered views on and off (``?view_cache=0``) with a given number of processes:
two stores set up alike, a crew of workers on each, their rounds taken in turn, so that the machine's swings in
speed (often larger than the difference sought) fall on both alike::

    python -m benchmarks.processes --processes 2 --rounds 20
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from threading_engine import Command, Engine, ThreadingError, open_repository

from .postgres_tools import DEFAULT_URL, PostgresServer, with_query
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
        views = getattr(engine.repository, "remembered_views", None)
        for commands in plan:
            barrier.wait(BARRIER_TIMEOUT)
            before = (0, 0) if views is None else (views.answered, views.stale)
            cpu = time.process_time()
            sent, elapsed, unexpected = _run_for(engine, commands, round_seconds)
            cpu = time.process_time() - cpu
            after = (0, 0) if views is None else (views.answered, views.stale)
            answers.put((sent, elapsed, unexpected, after[0] - before[0], after[1] - before[1], cpu))
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


class _Crew:
    """``count`` worker processes on the store at ``url``, run a round at a time (all together, synchronised)."""

    def __init__(
        self,
        url: str,
        account_id: str,
        open_threads: int,
        count: int,
        rounds: int,
        per_round: int,
        round_seconds: float,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.count = count
        self._barrier = context.Barrier(count + 1)
        self._answers = context.Queue()
        arguments = (url, account_id, open_threads)
        self._workers = [
            context.Process(
                target=_worker,
                args=(*arguments, index, per_round, rounds, round_seconds, self._barrier, self._answers),
                daemon=True,
            )
            for index in range(count)
        ]
        for process in self._workers:
            process.start()
        self.rates: list[float] = []
        self.unexpected = self.messages = self.answered = self.stale = 0
        self.cpu = 0.0  # the workers' CPU time (seconds), their pools' threads included

    def round(self) -> float:
        """Run one round; its rate (messages/s, all workers together)."""
        self._barrier.wait(BARRIER_TIMEOUT)
        results = [self._answers.get(timeout=BARRIER_TIMEOUT) for _ in range(self.count)]
        self._barrier.wait(BARRIER_TIMEOUT)
        self.rates.append(sum(sent / elapsed for sent, elapsed, *_ in results))
        self.messages += sum(result[0] for result in results)
        self.unexpected += sum(result[2] for result in results)
        self.answered += sum(result[3] for result in results)
        self.stale += sum(result[4] for result in results)
        self.cpu += sum(result[5] for result in results)
        return self.rates[-1]

    def close(self) -> None:
        for process in self._workers:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()

    def summary(self) -> str:
        """The median rate, with the round trips a message and the share answered from remembered views."""
        messages = max(self.messages, 1)
        # A view answered from memory costs one round trip, three when its guard fails; any other command two.
        round_trips = (2 * self.messages - self.answered + 2 * self.stale) / messages
        views = f"; {self.answered / messages:.0%} from remembered views, {self.stale} stale" if self.answered else ""
        median, cpu = Stats.of(self.rates).median, self.cpu / messages * 1e6
        return (
            f"{median:10,.0f} msgs/s ({round_trips:.2f} round trips and {cpu:,.0f} us of client CPU a message{views})"
        )


def _prepared_store(server: PostgresServer, open_threads: int, view_cache: int | None) -> tuple[str, str]:
    """A fresh store with the append scenario's open threads: its URL (``view_cache``: the size of each process's
    remembered views, the store's default if None) and the account the threads are on."""
    url = server.store_url(server.fresh_schema())
    if view_cache is not None:
        url = with_query(url, view_cache=str(view_cache))
    fixture = new_fixture(open_repository(url))
    try:
        Append(open_threads).prepare(fixture)
        return url, fixture.account_id
    finally:
        fixture.engine.close()


def _per_round(expected_rate: float, round_seconds: float) -> int:
    """Enough commands that no worker runs out before its time is up, even if it ran alone at twice the rate."""
    return max(50, int(expected_rate * round_seconds * 2) + 50)


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
    url, account_id = _prepared_store(server, open_threads, None)
    per_round = _per_round(expected_rate, round_seconds)
    rows = []
    for count in PROCESS_COUNTS:
        crew = _Crew(url, account_id, open_threads, count, rounds, per_round, round_seconds)
        try:
            for _ in range(rounds):
                crew.round()
        finally:
            crew.close()
        rows.append(ProcessRow(count, Stats.of(crew.rates), round_seconds, crew.unexpected))
        progress(f"  postgres {count} process{'es' if count > 1 else ''}: {crew.summary()}")
    return rows


def compare_view_cache(
    server: PostgresServer, *, processes: int, rounds: int, round_seconds: float, open_threads: int
) -> tuple[_Crew, _Crew, list[float]]:
    """Remembered views on and off: two stores set up alike, ``processes`` workers on each, their rounds taken
    in turn (the order alternating), so that each pair of rounds meets the machine in the same state. The two
    crews and each pair's ratio of rates, on to off."""
    stores = {name: _prepared_store(server, open_threads, cache) for name, cache in (("on", None), ("off", 0))}
    per_round = _per_round(1_500.0, round_seconds)
    crews = {
        name: _Crew(url, account_id, open_threads, processes, rounds, per_round, round_seconds)
        for name, (url, account_id) in stores.items()
    }
    ratios = []
    try:
        for number in range(rounds):
            order = ("on", "off") if number % 2 == 0 else ("off", "on")
            rates = {name: crews[name].round() for name in order}
            ratios.append(rates["on"] / rates["off"])
            print(f"round {number + 1}: on {rates['on']:,.0f}, off {rates['off']:,.0f} msgs/s", flush=True)
    finally:
        for crew in crews.values():
            crew.close()
    return crews["on"], crews["off"], ratios


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.processes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=DEFAULT_URL, help=f"the PostgreSQL server (default {DEFAULT_URL})")
    parser.add_argument("--processes", type=int, default=2, help="worker processes on shared keys (default 2)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds with views on and off each (default 20)")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per round (default 1)")
    parser.add_argument("--open-threads", type=int, default=1_000, help="keys the processes share (default 1,000)")
    options = parser.parse_args(arguments)
    server = PostgresServer.probe(options.postgres_url)
    if not server.available:
        print(server.reason, file=sys.stderr)
        return 1
    try:
        on, off, ratios = compare_view_cache(
            server,
            processes=options.processes,
            rounds=options.rounds,
            round_seconds=options.seconds,
            open_threads=options.open_threads,
        )
    finally:
        server.drop_schemas()
    ratio = Stats.of(ratios)
    print(f"views on:  {on.summary()}")
    print(f"views off: {off.summary()}")
    print(
        f"on/off, round by round: median {ratio.median:.3f} (quartiles {ratio.q1:.3f}-{ratio.q3:.3f}), "
        f"on ahead in {sum(r > 1 for r in ratios)} of {len(ratios)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
