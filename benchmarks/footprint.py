"""Bytes the memory backend keeps per thread, per message and per idempotency record (tracemalloc).

Each figure is a difference between two traced workloads on fresh stores, each measured from a baseline taken
after its set-up, so what the interpreter and the set-up already hold is subtracted:

- per message: ``count`` appends without an idempotency id, divided by ``count``;
- per idempotency record: the same appends, each with an id, minus the appends without;
- per thread: ``count`` messages that each create a thread, minus ``count`` appends: what a thread costs
  beyond its first message (the thread, its index entries, its THREAD_CREATED event);
- per new thread, all in: the thread together with its first message.

Dictionaries grow by doubling, so bytes per entry depend on where a count falls between two growth steps
(by about 15 % here). Each figure is therefore the mean over four counts spread evenly, on a log scale, across
one doubling from ``count``: the cost per item averaged over the store's growth, with its range.

The commands are built inside the traced region and dropped before the reading, so whatever the store keeps
of them counts, as it would in a server that parsed them from requests. The clock ticks on every reading, as a
real one does, so times are not shared between messages. The outbox is acknowledged before the reading; the
memory backend keeps acknowledged events, and they count.
"""

from __future__ import annotations

import gc
import itertools
import sys
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta

from threading_engine import Command, open_repository

from .results import FootprintRow
from .workload import START, Fixture, new_fixture, settle

OPEN_THREADS = 100


def _ticking_clock() -> Callable[[], datetime]:
    ticks = itertools.count(1)
    return lambda: START + timedelta(microseconds=next(ticks))


def _traced_bytes(count: int, build: Callable[[Fixture, int], Command]) -> int:
    """Bytes still held after ``count`` commands made by ``build(fixture, index)``, over a fresh baseline."""
    fixture = new_fixture(open_repository("memory"), engine_clock=_ticking_clock())
    settle(fixture.engine, [fixture.incoming(number) for number in range(OPEN_THREADS)])
    fixture.engine.acknowledge(record.event_id for record in fixture.engine.pending_events())
    execute = fixture.engine.execute
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        commands = [build(fixture, index) for index in range(count)]
        results = [execute(command) for command in commands]
        fixture.engine.acknowledge(record.event_id for record in fixture.engine.pending_events())
        del commands, results
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    return held


def _idempotency_id(index: int) -> str:
    # Shaped like a WhatsApp message id, the kind of id integrations pass on.
    return f"wamid.HBgLMTU1NTAxMDAwMDAVAgASGBQz{index:08d}"


MESSAGE = "message (appended, no idempotency id)"
IDEMPOTENCY = "idempotency record"
THREAD = "thread (beyond its first message)"
NEW_THREAD = "new thread with its first message"
# What each figure is, as the JSON file states it.
ITEMS = {
    MESSAGE: "appends / count",
    IDEMPOTENCY: f"(appends with a {len(_idempotency_id(0))}-character id - appends) / count",
    THREAD: "(new threads - appends) / count",
    NEW_THREAD: "new threads / count",
}


def _append(fixture: Fixture, index: int) -> Command:
    return fixture.incoming(index % OPEN_THREADS)


def _append_with_id(fixture: Fixture, index: int) -> Command:
    return fixture.incoming(index % OPEN_THREADS, idempotency_id=_idempotency_id(index))


def _new_thread(fixture: Fixture, index: int) -> Command:
    return fixture.incoming(50_000_000 + index)


def run_footprint(
    count: int, *, progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
) -> list[FootprintRow]:
    """The memory backend's bytes per message, idempotency record and thread, from ``count`` to twice as many."""
    counts = [round(count * 2 ** (step / 4)) for step in range(4)]
    figures: dict[str, list[float]] = {name: [] for name in ITEMS}
    for n in counts:
        appends = _traced_bytes(n, _append)
        with_ids = _traced_bytes(n, _append_with_id)
        new_threads = _traced_bytes(n, _new_thread)
        figures[MESSAGE].append(appends / n)
        figures[IDEMPOTENCY].append((with_ids - appends) / n)
        figures[THREAD].append((new_threads - appends) / n)
        figures[NEW_THREAD].append(new_threads / n)
    rows = [
        FootprintRow(name, sum(values) / len(values), min(values), max(values), counts, ITEMS[name])
        for name, values in figures.items()
    ]
    for row in rows:
        progress(f"  footprint {row.item:<42} {row.bytes_each:8.0f} bytes ({row.low:.0f}-{row.high:.0f})")
    return rows
