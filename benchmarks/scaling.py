"""Cost per append as the store grows: 10^3 to 10^6 existing threads, on the memory and SQLite backends.

Each size gets a fresh store, seeded fast with what the engine would have written for that many new threads
(``seed.py``), and then receives the append scenario's messages, spread at random over all its threads so that
no cache is kinder to a small store than a server's traffic would be: first one by one, then in batches
(the appends of the first mode add messages, not threads, so the second mode still sees ``size`` threads).
The cost is the inverse of the rate, in microseconds per message. SQLite runs with ``synchronous=NORMAL``
here: with FULL, the fsync at each commit would hide the part of the cost that can grow with the store.

Each size also gets the backend's floor (``floors.py``) with as many open threads, its rounds interleaved
with the engine's: a B-tree deeper than the CPU's caches, or a dictionary larger than them, costs the floor
too, and the floor's growth tells that part from any the engine adds.

The seeded objects are moved to the collector's permanent generation (``gc.freeze``) until they are dropped.
Otherwise the collection before each round would rescan 10^7 objects, and a full collection that happened to
fall inside one short round would add a pause that a long-running server spreads over far more messages.
The engine's own garbage is collected as usual.
"""

from __future__ import annotations

import gc
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from threading_engine import DeliveryIdentifier, Repository, open_repository
from threading_engine.decisions import Changes
from threading_engine.repository import PendingEvent

from .backends import SYNCHRONOUS, Stores
from .floors import MemoryFloor, SQLiteFloor, seed_sqlite
from .results import ScalingRow
from .scenarios import Append, engine_round
from .seed import RowFactory, seeded_events, seeded_values
from .throughput import sizes_for
from .timing import LoopSettings, Round, Series, Stats, measure_together
from .workload import START, Fixture, new_fixture

Floor = MemoryFloor | SQLiteFloor
Built = TypeVar("Built")

FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000, 100_000)
SCALED_BACKENDS = ("memory", "sqlite-normal")
MODES = ("single", "batch")


class SeededAppend(Append):
    """The append scenario on a store whose threads were seeded rather than created one by one."""

    def __init__(self, open_threads: int, seed_store: Callable[[Fixture, int], None]) -> None:
        super().__init__(open_threads, seed=7)
        self._seed_store = seed_store

    def prepare(self, fixture: Fixture) -> None:
        self._seed_store(fixture, self.open_threads)


def seed_memory(fixture: Fixture, count: int) -> None:
    """Write ``count`` seeded threads through the memory store's own unit of work, one thread each."""
    repository = fixture.engine.repository
    own = fixture.own.delivery_identifier
    for number in range(count):
        thread, message = seeded_values(fixture.account_id, own, number, START)
        with repository.unit_of_work() as unit:
            _write(unit, Changes(threads=(thread,), message=message), seeded_events(thread, message, START))


def _write(unit: Any, changes: Changes, events: Sequence[PendingEvent]) -> None:
    # The unit of work is gaining save() (several decisions per transaction, for batches); until every
    # backend has it, a unit without it takes the changes in commit().
    if hasattr(unit, "save"):
        unit.save(changes, events)
        unit.commit()
    else:
        unit.commit(changes, events)


def sqlite_seeder(path: Path) -> Callable[[Fixture, int], None]:
    """Insert seeded rows into the engine's SQLite file with a connection of its own."""

    def seed(fixture: Fixture, count: int) -> None:
        own: DeliveryIdentifier = fixture.own.delivery_identifier
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous = OFF")  # only the seeding; the engine keeps its own setting
            seed_sqlite(connection, RowFactory(fixture.account_id, own, START), range(count))
        finally:
            connection.close()

    return seed


def run_scaling(
    stores: Stores,
    sizes: Sequence[int],
    backends: Sequence[str],
    loop: LoopSettings,
    *,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[ScalingRow]:
    """Measure the cost per append at each size, in both modes, for each scaled backend that is selected.

    All sizes of one backend are built first and their rounds interleaved, so the ratio between the largest
    and the smallest store is not skewed by a machine that is busier at one moment than another.
    """
    rows = []
    for backend in SCALED_BACKENDS:
        if backend not in backends:
            continue
        for row in _measure_backend(stores, backend, sizes, loop):
            rows.append(row)
            progress(
                f"  scaling {backend:<13} {row.mode:<6} {row.threads:>9,} threads {row.cost_us.median:8.1f} us/msg "
                f"(built in {row.build_seconds:.1f} s)"
            )
    return rows


def _measure_backend(stores: Stores, backend: str, sizes: Sequence[int], loop: LoopSettings) -> list[ScalingRow]:
    with ExitStack() as cleanup:
        built: list[tuple[int, Fixture, SeededAppend, float]] = []
        floors: list[Floor] = []
        for size in sizes:
            fixture, scenario, seconds = _build(stores, backend, size, cleanup)
            built.append((size, fixture, scenario, seconds))
            floors.append(_without_gc(partial(_floor, stores, backend, size, cleanup)))
        gc.freeze()
        cleanup.callback(gc.unfreeze)
        rows = []
        for mode in MODES:
            granule, minimum = sizes_for(mode)
            rounds = [partial(engine_round, fixture, scenario, mode) for _, fixture, scenario, _ in built]
            # The floors' rounds interleaved with the engine's: both see the machine in the same moments.
            rounds += [partial(_floor_round, floor, mode) for floor in floors]
            measured = measure_together(rounds, loop, granule=granule, minimum=minimum)
            engine, floor = measured[: len(built)], measured[len(built) :]
            for (size, _, _, seconds), series, floor_series in zip(built, engine, floor, strict=True):
                rows.append(
                    ScalingRow(
                        backend,
                        mode,
                        size,
                        _cost(series),
                        series.round_size,
                        seconds,
                        series.mismatches + floor_series.mismatches,
                        _cost(floor_series),
                    )
                )
        return rows


def _cost(series: Series) -> Stats:
    return series.rate.map(lambda rate: 1e6 / rate)


def _floor(stores: Stores, backend: str, size: int, cleanup: ExitStack) -> Floor:
    """The backend's floor (``floors.py``) with ``size`` open threads, closed (and deleted) by ``cleanup``."""
    if backend == "memory":
        return MemoryFloor(size)
    path = stores.sqlite_path()
    cleanup.callback(stores.remove_sqlite, path)
    floor = SQLiteFloor(path, SYNCHRONOUS[backend], size)
    cleanup.callback(floor.close)
    return floor


def _floor_round(floor: Floor, mode: str, size: int) -> Round:
    return floor.round(size, mode)


def _build(stores: Stores, backend: str, size: int, cleanup: ExitStack) -> tuple[Fixture, SeededAppend, float]:
    """A fresh store of ``backend`` seeded with ``size`` threads, closed (and deleted) by ``cleanup``."""
    repository: Repository
    seeder: Callable[[Fixture, int], None]
    if backend == "memory":
        repository = stores.open(backend)
        seeder = seed_memory
    else:
        path = stores.sqlite_path()
        url = f"sqlite:///{path.resolve()}?synchronous={SYNCHRONOUS[backend].lower()}"
        repository = stores.track(open_repository(url))
        seeder = sqlite_seeder(path)
        cleanup.callback(stores.remove_sqlite, path)
    cleanup.callback(stores.release, repository)
    fixture = new_fixture(repository)
    scenario = SeededAppend(size, seeder)
    started = time.perf_counter()
    _without_gc(lambda: scenario.prepare(fixture))
    return fixture, scenario, time.perf_counter() - started


def _without_gc(build: Callable[[], Built]) -> Built:
    # Seeding only allocates objects that live on; collections would only slow it down (it is not timed).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        if enabled:
            gc.enable()
