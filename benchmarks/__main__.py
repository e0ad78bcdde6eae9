"""``python -m benchmarks``: run the measurements, print the table, and write the JSON file and the plot."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .plot import matplotlib_missing, plot_scaling
from .postgres_tools import DEFAULT_URL
from .report import evaluate_targets, machine_line, render, write_json
from .scaling import FULL_SIZES, QUICK_SIZES
from .suite import Settings, parse_only, run
from .timing import MIN_REPEATS, LoopSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure threading_engine's throughput, scaling and memory on every backend, each against "
        "its floor in the same run, and check the targets of issue 5.",
    )
    parser.add_argument("--quick", action="store_true", help="short rounds and at most 10^5 threads: under a minute")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON to PATH")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="draw cost per message against threads (PNG)")
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help="sections (append, new-thread, reopen, duplicate, mixed, scaling, footprint, http, round-trips, "
        "processes) and/or backends (memory, sqlite-full, sqlite-normal, postgres) to run; default: all",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_URL,
        metavar="URL",
        help=f"the PostgreSQL server; each store gets a fresh schema, dropped afterwards (default {DEFAULT_URL})",
    )
    parser.add_argument("--repeats", type=int, metavar="N", help=f"reported rounds per figure (at least {MIN_REPEATS})")
    parser.add_argument("--round-seconds", type=float, metavar="S", help="the length of one timed round")
    parser.add_argument("--max-threads", type=int, metavar="N", help="the largest store in the scaling section")
    parser.add_argument("--workdir", type=Path, metavar="DIR", help="where the SQLite files go (default: temp dir)")
    parser.add_argument(
        "--tiny", action="store_true", help="a seconds-long run that proves the harness works; its figures mean nothing"
    )
    return parser


def settings_from(arguments: argparse.Namespace, argv: Sequence[str]) -> Settings:
    quick = arguments.quick or arguments.tiny
    sections, backends = parse_only(arguments.only)
    repeats = arguments.repeats or (MIN_REPEATS if quick else 7)
    round_seconds = arguments.round_seconds or (0.005 if arguments.tiny else 0.04 if quick else 0.5)
    sizes: tuple[int, ...] = (1_000, 3_000) if arguments.tiny else QUICK_SIZES if quick else FULL_SIZES
    if arguments.max_threads is not None:
        sizes = tuple(size for size in sizes if size <= arguments.max_threads) or (arguments.max_threads,)
    return Settings(
        command=shlex.join(["python", "-m", "benchmarks", *argv]),
        quick=quick,
        loop=LoopSettings(repeats, round_seconds, warmup_size=10 if arguments.tiny else 20),
        open_threads=20 if arguments.tiny else 100 if quick else 1_000,
        scaling_sizes=sizes,
        footprint_count=200 if arguments.tiny else 1_000 if quick else 10_000,
        process_seconds=0.05 if arguments.tiny else 0.1 if quick else 1.0,
        sections=sections,
        backends=backends,
        postgres_url=arguments.postgres_url,
        workdir=arguments.workdir,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; returns the exit status (0 even when targets are missed: they are measurements)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        settings = settings_from(arguments, argv)
    except ValueError as error:
        parser.error(str(error))
    results = run(settings)
    targets = evaluate_targets(results)
    print(render(results, targets), end="", flush=True)
    if arguments.json is not None:
        write_json(arguments.json, results, targets)
        print(f"JSON written to {arguments.json}")
    if arguments.plot is not None:
        missing = matplotlib_missing()
        if missing is not None:
            print(f"no plot: {missing}")
        elif not results.scaling:
            print("no plot: the scaling section did not run")
        else:
            plot_scaling(
                results.scaling, arguments.plot, f"threading_engine, cost per append | {machine_line(results)}"
            )
            print(f"plot written to {arguments.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
