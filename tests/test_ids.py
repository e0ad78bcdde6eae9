"""The default id factories make UUIDv7 ids: unique, and ordered by the millisecond they were made in."""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from threading_engine import HubSpotIds, SequentialIds, UniqueIds, cli, unique_id
from threading_engine.ids import SpareIds


def _uuid(made: str, kind: str) -> uuid.UUID:
    prefix, _, digits = made.partition("-")
    assert prefix == kind and len(digits) == 32
    return uuid.UUID(hex=digits)


def test_an_id_is_its_kind_and_a_uuid7_of_the_millisecond_it_was_made_in() -> None:
    before = time.time_ns() // 1_000_000
    made = _uuid(unique_id("thread"), "thread")
    after = time.time_ns() // 1_000_000
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert before <= made.int >> 80 <= after


def test_ids_made_at_once_are_all_distinct() -> None:
    made = [unique_id("message") for _ in range(10_000)]
    assert len(set(made)) == len(made)


def test_an_id_made_in_a_later_millisecond_sorts_after() -> None:
    """What keeps a SQL store's unique indexes growing at their end."""
    made = []
    for _ in range(20):
        made.append(unique_id("event"))
        time.sleep(0.002)
    assert made == sorted(made)


def test_a_factory_counts_up_within_a_millisecond_and_starts_afresh_in_the_next() -> None:
    """``UniqueIds``: strictly increasing ids, and fresh randomness for every millisecond."""
    now = [1_767_225_600_000 * 1_000_000]
    ids = UniqueIds(now_ns=lambda: now[0])
    first = [ids("message") for _ in range(1_000)]
    assert first == sorted(first) and len(set(first)) == len(first)
    made = [_uuid(each, "message") for each in first]
    assert {(each.version, each.variant, each.int >> 80) for each in made} == {(7, uuid.RFC_4122, now[0] // 10**6)}
    random_parts = [(each.int >> 64 & 0xFFF) << 62 | each.int & (1 << 62) - 1 for each in made]
    assert [b - a for a, b in itertools.pairwise(random_parts)] == [1] * 999
    now[0] += 1_000_000
    later = ids("message")
    assert later > first[-1] and _uuid(later, "message").int >> 80 == now[0] // 10**6


def test_factories_in_the_same_millisecond_draw_apart() -> None:
    now = lambda: 1_767_225_600_000 * 1_000_000  # noqa: E731
    assert UniqueIds(now_ns=now)("thread") != UniqueIds(now_ns=now)("thread")


def test_threads_sharing_a_factory_never_draw_the_same_id() -> None:
    ids = UniqueIds()
    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(lambda _: [ids("event") for _ in range(5_000)], range(8)))
    made = [each for batch in batches for each in batch]
    assert len(set(made)) == len(made) == 40_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_count_on_from_its_parents_start() -> None:
    """Parent and child in the same millisecond would otherwise make the same ids."""
    now = lambda: 1_767_225_600_000 * 1_000_000  # noqa: E731
    ids = UniqueIds(now_ns=now)
    ids("message")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which coverage does not follow
        os.write(write, ids("message").encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    from_child = os.read(read, 100).decode()
    os.close(read)
    assert status == 0
    assert from_child != ids("message")


def test_hubspot_ids_are_numeric_for_objects_and_hex_for_messages_and_ordered_by_time() -> None:
    """Issue: HubSpot-shaped ids. HubSpot's channel, account, thread and ticket ids are integers; its message
    ids are 32 hex digits."""
    now = [1_767_225_600_000 * 1_000_000]
    ids = HubSpotIds(now_ns=lambda: now[0])
    threads = [ids("thread") for _ in range(1_000)]
    assert all(made.isdigit() and int(made) < 2**63 for made in threads)
    assert [int(made) for made in threads] == sorted({int(made) for made in threads})  # distinct, increasing
    assert {int(made) >> 22 for made in threads} == {now[0] // 10**6}  # the millisecond it was made in
    message = ids("message")
    assert len(message) == 32 and int(message, 16) >> 80 == now[0] // 10**6
    now[0] += 1_000_000
    assert int(ids("channel")) > int(threads[-1])


def test_a_replay_with_hubspot_ids_stores_and_answers_them(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "support-line.jsonl"
    out = tmp_path / "out.jsonl"
    assert cli.main(["replay", str(example), "--ids", "hubspot", "--quiet", "--out", str(out)]) == 0
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(result["ok"] for result in results if result["line"] <= 3)
    thread_ids = {result["threadId"] for result in results if result.get("threadId")}
    message_ids = {result["messageId"] for result in results if result.get("messageId")}
    assert thread_ids and all(thread_id.isdigit() for thread_id in thread_ids)
    assert message_ids and all(len(message_id) == 32 for message_id in message_ids)


def test_ids_of_an_attempt_that_stored_nothing_are_handed_out_again_in_order() -> None:
    spares = SpareIds()
    sequential = SequentialIds()
    first = spares.drawing(sequential)
    assert [first("message"), first("event"), first("event")] == ["message-1", "event-1", "event-2"]
    first.give_back()  # a stale remembered view: nothing was stored
    again = spares.drawing(sequential)
    assert [again("event"), again("thread"), again("message"), again("event")] == [
        "event-1",
        "thread-1",
        "message-1",
        "event-2",
    ]
    assert [spares.drawing(sequential)(kind) for kind in ("event", "message")] == ["event-3", "message-2"]


def test_spare_ids_are_handed_out_first_by_a_factory_kept_while_its_source_stays() -> None:
    """What an engine draws from after a message decided again gave its ids back (``deferred.py``): the spares
    first, in the order drawn, then its own factory's; one factory while ``engine.ids`` stays the same."""
    spares, sequential = SpareIds(), SequentialIds()
    spares.give_back([("message", "message-7"), ("event", "event-8"), ("event", "event-9")])
    assert spares.count == 3
    first = spares.first(sequential, lambda: sequential)
    assert spares.first(sequential, lambda: sequential) is first
    made = [first("event"), first("message"), first("message"), first("event"), first("event")]
    assert made == ["event-8", "message-7", "message-1", "event-9", "event-1"]
    assert spares.count == 0
    other = SequentialIds()
    assert spares.first(other, lambda: other) is not first
