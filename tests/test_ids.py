"""The default id factory makes UUIDv7 ids: unique, and ordered by the millisecond they were made in."""

from __future__ import annotations

import time
import uuid

from threading_engine import unique_id


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
