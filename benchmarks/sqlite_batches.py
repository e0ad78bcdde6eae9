"""Where SQLite batches spend what their floor does not: instructions per message, by library, under callgrind.

``python -m benchmarks.sqlite_batches`` appends ``--commands`` messages to open threads in batches of
:data:`~benchmarks.workload.BATCH_SIZE`, once through the engine (``execute_many`` on a SQLite store) and once
through the raw ``sqlite3`` floor (``floors.SQLiteFloor``), each on a fresh file with ``synchronous=NORMAL``.
Like ``benchmarks.instructions``, each side runs twice under ``valgrind --tool=callgrind``, sending its
commands and only preparing them; the difference per message is what a message costs. Instructions do not
count the time a disk takes to sync, so these figures are the CPU part of the batch rates.

``callgrind_annotate`` then splits each difference by the shared object the instructions ran in: SQLite's own
library (what SQL costs), the interpreter (Python code: the engine's, or the floor's few lines), the C
library, and the rest (the ``sqlite3`` and ``json`` modules). The answer to "where does the batch spend what
the floor does not" is the row whose difference is largest.

Usage::

    python -m benchmarks.sqlite_batches [--commands 1000] [--open-threads 1000] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .instructions import COLLECTED, ROOT, valgrind

OPEN_THREADS = 1_000
SIDES = ("engine", "floor")
# What callgrind_annotate names a function's place by (its shared object, or for code inlined elsewhere its
# source file), grouped by what its instructions do; the first group that matches wins.
GROUPS = (
    ("SQLite", re.compile(r"libsqlite3|sqlite3\.c$")),
    ("other modules", re.compile(r"\.cpython-|Modules/_(json|sqlite|datetime)")),
    ("interpreter", re.compile(r"libpython|Python-3|^python")),
    ("C library", re.compile(r"libc\.so|ld-linux|^\./")),
)
OTHER = "unattributed"
# A line of callgrind_annotate's function table: "1,234 (0.5%)  file:function [object]", the object left out
# for code inlined into another (a function's name may hold spaces: "(below main)").
_ROW = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+(\S+?):.*?(?:\s\[([^\]]+)\])?\s*$")


def _child(side: str, commands: int, open_threads: int, send: bool, directory: Path) -> None:
    """Prepare ``commands`` appends in batches to ``open_threads`` threads of a fresh SQLite file and, if
    ``send``, send them."""
    from threading_engine import open_repository

    from .floors import SQLiteFloor
    from .scenarios import make_scenario
    from .workload import new_fixture, run_batches

    if side == "floor":
        run = SQLiteFloor(directory / "floor.db", "NORMAL", open_threads).round(commands, "batch").run
    else:
        repository = open_repository(f"sqlite:///{(directory / 'engine.db').resolve()}?synchronous=normal")
        fixture = new_fixture(repository)
        scenario = make_scenario("append", open_threads=open_threads)
        scenario.prepare(fixture)
        fixture.clock.next_round()
        built, _ = scenario.commands(fixture, commands)
        run = run_batches(fixture.engine, built)
    gc.collect()
    gc.freeze()
    if send and len(run()) != commands:
        raise SystemExit(f"{side}: not every command was answered")


def group_of(place: str) -> str:
    return next((group for group, pattern in GROUPS if pattern.search(place)), OTHER)


def by_group(annotated: str) -> Counter[str]:
    """Instructions per group of shared objects, from ``callgrind_annotate``'s function table."""
    counts: Counter[str] = Counter()
    for line in annotated.splitlines():
        found = _ROW.match(line)
        if found:
            place = found[3].rsplit("/", 1)[-1] if found[3] else found[2]
            counts[group_of(place)] += int(found[1].replace(",", ""))
    return counts


def _run(side: str, commands: int, open_threads: int, send: bool) -> tuple[int, Counter[str]]:
    """One callgrind run of the child: its total and its instructions by group."""
    tool, annotate = valgrind(), shutil.which("callgrind_annotate")
    if tool is None or annotate is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as directory:
        out = f"{directory}/callgrind.out"
        argv = [tool, "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m", __spec__.name]
        argv += ["--child", side, str(commands), str(open_threads), "send" if send else "prepare", directory]
        environment = {**os.environ, "PYTHONHASHSEED": "1"}
        done = subprocess.run(argv, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
        found = COLLECTED.search(done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"callgrind run of the {side} failed:\n{done.stderr[-2000:]}")
        annotated = subprocess.run([annotate, "--threshold=100", out], capture_output=True, text=True, check=True)
    return int(found[1]), by_group(annotated.stdout)


def measure(side: str, commands: int, open_threads: int = OPEN_THREADS) -> dict[str, float]:
    """Instructions per message of ``side``, in all (``total``) and by group."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(_run, side, commands, open_threads, send) for send in (True, False)]
        (sent_total, sent), (prepared_total, prepared) = (run.result() for run in runs)
    figures = {group: (sent[group] - prepared[group]) / commands for group in (*(g for g, _ in GROUPS), OTHER)}
    return {"total": (sent_total - prepared_total) / commands, **figures}


def table(engine: dict[str, float], floor: dict[str, float]) -> str:
    lines = ["| instructions per message | engine | floor | engine - floor |", "|---|---|---|---|"]
    for row in (*(g for g, _ in GROUPS), OTHER, "total"):
        lines.append(f"| {row} | {engine[row]:,.0f} | {floor[row]:,.0f} | {engine[row] - floor[row]:+,.0f} |")
    lines.append(f"| floor / engine (as a rate ratio) | | | {floor['total'] / engine['total']:.3f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--child"]:
        side, commands, open_threads, mode, directory = arguments[1:6]
        _child(side, int(commands), int(open_threads), mode == "send", Path(directory))
        sys.stdout.flush()
        os._exit(0)  # the teardown is no part of sending a batch (see benchmarks.instructions)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqlite_batches", description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=1000, help="messages per run (default 1000)")
    parser.add_argument("--open-threads", type=int, default=OPEN_THREADS, help=f"default {OPEN_THREADS:,}")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    options = parser.parse_args(arguments)
    if options.commands < 1 or options.open_threads < 1:
        parser.error("--commands and --open-threads must be at least 1")
    engine, floor = (measure(side, options.commands, options.open_threads) for side in SIDES)
    print(table(engine, floor))
    if options.json is not None:
        document = {
            "commands": options.commands,
            "open_threads": options.open_threads,
            "engine": engine,
            "floor": floor,
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
