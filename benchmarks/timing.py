"""The repeat loop every throughput figure comes from, and the statistics it reports.

A measurement is a series of *rounds*. Each round is prepared outside the timed region (its commands built,
any state it needs written), then only its ``run`` is timed. The first round is a warm-up whose rate also
sizes the later rounds so that each lasts about ``round_seconds``; it is not reported. At least five rounds
follow, and the report gives their median with the minimum, maximum and quartiles: never a single run.
"""

from __future__ import annotations

import gc
import itertools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_REPEATS = 5


@dataclass(frozen=True)
class Stats:
    """The median and spread of repeated values (rates in messages per second, or costs in microseconds)."""

    median: float
    minimum: float
    maximum: float
    q1: float
    q3: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no values to summarise")
        ordered = sorted(values)
        if len(ordered) > 1:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        else:
            q1 = q3 = ordered[0]
        return cls(statistics.median(ordered), ordered[0], ordered[-1], q1, q3, tuple(values))

    def map(self, convert: Callable[[float], float]) -> Stats:
        """The same series in another unit; the bounds are recomputed, so a rate may become a cost."""
        return Stats.of([convert(value) for value in self.values])

    def to_json(self) -> dict[str, object]:
        return {
            "median": self.median,
            "min": self.minimum,
            "max": self.maximum,
            "q1": self.q1,
            "q3": self.q3,
            "values": list(self.values),
        }


@dataclass
class Round:
    """One prepared round: ``size`` commands, the timed ``run``, and what each command should have returned.

    ``run`` returns one item per command (a result or an error); ``expected`` holds the outcome or error code
    each should have, so that a benchmark that silently measured the wrong thing is reported as such.
    """

    size: int
    run: Callable[[], Sequence[object]]
    expected: Sequence[str] = ()


@dataclass
class Series:
    """A finished measurement: the rates of its reported rounds and how many results were not as expected."""

    rate: Stats
    round_size: int
    mismatches: int = 0
    first_mismatch: str | None = None


@dataclass(frozen=True)
class LoopSettings:
    """How long and how often to repeat: ``repeats`` reported rounds of about ``round_seconds`` each."""

    repeats: int
    round_seconds: float
    warmup_size: int = 20
    max_round_size: int = 200_000

    def __post_init__(self) -> None:
        if self.repeats < MIN_REPEATS:
            raise ValueError(f"repeats {self.repeats} is below {MIN_REPEATS}: a median needs several runs")
        if self.round_seconds <= 0:
            raise ValueError(f"round_seconds {self.round_seconds} must be positive")


def outcome_of(item: object) -> str:
    """The outcome of a result, or the code of an error, as compared with :attr:`Round.expected`.

    A floor answers with a plain tuple whose first item is its outcome.
    """
    if isinstance(item, tuple) and item:
        return str(item[0])
    outcome = getattr(item, "outcome", None)
    if outcome is not None:
        return str(outcome)
    return str(getattr(item, "code", type(item).__name__))


def measure(prepare: Callable[[int], Round], loop: LoopSettings, *, granule: int = 1, minimum: int = 1) -> Series:
    """Time rounds made by ``prepare(size)``; sizes are multiples of ``granule`` (a batch) and at least ``minimum``.

    Garbage is collected before each timed region but the collector stays on: a server pays for it too.
    """
    return measure_together([prepare], loop, granule=granule, minimum=minimum)[0]


def measure_together(
    prepares: Sequence[Callable[[int], Round]], loop: LoopSettings, *, granule: int = 1, minimum: int = 1
) -> list[Series]:
    """Like :func:`measure` for several subjects, their rounds interleaved (A B A B ...).

    A machine that slows down for a while (another process, a thermal limit) then slows every subject alike,
    so their ratio, the figure that matters when an engine is compared with its floor, stays fair.
    """
    sizes = []
    mismatches = [0] * len(prepares)
    firsts: list[str | None] = [None] * len(prepares)
    for index, prepare in enumerate(prepares):
        warmup = prepare(_fit(max(loop.warmup_size, minimum), granule))
        elapsed, results = _timed(warmup)
        mismatches[index], firsts[index] = _check(warmup, results)
        fitted = int(warmup.size / elapsed * loop.round_seconds)
        sizes.append(_fit(min(loop.max_round_size, max(minimum, fitted)), granule))
    rates: list[list[float]] = [[] for _ in prepares]
    for _ in range(loop.repeats):
        for index, prepare in enumerate(prepares):
            round_ = prepare(sizes[index])
            elapsed, results = _timed(round_)
            rates[index].append(round_.size / elapsed)
            missed, example = _check(round_, results)
            mismatches[index] += missed
            firsts[index] = firsts[index] or example
    return [
        Series(Stats.of(rates[index]), sizes[index], mismatches[index], firsts[index]) for index in range(len(prepares))
    ]


def _fit(size: int, granule: int) -> int:
    return max(granule, math.ceil(size / granule) * granule)


def _timed(round_: Round) -> tuple[float, Sequence[object]]:
    gc.collect()
    start = time.perf_counter()
    results = round_.run()
    elapsed = time.perf_counter() - start
    return max(elapsed, 1e-9), results


def _check(round_: Round, results: Sequence[object]) -> tuple[int, str | None]:
    if not round_.expected:
        return 0, None
    missed = 0
    first = None
    # A missing or extra answer is a mismatch too (it shows as "NoneType" or as an unexpected "str").
    for index, (expected, item) in enumerate(itertools.zip_longest(round_.expected, results)):
        got = outcome_of(item)
        if got != expected:
            missed += 1
            first = first or f"command {index}: expected {expected}, got {got} ({item!r})"
    return missed, first


# How far a benchmark clock moves between two timed rounds.
ROUND_STEP = timedelta(seconds=1)


class SteppingClock:
    """The clock of an engine or a floor in a benchmark: fixed while a round runs, moved on between rounds.

    Both sides step it the same way (:meth:`next_round`), so both write the same new times. A floor whose
    clock stood still would store an unchanged latest-message time on every append, and SQLite leaves a row
    rewritten with identical bytes untouched: that floor would skip a page write per thread the engine must
    make.
    """

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def next_round(self) -> datetime:
        """Move on by :data:`ROUND_STEP` before a timed round is prepared; returns the round's time."""
        self.now += ROUND_STEP
        return self.now
