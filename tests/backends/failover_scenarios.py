"""One failover, start to finish: writers on a replicated cluster, the primary crashed at a chosen point, the
standby promoted, the writers carried on, and the check on the new primary.

The kill points, each reached on purpose rather than by chance:

- ``random``: at a random moment of the load.
- ``view_read``: while writers wait inside their view's read. The test holds the ``channels`` table, which
  every view reads and no message writes, so each writer stops in ``VIEW`` holding its key's lock.
- ``commit_pipeline``: while commit pipelines are in flight. The test holds the outbox lock alone, as a reader
  of the outbox does, so each writer stops at its events' insert, after its other writes, before ``COMMIT``.
- ``replication_wait`` (synchronous replication only): while commits wait for the standby. The test freezes
  the primary's WAL sender, so each commit is written on the primary and waits for a standby that never hears
  of it: the primary has committed what the standby, soon the new primary, never will.
- ``commit_answer``: between a COMMIT and its answer. The writers reach the primary through a relay
  (``pg_relay.py``) that withholds the answer of one commit pipeline; the crash comes once that answer has left
  the server, so the commit has happened (on both servers) and its writer never hears of it.
- ``commit_answer_implicit``: the same for a one-round-trip pipeline, a command decided on a view its process
  remembered (no ``BEGIN``, no ``COMMIT``: the pipeline's Sync commits it). Writers sharing every key rarely take
  that path (some 1% of commits: most remembered views are stale by their next use), so here each writer keeps
  to a customer and a conversation of its own, echoes aside, and about half its commits are one pipeline.
- ``lag`` (asynchronous replication only): the WAL sender is frozen while writers go on being acknowledged;
  everything acknowledged since is on the primary alone when it dies.

The standby is promoted ``detection_delay`` seconds after the crash, the time a failover manager takes to notice
a dead primary (shortened: tens of seconds are usual).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from threading_engine.backends.postgres.schema import Statements

from .failover_check import Figures, check_store, stored_messages, timings, verdicts
from .failover_workload import ECHOES, Accounts, Entry, WriterPlan, read_logs, redeliver, set_up, write
from .pg_cluster import ReplicatedCluster
from .pg_relay import HoldingRelay

SYNCHRONOUS_KILL_POINTS = (
    "random",
    "view_read",
    "commit_pipeline",
    "replication_wait",
    "commit_answer",
    "commit_answer_implicit",
)
ASYNCHRONOUS_KILL_POINTS = ("random", "lag")
SPAWN = multiprocessing.get_context("spawn")
WAIT = 60.0  # the longest any step may take before the run is declared stuck
WRITERS = "te-failover-writer"  # the application_name of the writers' sessions
Connection = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class Options:
    """What to run: where to crash the primary, the replication mode, and the ways to break the check on purpose."""

    kill_point: str
    synchronous: bool = True
    writers: int = 3
    retries: bool = True  # whether writers send again what they were not told succeeded
    echoes: float = ECHOES  # the share of deliveries that repeat another writer's message
    drop_idempotency_index: bool = False
    detection_delay: float = 1.0
    warm_up: int = 8  # acknowledged messages per writer before the kill point is armed
    after_promotion: int = 8  # ... and after the promotion, before the writers are stopped


class Run:
    """The moving parts of one failover run: the cluster, the relay if any, the writers and their logs."""

    def __init__(self, cluster: ReplicatedCluster, options: Options, directory: Path) -> None:
        self.cluster, self.options, self.directory = cluster, options, directory
        self.schema = f"te_failover_{uuid.uuid4().hex[:12]}"
        held = options.kill_point.startswith("commit_answer")
        self.relay = HoldingRelay("127.0.0.1", cluster.primary.port) if held else None
        first = self.relay.port if self.relay is not None else cluster.primary.port
        hosts = f"127.0.0.1:{first},127.0.0.1:{cluster.standby.port}"
        self.store_url = (
            f"postgresql://postgres@{hosts}/postgres?target_session_attrs=read-write"
            f"&application_name={WRITERS}&schema={self.schema}"
        )
        self.logs = [directory / f"writer-{n}.jsonl" for n in range(options.writers)]
        self.stop = SPAWN.Event()
        self.writers: list[multiprocessing.process.BaseProcess] = []
        self.crashed_at = self.promoted_at = 0.0

    def start_writers(self, accounts: Accounts) -> None:
        for n, log in enumerate(self.logs):
            plan = WriterPlan(
                self.store_url,
                accounts,
                n,
                self.options.writers,
                str(log),
                self.options.retries,
                echoes=self.options.echoes,
                shared_keys=self.options.kill_point != "commit_answer_implicit",
            )
            self.writers.append(SPAWN.Process(target=write, args=(plan, self.stop), name=f"writer-{n}"))
            self.writers[-1].start()

    def acknowledged(self, since: float = 0.0) -> dict[int, int]:
        """How many publishes each writer has seen acknowledged since ``since``."""
        counts = dict.fromkeys(range(self.options.writers), 0)
        for entry in read_logs(self.logs):
            if "outcome" in entry and "id" in entry and entry["at"] >= since:
                counts[entry["writer"]] += 1
        return counts

    def wait_for_writers(self, each: int, since: float = 0.0) -> None:
        def done() -> bool:
            dead = [f"{writer.name} ({writer.exitcode})" for writer in self.writers if not writer.is_alive()]
            assert not dead, f"writers died: {dead}"
            return min(self.acknowledged(since).values()) >= each

        wait_until(done, f"{each} acknowledgments per writer")

    @contextlib.contextmanager
    def primary(self) -> Iterator[Connection]:
        """A connection to the primary, which may die with it while in use."""
        connection = psycopg.connect(self.cluster.primary.url, autocommit=True)
        try:
            yield connection
        finally:
            connection.close()

    def crash(self) -> None:
        self.crashed_at = time.time()  # the crash freezes every process of the primary at once, from here
        self.cluster.primary.crash()

    def finish_writers(self) -> None:
        self.stop.set()
        deadline = time.monotonic() + WAIT * 2
        for writer in self.writers:
            writer.join(max(0.0, deadline - time.monotonic()))
        stuck = [writer.name for writer in self.writers if writer.is_alive()]
        assert not stuck, f"writers still running long after being stopped: {stuck}"
        assert all(writer.exitcode == 0 for writer in self.writers), [w.exitcode for w in self.writers]

    def close(self) -> None:
        self.stop.set()
        for writer in self.writers:
            if writer.is_alive() and writer.pid is not None:
                os.kill(writer.pid, signal.SIGKILL)
            writer.join(10)
        if self.relay is not None:
            self.relay.close()


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s in vain for {what}")
        time.sleep(0.02)


def count(connection: Connection, sql: str, *parameters: object) -> int:
    row = connection.execute(sql, parameters).fetchone()
    return int(row[0]) if row else 0


def crash_at_random(run: Run) -> None:
    time.sleep(random.uniform(0.1, 0.6))
    run.crash()


def crash_when_every_writer_waits(run: Run, watcher: Connection, sql: str, parameter: object, what: str) -> None:
    """Crash once some writer waits where ``sql`` counts and every writer waits somewhere: there, or behind the
    lock of a key the first holds (or, as their commits wait, for the standby)."""
    blocked = (
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
        "AND (wait_event_type = 'Lock' OR wait_event = 'SyncRep')"
    )
    wait_until(
        lambda: count(watcher, sql, parameter) >= 1 and count(watcher, blocked, WRITERS) >= run.options.writers,
        f"{what}, and every writer waiting",
    )
    run.crash()


def crash_in_view_read(run: Run) -> None:
    with run.primary() as holder, run.primary() as watcher:
        holder.execute("BEGIN")
        holder.execute(f'LOCK TABLE "{run.schema}".channels IN ACCESS EXCLUSIVE MODE')
        waiting = "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted"
        crash_when_every_writer_waits(run, watcher, waiting, f'"{run.schema}".channels', "a writer in its view's read")


def crash_in_commit_pipeline(run: Run) -> None:
    outbox = f"{Statements(run.schema).lock_prefix}outbox"
    with run.primary() as holder, run.primary() as watcher:
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (outbox,))
        waiting = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND mode = 'ShareLock' "
            "AND (classid::bigint << 32 | objid::bigint) = hashtextextended(%s, 0)"
        )
        crash_when_every_writer_waits(run, watcher, waiting, outbox, "a commit pipeline waiting for the outbox")


def frozen_wal_sender(run: Run) -> int:
    with run.primary() as connection:
        row = connection.execute("SELECT pid FROM pg_stat_replication").fetchone()
    assert row is not None, "no WAL sender"
    pid = int(row[0])
    os.kill(pid, signal.SIGSTOP)
    return pid


def crash_in_replication_wait(run: Run) -> None:
    frozen_wal_sender(run)
    with run.primary() as watcher:
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = %s"
        crash_when_every_writer_waits(run, watcher, waiting, "SyncRep", "a commit waiting for the standby")


def crash_before_commit_answer(run: Run, *, implicit: bool = False) -> None:
    assert run.relay is not None
    run.relay.hold_next_commit_answer(re.compile(rb"w[0-9]+-[0-9]+"), implicit=implicit)  # a publish's idempotency id
    wait_until(run.relay.held.is_set, "a commit whose answer the relay holds")
    run.crash()


def crash_with_lag(run: Run) -> None:
    frozen_wal_sender(run)
    frozen_at = time.time()
    wait_until(lambda: sum(run.acknowledged(frozen_at).values()) >= 10, "acknowledgments the standby has not seen")
    run.crash()


KILL_POINTS: dict[str, Callable[[Run], None]] = {
    "random": crash_at_random,
    "view_read": crash_in_view_read,
    "commit_pipeline": crash_in_commit_pipeline,
    "replication_wait": crash_in_replication_wait,
    "commit_answer": crash_before_commit_answer,
    "commit_answer_implicit": partial(crash_before_commit_answer, implicit=True),
    "lag": crash_with_lag,
}


def run_failover(options: Options, directory: Path) -> Figures:
    """One failover run; its figures, or AssertionError naming every problem the check found."""
    figures = Figures(options.kill_point, options.synchronous)
    with ReplicatedCluster(synchronous=options.synchronous) as cluster:
        run = Run(cluster, options, directory)
        try:
            accounts = set_up(run.store_url)
            if options.drop_idempotency_index:
                with run.primary() as connection:
                    connection.execute(f'DROP INDEX "{run.schema}".messages_one_per_idempotency_id')
            run.start_writers(accounts)
            run.wait_for_writers(options.warm_up)
            KILL_POINTS[options.kill_point](run)
            time.sleep(options.detection_delay)
            run.promoted_at = cluster.standby.promote()
            run.wait_for_writers(options.after_promotion, since=run.promoted_at)
            run.finish_writers()
            entries = read_logs(run.logs)
            new_primary = cluster.standby.url
            with psycopg.connect(new_primary, autocommit=True) as connection:
                stored = stored_messages(connection, run.schema)
            problems = verdicts(entries, stored, figures, lossless=options.synchronous)
            if not options.synchronous:
                # What was lost is counted above; after the re-delivery nothing may be missing or doubled.
                entries += repair(run, accounts, entries, figures)
                with psycopg.connect(new_primary, autocommit=True) as connection:
                    stored = stored_messages(connection, run.schema)
                repaired = Figures(options.kill_point, options.synchronous)
                problems = verdicts(entries, stored, repaired, lossless=False)
                figures.duplicated = repaired.duplicated
            problems += check_store(new_primary, run.schema, entries, lossless=options.synchronous)
            if run.relay is not None and run.relay.withheld is not None:
                figures.withheld = run.relay.withheld.decode()
                problems += told_after_crash(entries, figures.withheld, run.crashed_at)
            timings(entries, figures, run.crashed_at, run.promoted_at)
        except BaseException:
            print(cluster.logs())
            raise
        finally:
            run.close()
    assert not problems, f"the failover check failed ({figures}):\n" + "\n".join(problems[:40])
    return figures


def told_after_crash(entries: list[Entry], idempotency_id: str, crashed_at: float) -> list[str]:
    """The message whose COMMIT answer was withheld: its writer must have been told after all, after the crash
    (by the settling of the lost commit on the new primary, or by sending it again)."""
    if any(entry.get("id") == idempotency_id and "outcome" in entry and entry["at"] > crashed_at for entry in entries):
        return []
    return [f"{idempotency_id}, whose COMMIT answer was withheld, was not acknowledged after the crash"]


def repair(run: Run, accounts: Accounts, entries: list[Entry], figures: Figures) -> list[Entry]:
    """Re-deliver every message acknowledged before the promotion, as an integration that knows replication is
    asynchronous re-sends what it sent shortly before a failover; the re-delivery's own log entries."""
    before = sorted(
        (entry for entry in entries if "id" in entry and "outcome" in entry and entry["at"] < run.promoted_at),
        key=lambda entry: float(entry["at"]),
    )
    log = run.directory / "repair.jsonl"
    redeliver(run.store_url, accounts, dict.fromkeys(entry["id"] for entry in before), log)
    repaired = read_logs([log])
    figures.repaired = sum(1 for entry in repaired if entry.get("outcome") not in (None, "DUPLICATE"))
    return repaired
