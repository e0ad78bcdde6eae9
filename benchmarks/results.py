"""What a run found, section by section, in the shapes the table, the plot and the JSON file are made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .timing import Series, Stats


@dataclass
class ThroughputRow:
    """One scenario on one backend in one mode; ``floor`` is set on the append rows that have one."""

    scenario: str
    backend: str
    mode: str
    engine: Series
    floor: Series | None = None

    @property
    def ratio(self) -> float | None:
        """The engine's median rate divided by its floor's: 1.0 means the engine costs nothing extra."""
        if self.floor is None:
            return None
        return self.engine.rate.median / self.floor.rate.median

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "backend": self.backend,
            "mode": self.mode,
            "unit": "commands/s" if self.scenario == "mixed" else "messages/s",
            "messages_per_round": self.engine.round_size,
            "rate": self.engine.rate.to_json(),
            "unexpected_outcomes": self.engine.mismatches,
            "first_unexpected": self.engine.first_mismatch,
            "floor": None,
            "engine_over_floor": self.ratio,
        }
        if self.floor is not None:
            data["floor"] = {
                "messages_per_round": self.floor.round_size,
                "rate": self.floor.rate.to_json(),
                "unexpected_outcomes": self.floor.mismatches,
            }
        return data


@dataclass
class ScalingRow:
    """The cost of one append (microseconds) with ``threads`` threads already in the store."""

    backend: str
    mode: str
    threads: int
    cost_us: Stats
    messages_per_round: int
    build_seconds: float
    mismatches: int = 0
    # The floor's cost with as many threads, measured in the same rounds: how much of any growth is the storage's.
    floor_cost_us: Stats | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "mode": self.mode,
            "existing_threads": self.threads,
            "unit": "microseconds/message",
            "cost": self.cost_us.to_json(),
            "floor_cost": None if self.floor_cost_us is None else self.floor_cost_us.to_json(),
            "messages_per_round": self.messages_per_round,
            "build_seconds": self.build_seconds,
            "unexpected_outcomes": self.mismatches,
        }


@dataclass
class FootprintRow:
    """Bytes the memory backend holds per item (tracemalloc): the mean over ``counts``, and its range."""

    item: str
    bytes_each: float
    low: float
    high: float
    counts: list[int]
    how: str

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "bytes": self.bytes_each,
            "min": self.low,
            "max": self.high,
            "counts": self.counts,
            "how": self.how,
        }


@dataclass
class RoundTripRow:
    """PostgreSQL round trips per message, counted on the wire."""

    subject: str
    mode: str
    messages: int
    round_trips: int

    @property
    def per_message(self) -> float:
        return self.round_trips / self.messages

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "mode": self.mode,
            "messages": self.messages,
            "round_trips": self.round_trips,
            "per_message": self.per_message,
        }


@dataclass
class ProcessRow:
    """PostgreSQL throughput of the engine with ``processes`` processes appending on shared keys."""

    processes: int
    rate: Stats
    seconds_per_round: float
    unexpected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "unit": "messages/s (all processes together)",
            "rate": self.rate.to_json(),
            "seconds_per_round": self.seconds_per_round,
            "unexpected_outcomes": self.unexpected,
        }


@dataclass
class HttpRow:
    """One backend: publishes per second over HTTP and directly, and empty requests per second (the HTTP
    floor), from interleaved rounds."""

    backend: str
    http: Series
    direct: Series
    empty: Series  # GET /_engine/health on the same connection: HTTP's own cost, the service's floor

    @property
    def ratio(self) -> float:
        return self.http.rate.median / self.direct.rate.median

    @property
    def unexpected(self) -> int:
        return self.http.mismatches + self.direct.mismatches + self.empty.mismatches

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "unit": "publishes/s, one client, one request at a time",
            "http": _series_json(self.http),
            "direct": _series_json(self.direct),
            "empty_requests": _series_json(self.empty),
            "http_over_direct": self.ratio,
            "unexpected_outcomes": self.unexpected,
            "first_unexpected": self.http.first_mismatch or self.direct.first_mismatch or self.empty.first_mismatch,
        }


def _series_json(series: Series) -> dict[str, Any]:
    return {"rate": series.rate.to_json(), "round_size": series.round_size}


@dataclass
class Target:
    """One of the issue's targets: what it asks, the figure this run reached, and whether that meets it."""

    name: str
    wanted: str
    figure: str
    met: bool | None  # None: not measured in this run

    def to_json(self) -> dict[str, Any]:
        return {"target": self.name, "wanted": self.wanted, "figure": self.figure, "met": self.met}


@dataclass
class RunResults:
    """Everything one run measured."""

    machine: dict[str, Any]
    settings: dict[str, Any]
    throughput: list[ThroughputRow] = field(default_factory=list)
    scaling: list[ScalingRow] = field(default_factory=list)
    footprint: list[FootprintRow] = field(default_factory=list)
    round_trips: list[RoundTripRow] = field(default_factory=list)
    processes: list[ProcessRow] = field(default_factory=list)
    http: list[HttpRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    section_seconds: dict[str, float] = field(default_factory=dict)

    def row(self, scenario: str, backend: str, mode: str) -> ThroughputRow | None:
        for row in self.throughput:
            if (row.scenario, row.backend, row.mode) == (scenario, backend, mode):
                return row
        return None
