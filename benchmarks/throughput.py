"""Messages per second for every scenario, backend and mode, with the append scenario's floors beside them.

Each (scenario, backend, mode) gets a fresh store. For the append scenario the engine's rounds and its floor's
rounds are interleaved (:func:`~benchmarks.timing.measure_together`), so the ratio between them is not skewed
by a machine that is busier at one moment than another.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Protocol

from .backends import SYNCHRONOUS, Stores
from .floors import MemoryFloor, SQLiteFloor
from .results import ThroughputRow
from .scenarios import engine_round, make_scenario
from .timing import LoopSettings, Round, Series, measure, measure_together
from .workload import BATCH_SIZE, new_fixture

MODES = ("single", "batch")
MIN_SINGLE_ROUND = 10


class Floor(Protocol):
    """What the throughput section needs of a floor: prepared rounds, and a way to let go of its store."""

    def round(self, size: int, mode: str) -> Round: ...

    def close(self) -> None: ...


def sizes_for(mode: str) -> tuple[int, int]:
    """(granule, minimum) of a round's size: whole batches in batch mode."""
    return (BATCH_SIZE, BATCH_SIZE) if mode == "batch" else (1, MIN_SINGLE_ROUND)


def open_floor(stores: Stores, backend: str, open_threads: int) -> Floor:
    """The floor of ``backend``, seeded with ``open_threads`` open threads like the engine's append store."""
    if backend == "memory":
        return MemoryFloor(open_threads)
    if backend in SYNCHRONOUS:
        return SQLiteFloor(stores.sqlite_path(), SYNCHRONOUS[backend], open_threads)
    from .postgres_floor import PostgresFloor

    return PostgresFloor(stores.postgres, open_threads)


def run_throughput(
    stores: Stores,
    scenarios: Sequence[str],
    backends: Sequence[str],
    loop: LoopSettings,
    *,
    open_threads: int,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[ThroughputRow]:
    """Measure every scenario on every backend, in both modes."""
    rows = []
    for scenario_name in scenarios:
        for backend in backends:
            for mode in MODES:
                started = time.perf_counter()
                row = _measure_one(stores, scenario_name, backend, mode, loop, open_threads)
                rows.append(row)
                progress(f"{_progress_line(row)}   ({time.perf_counter() - started:.1f} s)")
    return rows


def _measure_one(
    stores: Stores, scenario_name: str, backend: str, mode: str, loop: LoopSettings, open_threads: int
) -> ThroughputRow:
    granule, minimum = sizes_for(mode)
    with ExitStack() as cleanup:
        repository = stores.open(backend)
        cleanup.callback(stores.release, repository)
        fixture = new_fixture(repository)
        # One by one, the append's threads are opened one by one too: the engine then starts from the state a
        # server that wrote its keys is in (see ``scenarios.Append``); roundtrips.py measures the other case.
        scenario = make_scenario(scenario_name, open_threads=open_threads, written_one_by_one=mode == "single")
        scenario.prepare(fixture)

        def engine(size: int) -> Round:
            return engine_round(fixture, scenario, mode, size)

        if scenario_name != "append":
            return ThroughputRow(scenario_name, backend, mode, measure(engine, loop, granule=granule, minimum=minimum))
        floor = open_floor(stores, backend, open_threads)
        cleanup.callback(floor.close)

        def floor_round(size: int) -> Round:
            return floor.round(size, mode)

        measured: list[Series] = measure_together([engine, floor_round], loop, granule=granule, minimum=minimum)
        return ThroughputRow(scenario_name, backend, mode, measured[0], measured[1])


def _progress_line(row: ThroughputRow) -> str:
    line = f"  {row.scenario:<10} {row.backend:<13} {row.mode:<6} {row.engine.rate.median:>12,.0f} msgs/s"
    if row.floor is not None and row.ratio is not None:
        line += f"   floor {row.floor.rate.median:>10,.0f} msgs/s   engine/floor {row.ratio:.2f}"
    if row.engine.mismatches:
        line += f"   UNEXPECTED OUTCOMES: {row.engine.mismatches} ({row.engine.first_mismatch})"
    return line
