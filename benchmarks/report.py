"""The run's results as a readable table, the issue's targets marked met or not met, and the JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .results import RunResults, ScalingRow, Target
from .timing import Stats

MILLION = 1_000_000
THOUSAND = 1_000


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _spread(stats: Stats, show: Callable[[float], str]) -> str:
    return f"{show(stats.minimum)}-{show(stats.maximum)}"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [
        max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i]) for i in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(cells)]
        return "  ".join(cells).rstrip()

    return [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]


def machine_line(results: RunResults) -> str:
    m = results.machine
    return (
        f"{m['date']}  |  {m['cpu_count']} CPUs ({m['cpu_model']})  |  Python {m['python']}  |  "
        f"SQLite {m['sqlite']}  |  PostgreSQL {m['postgresql']}"
    )


def render(results: RunResults, targets: list[Target]) -> str:
    """Everything a reader needs, as plain text."""
    settings = results.settings
    out = [
        "threading_engine benchmarks",
        machine_line(results),
        f"command: {settings['command']}  |  engine at {results.machine['engine_revision']}",
        f"batch API: {settings['batch_api']}; batches of {settings['batch_size']}; each figure is the median of "
        f"{settings['repeats']} rounds of about {settings['round_seconds']} s (spread: min-max)",
        "",
    ]
    if results.throughput:
        rows = []
        for row in results.throughput:
            floor = row.floor
            rows.append(
                [
                    row.scenario,
                    row.backend,
                    row.mode,
                    _rate(row.engine.rate.median),
                    _spread(row.engine.rate, _rate),
                    "" if floor is None else _rate(floor.rate.median),
                    "" if row.ratio is None else f"{row.ratio:.3f}",
                    "" if not row.engine.mismatches else f"{row.engine.mismatches} UNEXPECTED",
                ]
            )
        header = ["scenario", "backend", "mode", "msgs/s", "spread", "floor msgs/s", "engine/floor", ""]
        out += ["Throughput (mixed counts every command: publishes, replies, closes, archives, retries)"]
        out += [*_table(header, rows, {3, 4, 5, 6}), ""]
    if results.scaling:
        out += ["Cost per append against existing threads", *_scaling_table(results.scaling), ""]
    if results.footprint:
        rows = [
            [r.item, f"{r.bytes_each:,.0f}", f"{r.low:,.0f}-{r.high:,.0f}", f"{r.counts[0]:,}-{r.counts[-1]:,}"]
            for r in results.footprint
        ]
        header = ["per", "bytes", "range", "over counts"]
        out += ["Memory backend footprint (tracemalloc)", *_table(header, rows, {1, 2, 3}), ""]
    if results.http:
        rows = [
            [
                r.backend,
                _rate(r.http.rate.median),
                _spread(r.http.rate, _rate),
                _rate(r.direct.rate.median),
                _spread(r.direct.rate, _rate),
                f"{r.ratio:.3f}",
                _rate(r.empty.rate.median),
                "" if not r.unexpected else f"{r.unexpected} UNEXPECTED",
            ]
            for r in results.http
        ]
        header = ["backend", "HTTP publishes/s", "spread", "direct", "spread", "HTTP/direct", "empty requests/s", ""]
        out += [
            "Publishes over HTTP (serve, one keep-alive client, one at a time) against the engine called directly",
            *_table(header, rows, {1, 2, 3, 4, 5, 6}),
            "",
        ]
    if results.round_trips:
        rows = [
            [r.subject, r.mode, f"{r.per_message:.2f}", f"{r.round_trips:,} / {r.messages:,}"]
            for r in results.round_trips
        ]
        out += [
            "PostgreSQL round trips per message",
            *_table(["who", "mode", "per msg", "trips / msgs"], rows, {2, 3}),
            "",
        ]
    if results.processes:
        rows = [[str(r.processes), _rate(r.rate.median), _spread(r.rate, _rate)] for r in results.processes]
        out += [
            "PostgreSQL, engine, one by one, processes on shared keys",
            *_table(["processes", "msgs/s", "spread"], rows, {0, 1, 2}),
            "",
        ]
    if targets:
        rows = [
            [t.name, t.wanted, t.figure, {True: "met", False: "NOT MET", None: "not measured"}[t.met]] for t in targets
        ]
        out += ["Targets (issue 5)", *_table(["target", "wanted", "reached", ""], rows, set()), ""]
    out += [f"note: {note}" for note in results.notes]
    return "\n".join(out).rstrip() + "\n"


def _scaling_table(scaling: list[ScalingRow]) -> list[str]:
    rows = []
    for row in scaling:
        base = next((r for r in scaling if (r.backend, r.mode, r.threads) == (row.backend, row.mode, THOUSAND)), None)
        growth = "" if base is None else f"{row.cost_us.median / base.cost_us.median:.2f}x"
        floor, floor_growth = "", ""
        if row.floor_cost_us is not None:
            floor = f"{row.floor_cost_us.median:.1f}"
            if base is not None and base.floor_cost_us is not None:
                floor_growth = f"{row.floor_cost_us.median / base.floor_cost_us.median:.2f}x"
        rows.append(
            [
                row.backend,
                row.mode,
                f"{row.threads:,}",
                f"{row.cost_us.median:.1f}",
                _spread(row.cost_us, lambda v: f"{v:.1f}"),
                growth,
                floor,
                floor_growth,
            ]
        )
    headers = ["backend", "mode", "threads", "us/msg", "spread", "vs 10^3", "floor us/msg", "floor vs 10^3"]
    return _table(headers, rows, {2, 3, 4, 5, 6, 7})


def evaluate_targets(results: RunResults) -> list[Target]:
    """The issue's targets, each with the figure this run reached (``met`` is None when it was not measured)."""
    targets = []

    def rate_target(name: str, scenario: str, backend: str, mode: str, wanted: float) -> None:
        row = results.row(scenario, backend, mode)
        if row is None:
            targets.append(Target(name, f">= {wanted:,.0f} msgs/s", "not measured", None))
            return
        median = row.engine.rate.median
        targets.append(Target(name, f">= {wanted:,.0f} msgs/s", f"{median:,.0f} msgs/s", median >= wanted))

    rate_target("memory backend, appends, one core", "append", "memory", "single", 100_000)
    full = results.row("append", "sqlite-full", "single")
    if full is None or full.ratio is None:
        targets.append(
            Target("SQLite FULL, one per transaction, vs raw sqlite3", ">= 80% of floor", "not measured", None)
        )
    else:
        assert full.floor is not None
        figure = f"{full.ratio:.0%} ({full.engine.rate.median:,.0f} vs {full.floor.rate.median:,.0f} msgs/s)"
        targets.append(
            Target("SQLite FULL, one per transaction, vs raw sqlite3", ">= 80% of floor", figure, full.ratio >= 0.8)
        )
    rate_target("SQLite FULL, batches of 100", "append", "sqlite-full", "batch", 50_000)
    rate_target("PostgreSQL, one connection, one by one", "append", "postgres", "single", 4_000)
    rate_target("PostgreSQL, one connection, batches", "append", "postgres", "batch", 30_000)
    for backend, mode in dict.fromkeys((r.backend, r.mode) for r in results.scaling):
        costs = {r.threads: r.cost_us.median for r in results.scaling if (r.backend, r.mode) == (backend, mode)}
        name = f"flat cost, {backend} {mode}: 10^6 vs 10^3 threads"
        if THOUSAND not in costs:
            targets.append(Target(name, "<= 1.3x", "not measured", None))
        elif MILLION not in costs:
            largest = max(costs)
            figure = f"{costs[largest] / costs[THOUSAND]:.2f}x at {largest:,} (10^6 not run)"
            targets.append(Target(name, "<= 1.3x", figure, None))
        else:
            growth = costs[MILLION] / costs[THOUSAND]
            figure = f"{growth:.2f}x"
            floors = {
                r.threads: r.floor_cost_us.median
                for r in results.scaling
                if (r.backend, r.mode) == (backend, mode) and r.floor_cost_us is not None
            }
            if THOUSAND in floors and MILLION in floors:
                figure += f" (floor: {floors[MILLION] / floors[THOUSAND]:.2f}x)"
            targets.append(Target(name, "<= 1.3x", figure, growth <= 1.3))
    thread = next((r for r in results.footprint if r.item.startswith("thread")), None)
    if thread is None:
        targets.append(Target("memory backend, bytes per thread", "< 1,024 B", "not measured", None))
    else:
        whole = next((r for r in results.footprint if r.item.startswith("new thread")), None)
        figure = f"{thread.bytes_each:,.0f} B" + (
            "" if whole is None else f" ({whole.bytes_each:,.0f} B with its first message)"
        )
        figure += f", {thread.low:,.0f}-{thread.high:,.0f} B by count"
        targets.append(Target("memory backend, bytes per thread", "< 1,024 B", figure, thread.bytes_each < 1024))
    return targets


def to_json(results: RunResults, targets: list[Target]) -> dict[str, Any]:
    return {
        "machine": results.machine,
        "settings": results.settings,
        "throughput": [row.to_json() for row in results.throughput],
        "scaling": [row.to_json() for row in results.scaling],
        "footprint": [row.to_json() for row in results.footprint],
        "http": [row.to_json() for row in results.http],
        "postgres": {
            "round_trips": [row.to_json() for row in results.round_trips],
            "processes": [row.to_json() for row in results.processes],
        },
        "targets": [target.to_json() for target in targets],
        "notes": results.notes,
        "section_seconds": results.section_seconds,
    }


def write_json(path: Path, results: RunResults, targets: list[Target]) -> None:
    path.write_text(json.dumps(to_json(results, targets), indent=2) + "\n", encoding="utf-8")
