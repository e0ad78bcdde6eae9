"""PostgreSQL round trips per message, for the engine and for its floor, counted on the wire.

Each subject talks to the server through a ``RoundTripRelay`` (``threading_engine.testing.roundtrips``). A
warm-up batch goes first (connections opened, statements prepared), then the counter is reset and
``messages`` appends are sent, one by one or in batches. The relay adds latency, so nothing here is timed.

One by one, the engine is counted twice: on keys it opened one command at a time, as the throughput section
measures it and as a server's own traffic leaves them (remembered views: one round trip), and on keys opened
in batches, as if another process had written them (two round trips until a key is written again).
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


# The engine one by one on keys its process has not written one at a time (the store filled in batches).
COLD = "engine, keys written by another process"


def _engine_round_trips(
    server: PostgresServer, relay: RoundTripRelay, open_threads: int, mode: str, one_by_one: bool, messages: int
) -> int:
    repository = open_repository(server.store_url(server.fresh_schema(), port=relay.port))
    try:
        fixture = new_fixture(repository)
        scenario = Append(open_threads, written_one_by_one=one_by_one)
        scenario.prepare(fixture)
        return _count(relay, partial(engine_round, fixture, scenario, mode), messages)
    finally:
        repository.close()


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
            # One by one, as the throughput section measures it (its keys opened one by one by the engine
            # measured), and on keys opened in batches: as if another process had written them.
            for one_by_one in (True, False) if mode == "single" else (False,):
                subject = "engine" if one_by_one or mode != "single" else COLD
                count = _engine_round_trips(server, relay, open_threads, mode, one_by_one, messages)
                rows.append(RoundTripRow(subject, mode, messages, count))
            floor = PostgresFloor(server, open_threads, port=relay.port)
            try:
                floor_round = partial(floor.round, mode=mode)
                rows.append(RoundTripRow("floor", mode, messages, _count(relay, floor_round, messages)))
            finally:
                floor.close()
    finally:
        relay.close()
    for row in rows:
        progress(f"  postgres round trips {row.subject:<40} {row.mode:<6} {row.per_message:6.2f} per message")
    return rows
