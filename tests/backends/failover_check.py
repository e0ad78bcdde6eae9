"""The check after a failover, run on the new primary: what every writer was told against what the store holds.

In the manner of Jepsen: the writers' logs are the history, the store the final state. :func:`verdicts`
compares them message by message:

- a message a writer saw acknowledged is stored exactly once, as the message id it was told (with
  ``lossless``; without, only the last acknowledgment must hold, and the ones that did not are counted lost);
- a message whose outcome no writer learned is stored at most once;
- every message, close and archive a writer began was acknowledged in the end (the writers retry until told),
  and no message was refused.

:func:`check_store` then checks the store itself: R1 and I1 with SQL, every integration message on its
conversation's thread, the outbox folded into exactly the stored threads, tickets and messages with its
sequence increasing (``assert_store_is_consistent``), every acknowledged event in it, and the database itself
refusing a second message for an idempotency id, a second open thread for a key and a second live thread for a
conversation (U1-U3), whatever a writer that bypassed the engine's locks might try.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from threading_engine.backends.postgres import PostgresRepository

from .conftest import assert_store_is_consistent
from .failover_workload import Entry

PUBLISHED = ("CREATED", "APPENDED", "REOPENED", "DUPLICATE")


@dataclass
class Figures:
    """What one failover run did, from the writers' logs and the final store."""

    kill_point: str
    synchronous: bool
    writers: int = 0
    messages: int = 0  # distinct messages the writers began
    acknowledged: int = 0  # distinct messages some writer was told were stored
    lost: int = 0  # acknowledged, then not in the store as acknowledged (before any repair)
    duplicated: int = 0  # stored more than once
    unknown: int = 0  # attempts (publishes, closes, archives) whose outcome the writer did not learn (StorageError)
    retries: int = 0  # attempts that sent a command again after an unknown outcome
    retries_found_stored: int = 0  # ... and were answered DUPLICATE or UNCHANGED: the unknown attempt had been stored
    rode_through: int = 0  # sent before the crash, acknowledged after the promotion, no error on the way
    repaired: int = 0  # messages an integration's re-delivery stored again after an asynchronous failover
    outage: float = 0.0  # seconds from the crash to the promoted standby
    first_acknowledgment: float = 0.0  # seconds from the crash to the new primary's first acknowledgment
    all_writers_back: float = 0.0  # seconds from the crash until every writer had been acknowledged again
    withheld: str = ""  # the message whose COMMIT answer the relay withheld (kill point commit_answer)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summary(runs: list[Figures]) -> str:
    """One line for the README: the counts summed over ``runs``, the times' median and worst."""
    counted = ("acknowledged", "lost", "duplicated", "unknown", "retries", "retries_found_stored", "rode_through")
    totals = {name: sum(getattr(run, name) for run in runs) for name in (*counted, "repaired")}
    times = {}
    for name in ("outage", "first_acknowledgment", "all_writers_back"):
        values = sorted(getattr(run, name) for run in runs)
        times[name] = f"{values[len(values) // 2]:.2f} s (worst {values[-1]:.2f} s)"
    first = runs[0]
    mode = "synchronous" if first.synchronous else "asynchronous"
    return f"{first.kill_point}, {mode}, {len(runs)} runs: {totals} {times}"


def stored_messages(connection: psycopg.Connection[Any], schema: str) -> dict[str, list[str]]:
    """The ids of the stored messages, by idempotency id."""
    found: dict[str, list[str]] = defaultdict(list)
    for idempotency_id, message_id in connection.execute(
        f'SELECT idempotency_id, id FROM "{schema}".messages ORDER BY seq'
    ):
        found[idempotency_id].append(message_id)
    return found


def verdicts(entries: list[Entry], stored: dict[str, list[str]], figures: Figures, *, lossless: bool) -> list[str]:
    """Compare the history with the stored messages; fill in ``figures``; the problems found."""
    acknowledged: dict[str, list[Entry]] = defaultdict(list)
    began: set[str] = set()
    changes: dict[str, bool] = {}  # each close or archive begun: whether its writer was told the outcome
    problems = []
    for entry in entries:
        if "change" in entry:
            answered = "outcome" in entry or "rejected" in entry  # a refusal is an answer too (an archived thread)
            changes[entry["change"]] = changes.get(entry["change"], False) or answered
        if "id" not in entry:
            continue
        began.add(entry["id"])
        if entry.get("outcome") in PUBLISHED:
            acknowledged[entry["id"]].append(entry)
        elif "rejected" in entry:
            problems.append(f"{entry['id']} was refused ({entry['rejected']})")
    for idempotency_id in sorted(began):
        copies = stored.get(idempotency_id, [])
        if len(copies) > 1:
            figures.duplicated += 1
            problems.append(f"{idempotency_id} is stored {len(copies)} times: {copies}")
        told = acknowledged.get(idempotency_id)
        if not told:
            problems.append(f"{idempotency_id} was never acknowledged (stored {len(copies)} times)")
            continue
        if any(entry["message"] not in copies for entry in told):
            figures.lost += 1
        must_hold = told if lossless else [max(told, key=lambda entry: float(entry["at"]))]
        for entry in must_hold:
            if entry["message"] not in copies:
                problems.append(f"{idempotency_id} was acknowledged as {entry['message']} but the store has {copies}")
    problems += [
        f"{change} (a close or an archive) was never acknowledged"
        for change, answered in changes.items()
        if not answered
    ]
    strangers = set(stored) - began
    if strangers:
        problems.append(f"stored messages no writer sent: {sorted(strangers)[:5]}")
    figures.messages, figures.acknowledged = len(began), len(acknowledged)
    return problems


def timings(entries: list[Entry], figures: Figures, crashed_at: float, promoted_at: float) -> None:
    """Fill in the counts of attempts and the times to recover."""
    attempts = [entry for entry in entries if "attempt" in entry and entry.get("writer") != "repair"]
    figures.writers = len({entry["writer"] for entry in attempts})
    figures.unknown = sum(1 for entry in attempts if "error" in entry)
    figures.retries = sum(1 for entry in attempts if entry["attempt"] > 1)
    answered = [entry for entry in attempts if "outcome" in entry]
    found = ("DUPLICATE", "UNCHANGED")  # what a command says when sent again after it took effect
    figures.retries_found_stored = sum(1 for e in answered if e["attempt"] > 1 and e["outcome"] in found)
    figures.rode_through = sum(
        1 for e in answered if e["attempt"] == 1 and e["sent"] < crashed_at < promoted_at < e["at"]
    )
    # An answer that arrives between the crash and the promotion left the old primary before it died.
    first_back: dict[Any, float] = {}
    for entry in answered:
        if entry["at"] >= promoted_at:
            first_back[entry["writer"]] = min(first_back.get(entry["writer"], entry["at"]), entry["at"])
    figures.outage = promoted_at - crashed_at
    if first_back:
        figures.first_acknowledgment = min(first_back.values()) - crashed_at
        figures.all_writers_back = max(first_back.values()) - crashed_at


def check_store(url: str, schema: str, entries: list[Entry], *, lossless: bool) -> list[str]:
    """The store's own invariants on the server at ``url``; the problems found (assertion failures raise)."""
    problems = []
    with psycopg.connect(url, autocommit=True) as connection:
        s = f'"{schema}"'
        for account, key, count in connection.execute(
            f"SELECT account_id, key, count(*) FROM {s}.threads WHERE status = 'OPEN' AND archived = 0 "
            "AND integration_thread_id IS NULL GROUP BY account_id, key HAVING count(*) > 1"
        ):
            problems.append(f"R1: key {key} of {account} has {count} open threads")
        for account, conversation, count in connection.execute(
            f"SELECT account_id, integration_thread_id, count(*) FROM {s}.threads WHERE archived = 0 "
            "AND integration_thread_id IS NOT NULL GROUP BY account_id, integration_thread_id HAVING count(*) > 1"
        ):
            problems.append(f"I1: conversation {conversation} of {account} has {count} live threads")
        problems.extend(refusals(connection, schema))
    repository = PostgresRepository(url, schema=schema, max_size=1)
    try:
        assert_store_is_consistent(repository)
        threads = {thread.id: thread for thread in repository.list_threads()}
        for stored in repository.list_messages():
            if stored.integration_thread_id is not None:
                conversation = threads[stored.thread_id].integration_thread_id
                if conversation != stored.integration_thread_id:
                    problems.append(f"I1: {stored.id} about {stored.integration_thread_id} is on {conversation}")
        outbox = {record.event_id for record in repository.read_events()}
    finally:
        repository.close()
    if lossless:
        missing = {event for entry in entries for event in entry.get("events", ()) if event not in outbox}
        if missing:
            problems.append(f"{len(missing)} acknowledged events are not in the outbox: {sorted(missing)[:5]}")
    return problems


def refusals(connection: psycopg.Connection[Any], schema: str) -> list[str]:
    """Whether the database itself refuses a second message, open thread or live conversation thread (U1-U3).

    Each probe writes two rows that only the unique index (or U1's exclusion constraint) tells apart, in a
    transaction rolled back after."""
    s = f'"{schema}"'
    thread = (
        f"INSERT INTO {s}.threads (id, account_id, key, status, archived, created_at, integration_thread_id) "
        "VALUES (%s, 'probe', 'key', %s, 0, 0, %s)"
    )
    message = (
        f"INSERT INTO {s}.messages (id, thread_id, account_id, idempotency_id, data) "
        "VALUES (%s, 't', 'probe', 'id', '')"
    )
    probes: dict[str, tuple[str, list[tuple[str | None, ...]]]] = {
        "a second message for an idempotency id (U2)": (message, [("m1",), ("m2",)]),
        "a second open thread for a key (U1)": (thread, [("t1", "OPEN", None), ("t2", "OPEN", None)]),
        "a second live thread for a conversation (U3)": (thread, [("t1", "OPEN", "c"), ("t2", "CLOSED", "c")]),
    }
    problems = []
    for what, (sql, rows) in probes.items():
        try:
            with connection.transaction(force_rollback=True):
                for row in rows:
                    connection.execute(sql, row)
        except (psycopg.errors.UniqueViolation, psycopg.errors.ExclusionViolation):
            continue  # U1 is an exclusion constraint (keys of any length), U2 and U3 unique indexes
        problems.append(f"the new primary accepted {what}")
    return problems
