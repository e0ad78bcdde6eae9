"""The picture: cost per message against existing threads, one panel per backend and mode (log x axis), with
the floor's cost measured beside it as a dashed line.

Each panel has its own linear y axis starting at zero, so a cost that stays flat looks flat; the bars span the
middle half of the rounds (the interquartile range), so that one round that met a WAL checkpoint does not
flatten the whole panel (the table and the JSON keep the minimum and maximum). matplotlib is optional (the
``bench`` extra): without it the plot is skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from .results import ScalingRow


def matplotlib_missing() -> str | None:
    """Why no plot can be drawn, or None when matplotlib is installed."""
    if importlib.util.find_spec("matplotlib") is None:
        return "matplotlib is not installed; install the 'bench' extra"
    return None


def plot_scaling(rows: list[ScalingRow], path: Path, title: str) -> None:
    """Draw ``rows`` into a PNG at ``path``."""
    # Imported by name: matplotlib is optional, so neither the harness nor its type check may need it.
    importlib.import_module("matplotlib").use("Agg")  # no display needed
    plt = importlib.import_module("matplotlib.pyplot")

    variants = list(dict.fromkeys((row.backend, row.mode) for row in rows))  # in the order they were measured
    figure, axes = plt.subplots(1, max(1, len(variants)), figsize=(4.2 * max(1, len(variants)), 3.8), squeeze=False)
    for axis, (backend, mode) in zip(axes[0], variants, strict=False):
        series = sorted((r for r in rows if (r.backend, r.mode) == (backend, mode)), key=lambda r: r.threads)
        threads = [r.threads for r in series]
        medians = [r.cost_us.median for r in series]
        below = [r.cost_us.median - r.cost_us.q1 for r in series]
        above = [r.cost_us.q3 - r.cost_us.median for r in series]
        axis.errorbar(threads, medians, yerr=[below, above], marker="o", capsize=4, label="engine")
        floors = [r for r in series if r.floor_cost_us is not None]
        if floors:
            floor_costs = [r.floor_cost_us.median for r in floors if r.floor_cost_us is not None]
            axis.plot([r.threads for r in floors], floor_costs, linestyle="--", marker="s", label="floor")
            axis.legend(loc="upper left", fontsize=8)
        axis.set_xscale("log")
        axis.set_ylim(bottom=0, top=max(r.cost_us.q3 for r in series) * 1.25)
        axis.set_title(f"{backend}, {mode}")
        axis.set_xlabel("existing threads")
        axis.set_ylabel("microseconds per message (median, IQR)")
        axis.grid(True, which="major", alpha=0.3)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
