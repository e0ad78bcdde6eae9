"""Row shapes shared by the SQL backends: threads as columns, the rest as JSON documents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import codec
from ..codec import (
    account_from_primitive,
    channel_from_primitive,
    dumps,
    event_from_primitive,
    message_from_primitive,
    staging_token_from_primitive,
    to_primitive,
)
from ..events import EventRecord, EventRecordByPosition
from ..memos import Memo
from ..model import (
    Channel,
    ChannelAccount,
    Message,
    StagingToken,
    Thread,
    ThreadByPosition,
    ThreadStatus,
    Ticket,
    TicketStatus,
)
from ..repository import PendingEvent

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

THREAD_COLUMNS = (
    "id, account_id, key, status, archived, created_at, closed_at, integration_thread_id, ticket_id, latest_message_at"
)


def micros(moment: datetime | None) -> int | None:
    """A time as integer microseconds since the epoch: exact, and ordered correctly by SQL."""
    # One floor division of timedeltas: exact integer arithmetic, done in C.
    return None if moment is None else (moment - _EPOCH) // _MICROSECOND


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


_THREAD_STATUSES = {status.value: status for status in ThreadStatus}


def thread_from_row(row: Sequence[Any], start: int = 0) -> Thread:
    """The thread in the ten :data:`THREAD_COLUMNS` of ``row`` from index ``start`` on."""
    (
        thread_id,
        account_id,
        key,
        status,
        archived,
        created_at,
        closed_at,
        integration_thread_id,
        ticket_id,
        latest_message_at,
    ) = row[start : start + 10]
    # By position (checked at import), and the times converted inline: this runs for every thread read.
    return ThreadByPosition(
        thread_id,
        account_id,
        key,
        _EPOCH + timedelta(microseconds=created_at),
        _THREAD_STATUSES[status],
        bool(archived),
        None if closed_at is None else _EPOCH + timedelta(microseconds=closed_at),
        integration_thread_id,
        ticket_id,
        None if latest_message_at is None else _EPOCH + timedelta(microseconds=latest_message_at),
    )


def ticket_from_row(row: Sequence[Any]) -> Ticket:
    return Ticket(id=row[0], thread_id=row[1], status=TicketStatus(row[2]))


def channel_json(channel: Channel) -> str:
    return dumps(to_primitive(channel))


def channel_from_json(data: str) -> Channel:
    return channel_from_primitive(json.loads(data))


def account_json(account: ChannelAccount) -> str:
    return dumps(to_primitive(account))


def account_from_json(data: str) -> ChannelAccount:
    return account_from_primitive(json.loads(data))


def staging_token_json(token: StagingToken) -> str:
    return dumps(to_primitive(token))


def staging_token_from_json(data: str) -> StagingToken:
    return staging_token_from_primitive(json.loads(data))


def message_json(message: Message) -> str:
    return codec.message_json(message)


def message_from_json(data: str) -> Message:
    return message_from_primitive(json.loads(data))


def event_json(pending: PendingEvent) -> str:
    """The stored form of an event: the event's fields plus its id and time."""
    return codec.event_json(pending.event_id, pending.timestamp, pending.event)


def event_from_row(sequence: int, data: str) -> EventRecord:
    stored = json.loads(data)
    return EventRecordByPosition(
        sequence, stored["event_id"], datetime.fromisoformat(stored["timestamp"]), event_from_primitive(stored["event"])
    )


class Documents:
    """The channel and account documents one store has decoded, remembered by their exact text.

    Every view loads its account and channel, whose documents rarely change: a changed document is simply
    different text (nothing to invalidate), and the values are frozen, so sharing one between views is safe.
    Each store owns one; at most ``limit`` of each kind are kept (see ``memos.Memo``).
    """

    __slots__ = ("_accounts", "_channels")

    def __init__(self, limit: int = 4096) -> None:
        self._channels: Memo[str, Channel] = Memo(limit)
        self._accounts: Memo[str, ChannelAccount] = Memo(limit)

    def channel(self, data: str) -> Channel:
        found = self._channels.get(data)
        return found if found is not None else self._channels.remember(data, channel_from_json(data))

    def account(self, data: str) -> ChannelAccount:
        found = self._accounts.get(data)
        return found if found is not None else self._accounts.remember(data, account_from_json(data))
