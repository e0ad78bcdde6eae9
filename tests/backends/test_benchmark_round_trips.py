"""The round-trips section of the benchmarks counts the engine one by one on both kinds of keys it meets: keys
its process opened one command at a time (as the throughput section's append starts, and as a server's own
traffic leaves them: one round trip) and keys opened in batches, as if by another process (two round trips
until a key is written again). Counted through the real relay on the real server; nothing here is timed.
"""

from __future__ import annotations

from benchmarks.postgres_tools import PostgresServer
from benchmarks.roundtrips import COLD, run_round_trips


def test_one_by_one_costs_one_round_trip_on_keys_the_engine_wrote_and_about_two_on_others(postgres_url: str) -> None:
    server = PostgresServer.probe(postgres_url)
    assert server.available, server.reason
    try:
        # More keys than the warm-up's 100 messages reach, so that most keys opened in batches stay cold.
        rows = run_round_trips(server, open_threads=400, messages=50, progress=lambda line: None)
    finally:
        server.drop_schemas()
    single = {row.subject: row.per_message for row in rows if row.mode == "single"}
    assert set(single) == {"engine", COLD, "floor"}
    # The relay may count one pipeline twice when the machine is busy: a little above 1, never near 2.
    assert 1.0 <= single["engine"] <= 1.1
    assert 1.0 <= single["floor"] <= 1.1
    assert single[COLD] >= 1.5
    batch = {row.subject: row.per_message for row in rows if row.mode == "batch"}
    assert set(batch) == {"engine", "floor"}
