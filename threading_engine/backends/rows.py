"""Row shapes shared by the SQL backends: threads as columns, the rest as JSON documents."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..codec import (
    account_from_primitive,
    channel_from_primitive,
    dumps,
    event_from_primitive,
    message_from_primitive,
    to_primitive,
)
from ..events import EventRecord
from ..model import Channel, ChannelAccount, Message, Thread, ThreadStatus, Ticket, TicketStatus
from ..repository import PendingEvent

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

THREAD_COLUMNS = (
    "id, account_id, key, status, archived, created_at, closed_at, integration_thread_id, ticket_id, latest_message_at"
)


def micros(moment: datetime | None) -> int | None:
    """A time as integer microseconds since the epoch: exact, and ordered correctly by SQL."""
    if moment is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def thread_row(thread: Thread) -> tuple[Any, ...]:
    return (
        thread.id,
        thread.channel_account_id,
        thread.key,
        thread.status.value,
        int(thread.archived),
        micros(thread.created_at),
        micros(thread.closed_at),
        thread.integration_thread_id,
        thread.ticket_id,
        micros(thread.latest_message_at),
    )


def thread_from_row(row: Sequence[Any]) -> Thread:
    created_at = from_micros(row[5])
    assert created_at is not None
    return Thread(
        id=row[0],
        channel_account_id=row[1],
        key=row[2],
        status=ThreadStatus(row[3]),
        archived=bool(row[4]),
        created_at=created_at,
        closed_at=from_micros(row[6]),
        integration_thread_id=row[7],
        ticket_id=row[8],
        latest_message_at=from_micros(row[9]),
    )


def ticket_from_row(row: Sequence[Any]) -> Ticket:
    return Ticket(id=row[0], thread_id=row[1], status=TicketStatus(row[2]))


def channel_json(channel: Channel) -> str:
    return dumps(to_primitive(channel))


# Every view loads its account and channel, whose documents rarely change: decoding them is cached by their
# exact text, so a changed document is simply a different key (nothing to invalidate). The values are frozen,
# so sharing one between views is safe; the bound keeps the memory small however many accounts there are.
_DOCUMENT_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=_DOCUMENT_CACHE_SIZE)
def channel_from_json(data: str) -> Channel:
    return channel_from_primitive(json.loads(data))


def account_json(account: ChannelAccount) -> str:
    return dumps(to_primitive(account))


@functools.lru_cache(maxsize=_DOCUMENT_CACHE_SIZE)
def account_from_json(data: str) -> ChannelAccount:
    return account_from_primitive(json.loads(data))


def message_json(message: Message) -> str:
    return dumps(to_primitive(message))


def message_from_json(data: str) -> Message:
    return message_from_primitive(json.loads(data))


def event_json(pending: PendingEvent) -> str:
    """The stored form of an event: the event's fields plus its id and time."""
    data = to_primitive(pending.event)
    return dumps({"event_id": pending.event_id, "timestamp": pending.timestamp.isoformat(), "event": data})


def event_from_row(sequence: int, data: str) -> EventRecord:
    stored = json.loads(data)
    return EventRecord(
        sequence, stored["event_id"], datetime.fromisoformat(stored["timestamp"]), event_from_primitive(stored["event"])
    )
