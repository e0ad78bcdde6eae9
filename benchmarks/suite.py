"""One benchmark run: what to measure (:class:`Settings`), the machine it ran on, and running every section."""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threading_engine import Engine

from .backends import BACKENDS, Stores
from .postgres_tools import PostgresServer, masked
from .results import RunResults
from .scenarios import SCENARIOS
from .timing import LoopSettings
from .workload import BATCH_SIZE, has_batch_api

SECTIONS = (*SCENARIOS, "scaling", "footprint", "http", "round-trips", "processes")
POSTGRES_ONLY = ("round-trips", "processes")


@dataclass(frozen=True)
class Settings:
    """Everything that decides what a run measures and how long it takes."""

    command: str
    quick: bool
    loop: LoopSettings
    open_threads: int
    scaling_sizes: tuple[int, ...]
    footprint_count: int
    process_seconds: float
    sections: tuple[str, ...]
    backends: tuple[str, ...]
    postgres_url: str
    workdir: Path | None = None

    def to_json(self, batch_api: str) -> dict[str, Any]:
        return {
            "command": self.command,
            "quick": self.quick,
            "repeats": self.loop.repeats,
            "round_seconds": self.loop.round_seconds,
            "batch_size": BATCH_SIZE,
            "batch_api": batch_api,
            "open_threads": self.open_threads,
            "scaling_sizes": list(self.scaling_sizes),
            "footprint_count": self.footprint_count,
            "process_round_seconds": self.process_seconds,
            "sections": list(self.sections),
            "backends": list(self.backends),
            "postgres_url": masked(self.postgres_url),
        }


def parse_only(text: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``--only``: names of sections and of backends; a kind not named is not narrowed."""
    if not text:
        return SECTIONS, BACKENDS
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS and name not in BACKENDS]
    if unknown:
        raise ValueError(
            f"--only: unknown name(s) {', '.join(unknown)}; sections are {', '.join(SECTIONS)} "
            f"and backends are {', '.join(BACKENDS)}"
        )
    sections = tuple(name for name in SECTIONS if name in names) or SECTIONS
    backends = tuple(name for name in BACKENDS if name in names) or BACKENDS
    return sections, backends


def machine_facts(postgres: PostgresServer) -> dict[str, Any]:
    """Where and when the run happened: the facts a reader needs to compare two runs."""
    load: list[float] | None = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(value, 2) for value in os.getloadavg()]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres.version if postgres.available else f"unavailable ({postgres.reason})",
        "platform": platform.platform(),
        "load_average_at_start": load,
        "engine_revision": _revision(),
    }


def _revision() -> str:
    """The git commit the engine was measured at, and whether its code had changes not yet committed."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "threading_engine"], cwd=root, check=False, timeout=10
        ).returncode
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{head} with uncommitted changes" if changed else head


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _section(name: str, results: RunResults) -> Iterator[None]:
    """Announce a section and record how long it took (the run's own cost, not a measurement)."""
    _say(name)
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        results.section_seconds[name] = round(elapsed, 1)
        _say(f"  ({name}: {elapsed:.1f} s)")


def run(settings: Settings) -> RunResults:
    """Run every selected section and return what was measured; temporary stores are removed at the end."""
    wants_postgres = "postgres" in settings.backends
    postgres = (
        PostgresServer.probe(settings.postgres_url)
        if wants_postgres
        else PostgresServer(settings.postgres_url, reason="not selected")
    )
    batch_api = "Engine.execute_many" if has_batch_api(Engine()) else "not in the engine yet: a loop over execute"
    results = RunResults(machine_facts(postgres), settings.to_json(batch_api))
    backends = settings.backends
    if wants_postgres and not postgres.available:
        note = f"PostgreSQL is unreachable, its rows are skipped: {postgres.reason}"
        results.notes.append(note)
        _say(note)
        backends = tuple(b for b in backends if b != "postgres")
    if not has_batch_api(Engine()):
        results.notes.append("batch rows send each command alone: Engine.execute_many is not available yet")
    workdir = Path(tempfile.mkdtemp(prefix="threading-engine-bench-", dir=settings.workdir))
    stores = Stores(workdir, postgres)
    try:
        _run_sections(settings, stores, backends, postgres, results)
    finally:
        problems = stores.close()
        results.notes.extend(f"clean-up problem: {problem}" for problem in problems)
    return results


def _run_sections(
    settings: Settings, stores: Stores, backends: Sequence[str], postgres: PostgresServer, results: RunResults
) -> None:
    scenarios = [name for name in SCENARIOS if name in settings.sections]
    if scenarios and backends:
        from .throughput import run_throughput

        with _section("throughput", results):
            results.throughput = run_throughput(
                stores, scenarios, backends, settings.loop, open_threads=settings.open_threads
            )
    if "scaling" in settings.sections:
        from .scaling import run_scaling

        with _section("scaling", results):
            results.scaling = run_scaling(stores, settings.scaling_sizes, backends, settings.loop)
    if "footprint" in settings.sections and "memory" in backends:
        from .footprint import run_footprint

        with _section("footprint", results):
            results.footprint = run_footprint(settings.footprint_count)
    if "http" in settings.sections and backends:
        from .http_publish import run_http

        with _section("http", results):
            results.http = run_http(stores, backends, settings.loop, open_threads=settings.open_threads)
    if "postgres" not in backends:
        return
    if "round-trips" in settings.sections:
        from .roundtrips import run_round_trips

        with _section("round-trips", results):
            results.round_trips = run_round_trips(postgres, open_threads=settings.open_threads)
    if "processes" in settings.sections:
        from .processes import run_processes

        single = results.row("append", "postgres", "single")
        with _section("processes", results):
            results.processes = run_processes(
                postgres,
                open_threads=settings.open_threads,
                rounds=settings.loop.repeats,
                round_seconds=settings.process_seconds,
                expected_rate=single.engine.rate.median if single is not None else 2_000.0,
            )
