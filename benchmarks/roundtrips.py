"""PostgreSQL round trips per message, for the engine and for its floor, counted on the wire.

Each subject talks to the server through a ``RoundTripRelay`` (``threading_engine.testing.roundtrips``). A
warm-up batch goes first (connections opened, statements prepared), then the counter is reset and
``messages`` appends are sent, one by one or in batches. The relay adds latency, so nothing here is timed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial

from threading_engine import open_repository
from threading_engine.testing.roundtrips import RoundTripRelay

from .postgres_floor import PostgresFloor
from .postgres_tools import PostgresServer, round_trip_relay
from .results import RoundTripRow
from .scenarios import Append, engine_round
from .throughput import MODES
from .timing import Round
from .workload import BATCH_SIZE, new_fixture


def _count(relay: RoundTripRelay, make_round: Callable[[int], Round], messages: int) -> int:
    make_round(BATCH_SIZE).run()
    round_ = make_round(messages)
    relay.reset()
    round_.run()
    return relay.round_trips


def run_round_trips(
    server: PostgresServer,
    *,
    open_threads: int,
    messages: int = 2 * BATCH_SIZE,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[RoundTripRow]:
    """Round trips per append: the engine and the floor, one by one and in batches."""
    relay = round_trip_relay(server.url)
    rows = []
    try:
        for mode in MODES:
            repository = open_repository(server.store_url(server.fresh_schema(), port=relay.port))
            try:
                fixture = new_fixture(repository)
                scenario = Append(open_threads)
                scenario.prepare(fixture)
                engine = partial(engine_round, fixture, scenario, mode)
                rows.append(RoundTripRow("engine", mode, messages, _count(relay, engine, messages)))
            finally:
                repository.close()
            floor = PostgresFloor(server, open_threads, port=relay.port)
            try:
                floor_round = partial(floor.round, mode=mode)
                rows.append(RoundTripRow("floor", mode, messages, _count(relay, floor_round, messages)))
            finally:
                floor.close()
    finally:
        relay.close()
    for row in rows:
        progress(f"  postgres round trips {row.subject:<6} {row.mode:<6} {row.per_message:6.2f} per message")
    return rows
