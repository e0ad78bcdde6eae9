"""The benchmark harness runs end to end on a tiny size and writes the JSON it promises.

Benchmarks are measurements, not tests: nothing here looks at a timing, only at the shape of what the harness
writes, and at the one thing a measurement must never hide, commands that did not do what the scenario claims.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("append", "new-thread", "reopen", "duplicate", "mixed")
BACKENDS = ("memory", "sqlite-normal")
MODES = ("single", "batch")


def _check_stats(stats: dict[str, Any]) -> None:
    assert set(stats) == {"median", "min", "max", "q1", "q3", "values"}
    assert len(stats["values"]) >= 5  # a median and spread of repeated rounds, never one run
    assert stats["min"] <= stats["q1"] <= stats["median"] <= stats["q3"] <= stats["max"]


def test_tiny_run_writes_every_section(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    plot = tmp_path / "scaling.png"
    only = ",".join((*SCENARIOS, "scaling", "footprint", *BACKENDS))
    command = [sys.executable, "-m", "benchmarks", "--tiny", "--only", only, "--json", str(results)]
    drawing = importlib.util.find_spec("matplotlib") is not None
    if drawing:
        command += ["--plot", str(plot)]

    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)

    assert completed.returncode == 0, completed.stderr
    assert "Throughput" in completed.stdout and "Targets" in completed.stdout
    data = json.loads(results.read_text(encoding="utf-8"))
    assert {"machine", "settings", "throughput", "scaling", "footprint", "postgres", "targets", "notes"} <= set(data)
    assert {"date", "cpu_count", "python", "sqlite", "postgresql"} <= set(data["machine"])

    rows = data["throughput"]
    assert {(r["scenario"], r["backend"], r["mode"]) for r in rows} == set(
        itertools.product(SCENARIOS, BACKENDS, MODES)
    )
    for row in rows:
        _check_stats(row["rate"])
        assert row["unexpected_outcomes"] == 0, row["first_unexpected"]
        if row["scenario"] == "append":
            _check_stats(row["floor"]["rate"])
            assert row["engine_over_floor"] > 0
        else:
            assert row["floor"] is None and row["engine_over_floor"] is None

    scaling = data["scaling"]
    assert {(r["backend"], r["mode"], r["existing_threads"]) for r in scaling} == set(
        itertools.product(BACKENDS, MODES, (1_000, 3_000))
    )
    for row in scaling:
        _check_stats(row["cost"])
        _check_stats(row["floor_cost"])
        assert row["unexpected_outcomes"] == 0

    assert len(data["footprint"]) == 4
    assert all(isinstance(row["bytes"], float) for row in data["footprint"])
    assert data["postgres"] == {"round_trips": [], "processes": []}  # not selected
    for target in data["targets"]:
        assert set(target) == {"target", "wanted", "figure", "met"}
        assert target["met"] in (True, False, None)
    if drawing:
        assert plot.read_bytes().startswith(b"\x89PNG")


def test_instruction_counts_run_end_to_end_and_write_their_json(tmp_path: Path) -> None:
    """``python -m benchmarks.instructions`` on a tiny size: each figure is the difference of two callgrind
    runs, positive, with its floor and ratio. CI installs valgrind, so this runs there."""
    from benchmarks.instructions import valgrind

    if valgrind() is None:
        import pytest

        pytest.skip("valgrind is not installed")
    results = tmp_path / "instructions.json"
    command = [sys.executable, "-m", "benchmarks.instructions", "--scenarios", "append,duplicate"]
    command += ["--stores", "memory", "--commands", "100", "--seeds", "1", "--json", str(results)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    document = json.loads(results.read_text())
    assert [(f["scenario"], f["store"]) for f in document["figures"]] == [("append", "memory"), ("duplicate", "memory")]
    append, duplicate = document["figures"]
    floor = document["floor"]["per_command"]
    # An append does more than the dictionary router, and a duplicate (D1, no write) less than an append; the
    # values the contracts require of an append cost more than the router and less than the append itself.
    assert 0 < floor < append["per_command"] and 0 < duplicate["per_command"] < append["per_command"]
    assert floor < document["contract"]["per_command"] < append["per_command"]
    assert "| append | memory |" in completed.stdout


def test_http_publishes_run_against_the_engine_called_directly(tmp_path: Path) -> None:
    """``--only http``: the service in its own process, publishes over HTTP and the same publishes given to the
    engine directly, on memory and SQLite; every publish appended (201 over HTTP, APPENDED directly)."""
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "benchmarks", "--tiny", "--only", "http,memory,sqlite-normal"]
    command += ["--json", str(results)]

    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)

    assert completed.returncode == 0, completed.stderr
    assert "Publishes over HTTP" in completed.stdout
    rows = json.loads(results.read_text(encoding="utf-8"))["http"]
    assert [row["backend"] for row in rows] == ["memory", "sqlite-normal"]
    for row in rows:
        _check_stats(row["http"]["rate"])
        _check_stats(row["direct"]["rate"])
        assert row["unexpected_outcomes"] == 0, row["first_unexpected"]
        assert row["http_over_direct"] == row["http"]["rate"]["median"] / row["direct"]["rate"]["median"]


def test_sqlite_batch_instructions_are_split_by_library_without_losing_any(tmp_path: Path) -> None:
    """``benchmarks.sqlite_batches`` reads callgrind_annotate's table: on a real callgrind run of a few SQLite
    statements, SQLite's library, the interpreter and the C library each get instructions, and the groups add
    up to the run's total."""
    import shutil

    from benchmarks.instructions import valgrind
    from benchmarks.sqlite_batches import OTHER, by_group, table

    annotate = shutil.which("callgrind_annotate")
    if valgrind() is None or annotate is None:
        import pytest

        pytest.skip("valgrind is not installed")
    out = tmp_path / "callgrind.out"
    program = "import sqlite3; c = sqlite3.connect(':memory:'); c.execute('CREATE TABLE t (x)'); c.execute('SELECT 1')"
    command = [str(valgrind()), "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-S", "-c", program]
    subprocess.run(command, capture_output=True, check=True, timeout=300)
    annotated = subprocess.run([annotate, "--threshold=100", str(out)], capture_output=True, text=True, check=True)
    total = int(annotated.stdout.split("PROGRAM TOTALS")[0].split()[-2].replace(",", ""))

    groups = by_group(annotated.stdout)

    assert sum(groups.values()) == total
    assert min(groups["SQLite"], groups["interpreter"], groups["C library"]) > 0
    assert groups[OTHER] < total / 100
    figures = {**{group: float(count) for group, count in groups.items()}, "total": float(total)}
    assert "| SQLite |" in table(figures, figures) and "| 1.000 |" in table(figures, figures)
