"""PostgreSQL primary failover: nothing acknowledged is lost, nothing is stored twice, R1 and I1 hold.

Every test builds its own primary and standby (``pg_cluster.py``) on loopback ports of its own, from the
server binaries installed on the machine, and removes them afterwards. The failover tests run three writer
processes (``failover_workload.py``) that publish with idempotency ids to keys they all share, crash the
primary at a chosen point (``failover_scenarios.py``), promote the standby, let the writers go on, retrying
what they were not told succeeded, and check the new primary against what every writer was told
(``failover_check.py``).

Environment: ``THREADING_ENGINE_FAILOVER_ROUNDS=N`` runs every failover N times (the README's figures come
from such a run, with ``-s`` to see them); ``THREADING_ENGINE_FAILOVER_RETRIES=0`` stops the writers retrying
and ``THREADING_ENGINE_FAILOVER_DROP_INDEX=1`` drops the idempotency index before the load: either makes the
failover tests fail, as the last two tests here show.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

from psycopg import Connection  # noqa: E402
from psycopg.conninfo import conninfo_to_dict  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402

from threading_engine import Direction, Engine, StorageError, open_repository  # noqa: E402
from threading_engine.backends.postgres import PostgresRepository  # noqa: E402
from threading_engine.cli import main  # noqa: E402

from .conftest import REQUIRE_VARIABLE  # noqa: E402
from .failover_check import Figures, summary  # noqa: E402
from .failover_scenarios import ASYNCHRONOUS_KILL_POINTS, SYNCHRONOUS_KILL_POINTS, Options, run_failover  # noqa: E402
from .failover_workload import CUSTOMERS, set_up  # noqa: E402
from .pg_cluster import BIN_VARIABLE, ReplicatedCluster, free_port, server_binaries  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROUNDS = int(os.environ.get("THREADING_ENGINE_FAILOVER_ROUNDS", "1"))
RETRIES = os.environ.get("THREADING_ENGINE_FAILOVER_RETRIES", "1") != "0"
DROP_INDEX = os.environ.get("THREADING_ENGINE_FAILOVER_DROP_INDEX") == "1"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module", autouse=True)
def _server_binaries() -> None:
    if server_binaries() is None:
        reason = f"no PostgreSQL server binaries to build a cluster with (set {BIN_VARIABLE})"
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{reason}; {REQUIRE_VARIABLE}=1 makes this a failure", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def cluster() -> Iterator[ReplicatedCluster]:
    with ReplicatedCluster() as built:
        yield built


def failovers(options: Options, directory: Path) -> list[Figures]:
    """Run the failover ``ROUNDS`` times, printing each run's figures as a JSON line."""
    runs = []
    for number in range(ROUNDS):
        (directory / f"round-{number}").mkdir()
        runs.append(run_failover(options, directory / f"round-{number}"))
        print(json.dumps(runs[-1].as_dict()))
    print(summary(runs))
    return runs


def publish(engine: Engine, account_id: str, idempotency_id: str) -> str:
    result = engine.publish_message(
        account_id,
        direction=Direction.INCOMING,
        senders=[CUSTOMERS[0]],
        text=idempotency_id,
        integration_idempotency_id=idempotency_id,
    )
    assert result.message_id is not None
    return result.message_id


def test_a_multi_host_url_follows_the_primary_through_a_failover(cluster: ReplicatedCluster, tmp_path: Path) -> None:
    """The standby is listed first; the store writes to the primary, then, with no restart, to the new one."""
    url = cluster.url(cluster.standby, cluster.primary).replace("?target_session_attrs=read-write", "")
    accounts = set_up(f"{url}?schema=single")  # read-write is the default for several hosts
    engine = Engine(open_repository(f"{url}?schema=single"))
    before = publish(engine, accounts.delivery, "before")
    cluster.primary.crash()
    cluster.standby.promote()
    after = None
    for _ in range(3):  # the engine retries a lost connection itself; a COMMIT it cannot settle is ours to retry
        try:
            after = publish(engine, accounts.delivery, "after")
            break
        except StorageError:
            continue
    assert after is not None
    with psycopg.connect(cluster.standby.url) as connection:
        stored = connection.execute("SELECT id FROM single.messages ORDER BY seq").fetchall()
    assert stored == [(before,), (after,)]  # synchronous replication: the first is on the new primary too
    engine.close()
    out = tmp_path / "out.jsonl"  # and the command line's --store takes such URLs, the dead host first here
    dead_first = cluster.url(cluster.primary, cluster.standby).replace("?target_session_attrs=read-write", "")
    arguments = ["replay", str(EXAMPLES / "support-line.jsonl"), "--ids", "sequential", "--quiet"]
    assert main([*arguments, "--store", f"{dead_first}?schema=replayed", "--out", str(out)]) == 0
    assert out.read_bytes() == (EXAMPLES / "support-line.out.jsonl").read_bytes()


def test_several_hosts_mean_the_writable_one_unless_the_url_says_otherwise(
    postgres_url: str, postgres_schema: str
) -> None:
    """Hosts in the URL's authority or in ``host=`` both count; a ``target_session_attrs`` given is kept."""
    server = conninfo_to_dict(postgres_url)
    host, port, database = server.get("host", "127.0.0.1"), server.get("port", "5432"), server.get("dbname", "test")
    dead = free_port()  # nothing listens there: libpq goes on to the next host
    urls = {
        f"postgresql://postgres@127.0.0.1:{dead},{host}:{port}/{database}?schema={postgres_schema}": "read-write",
        f"postgresql:///{database}?host=127.0.0.1,{host}&port={dead},{port}&user=postgres&schema={postgres_schema}": (
            "read-write"
        ),
        f"postgresql://postgres@127.0.0.1:{dead},{host}:{port}/{database}?target_session_attrs=any"
        f"&schema={postgres_schema}": "any",
    }
    for url, attributes in urls.items():
        repository = open_repository(url)
        assert isinstance(repository, PostgresRepository) and repository._connections._pool is not None
        assert conninfo_to_dict(str(repository._connections._pool.conninfo))["target_session_attrs"] == attributes
        repository.close()


def test_a_lost_commit_cannot_be_settled_on_a_standby_still_in_recovery(cluster: ReplicatedCluster) -> None:
    """Replay may yet bring the commit to a standby: asking one is no answer, so the outcome stays unknown."""
    target = [cluster.primary.url]
    pool: ConnectionPool[Connection[tuple[object, ...]]] = ConnectionPool(
        lambda: target[0], kwargs={"autocommit": True}, min_size=1, max_size=1, open=True
    )
    try:
        repository = PostgresRepository(pool, schema="settled")
        target[0] = cluster.standby.url  # as if the primary's address now led to its standby
        with pytest.raises(StorageError, match="outcome is unknown") as raised:
            repository._connections.settle_lost_commit(1, [], None, psycopg.OperationalError("lost"))
        assert "cannot tell whether a commit will arrive" in str(raised.value.__cause__)
    finally:
        pool.close()


@pytest.mark.parametrize("kill_point", SYNCHRONOUS_KILL_POINTS)
def test_a_synchronous_failover_loses_and_doubles_nothing(kill_point: str, tmp_path: Path) -> None:
    """With the standby synchronous, every acknowledged message survives the crash of the primary, once."""
    options = Options(kill_point, retries=RETRIES, drop_idempotency_index=DROP_INDEX)
    for figures in failovers(options, tmp_path):
        assert (figures.lost, figures.duplicated) == (0, 0)
        assert figures.acknowledged == figures.messages > 0
        # Each kill point was reached on purpose; these are its traces in what the writers saw.
        if kill_point == "view_read":  # the writers waiting in their view read went on, inside the engine
            assert figures.rode_through >= 1
        if kill_point in ("commit_pipeline", "replication_wait"):  # a COMMIT in flight: its writer not told
            assert figures.unknown >= 1
        if kill_point.startswith("commit_answer"):  # committed, answer lost; the check saw its writer told after all
            assert figures.withheld


@pytest.mark.parametrize("kill_point", ASYNCHRONOUS_KILL_POINTS)
def test_an_asynchronous_failover_loses_only_what_retries_repair(kill_point: str, tmp_path: Path) -> None:
    """Without a synchronous standby, the crash may take acknowledged messages with it; sending them again with
    their idempotency ids stores each lost one once and leaves the others as they were (D1)."""
    options = Options(kill_point, synchronous=False, retries=RETRIES, drop_idempotency_index=DROP_INDEX)
    for figures in failovers(options, tmp_path):
        assert figures.duplicated == 0
        assert figures.repaired <= figures.lost  # only what was lost was stored again
        if kill_point == "lag":  # acknowledged while the standby heard nothing: lost, then repaired
            assert figures.lost >= 1 and figures.repaired >= 1


def test_the_check_fails_when_the_writers_do_not_retry(tmp_path: Path) -> None:
    """A COMMIT in flight at the crash leaves its message unacknowledged, and not stored: only a retry saves it.

    Without echoes: another writer repeating the given-up message's id after the promotion would store it and be
    told so, and the check would rightly find nothing missing (seen once in CI)."""
    with pytest.raises(AssertionError, match="was never acknowledged"):
        run_failover(Options("commit_pipeline", retries=False, echoes=0.0), tmp_path)


def test_the_check_fails_without_the_idempotency_index(tmp_path: Path) -> None:
    """The key's lock keeps the writers' retries single, but the new primary must refuse a second copy itself."""
    with pytest.raises(AssertionError, match="accepted a second message for an idempotency id"):
        run_failover(Options("commit_answer", drop_idempotency_index=True), tmp_path)
