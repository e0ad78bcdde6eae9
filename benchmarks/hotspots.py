"""Where the engine spends its time: the append scenario under cProfile, the costliest functions first.

``python -m benchmarks.hotspots`` profiles appends on the memory backend (``--backend`` picks another,
``--mode batch`` sends them through ``execute_many``). The commands are built before profiling starts, as in
the timed rounds. cProfile slows every Python call down, so read the shares, not the absolute times; the
calls per append, printed first, are exact: the figure to compare between two versions on a busy machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .backends import BACKENDS, Stores
from .postgres_tools import DEFAULT_URL, PostgresServer
from .scenarios import Append, engine_round
from .workload import new_fixture


def profile_appends(backend: str, mode: str, count: int, top: int, postgres_url: str = DEFAULT_URL) -> str:
    """The profile of ``count`` appends as text: the ``top`` functions by own time, then by cumulative time."""
    server = PostgresServer.probe(postgres_url) if backend == "postgres" else PostgresServer(postgres_url)
    stores = Stores(Path(tempfile.mkdtemp(prefix="threading-engine-hotspots-")), server)
    try:
        fixture = new_fixture(stores.open(backend))
        scenario = Append(100)
        scenario.prepare(fixture)
        engine_round(fixture, scenario, mode, 1_000).run()  # warm up caches and prepared statements
        round_ = engine_round(fixture, scenario, mode, count)
        profiler = cProfile.Profile()
        profiler.runcall(round_.run)
    finally:
        stores.close()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    # Calls per append do not depend on the machine's load, unlike times: compare them between changes.
    per_append = stats.total_calls / count  # type: ignore[attr-defined]
    text.write(f"{per_append:.1f} function calls per append ({backend}, {mode})\n")
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hotspots", description=__doc__)
    parser.add_argument("--backend", choices=BACKENDS, default="memory")
    parser.add_argument("--mode", choices=("single", "batch"), default="single")
    parser.add_argument("--count", type=int, default=20_000, help="appends to profile")
    parser.add_argument("--top", type=int, default=25, help="functions to list")
    parser.add_argument("--postgres-url", default=DEFAULT_URL)
    arguments = parser.parse_args(argv)
    print(profile_appends(arguments.backend, arguments.mode, arguments.count, arguments.top, arguments.postgres_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
