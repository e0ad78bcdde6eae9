"""Reads with HubSpot's filters and paging: channels, a channel's accounts, threads and a thread's messages.

HubSpot pages every list the same way: ``limit`` items at most, and an opaque ``after`` cursor that names where
the next page starts (``paging.next.after``), absent on the last page. The engine's cursor is the id of the
last item of the page before, and every list is in creation order (or newest first where HubSpot sorts that
way), so a page never skips or repeats an item however the store grows between pages: new items go at the
end. A cursor that names nothing of the list gives an empty page.

Each store answers these with its own means (``Repository.page_*``): the SQL stores with one statement whose
WHERE, ORDER BY and LIMIT run on indexed columns, the memory store from its dictionaries. A page is read
outside any unit of work, like the other reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from .errors import ValidationError
from .identifiers import IdentifierType
from .model import Channel, ChannelAccount, Message, Thread, ThreadStatus
from .storable import MAX_EXTERNAL_ID_LENGTH, MAX_ID_LENGTH, has_surrogate, is_id, shown
from .validation import check_portal_id, check_reference, not_found

if TYPE_CHECKING:
    from .repository import Repository

_T = TypeVar("_T")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500  # HubSpot's lists answer at most 500 at a time
_MAX_FILTER_VALUES = 100


@attrs.frozen
class Page(Generic[_T]):
    """One page of a list: its ``results``; ``after``, the cursor of the next page (``None`` on the last);
    ``total``, how many items all pages hold together, where HubSpot's collection has one (channels, accounts)."""

    results: tuple[_T, ...]
    after: str | None = None
    total: int | None = None


@attrs.frozen
class AccountFilter:
    """Which accounts a list holds: HubSpot's filters, and the portal (P1) and channel it is scoped to.

    ``archived`` ``None`` holds both; an empty tuple filters nothing; several values match any of them.
    """

    channel_ids: tuple[str, ...] = ()
    portal_id: str | None = None
    archived: bool | None = None
    identifier_types: tuple[IdentifierType, ...] = ()
    identifier_values: tuple[str, ...] = ()
    inbox_ids: tuple[str, ...] = ()


@attrs.frozen
class ThreadFilter:
    """Which threads a list holds: Conversations v3's filters and the portal (P1) it is scoped to.

    ``key`` is HubSpot's ``associatedContactId`` (the engine's name for the visitor, R0), ``ticket_id`` its
    ``associatedTicketId``, ``latest_message_after`` its ``latestMessageTimestampAfter`` (strictly after).
    """

    portal_id: str | None = None
    channel_account_id: str | None = None
    status: ThreadStatus | None = None
    archived: bool | None = None
    inbox_ids: tuple[str, ...] = ()
    key: str | None = None
    ticket_id: str | None = None
    latest_message_after: datetime | None = None


def page_of(found: Sequence[_T], limit: int, id_of: Callable[[_T], str], total: int | None = None) -> Page[_T]:
    """The page a store read as ``limit + 1`` items: the extra one only tells that a next page exists."""
    results = tuple(found[:limit])
    after = id_of(results[-1]) if len(found) > limit and results else None
    return Page(results=results, after=after, total=total)


def check_paging(after: object, limit: object) -> tuple[str | None, int]:
    """``after`` (``None`` or a cursor the engine gave) and ``limit`` (1 to 500), or a ValidationError."""
    if not (isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit <= MAX_PAGE_SIZE):
        raise ValidationError(
            f"limit {shown(limit)} is not a whole number from 1 to {MAX_PAGE_SIZE}", field="limit", value=limit
        )
    if after is not None and not is_id(after):
        raise ValidationError(
            f"after {shown(after)} is not a cursor this engine gave (at most {MAX_ID_LENGTH} characters)",
            field="after",
            value=after,
        )
    return after, limit  # type: ignore[return-value]  # is_id checked it is a string


def _items(values: object, field: str) -> tuple[object, ...]:
    """``values`` as a tuple of at most 100 items; a string, or anything but a list or tuple, is refused."""
    if not isinstance(values, list | tuple) or len(values) > _MAX_FILTER_VALUES:
        raise ValidationError(
            f"{field} {shown(values)} is not a list of at most {_MAX_FILTER_VALUES} values", field=field, value=values
        )
    return tuple(values)


def _texts(values: object, field: str) -> tuple[str, ...]:
    found = _items(values, field)
    if not all(isinstance(v, str) and is_id(v) for v in found):
        raise ValidationError(
            f"{field} {shown(found)} is not a list of at most {_MAX_FILTER_VALUES} ids", field=field, value=found
        )
    return found  # type: ignore[return-value]  # every item was checked to be a string


def _optional_id(value: object, field: str) -> str | None:
    if value is not None and not is_id(value):
        raise ValidationError(f"{field} {shown(value)} is not an id", field=field, value=value)
    return value  # type: ignore[return-value]  # is_id checked it is a string


def _optional_flag(value: object, field: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{field} {shown(value)} is not true, false or None", field=field, value=value)
    return value


def check_account_filter(where: object) -> AccountFilter:
    if not isinstance(where, AccountFilter):
        raise ValidationError(f"filter {shown(where)} is not an AccountFilter", field="filter", value=where)
    types = _items(where.identifier_types, "deliveryIdentifierType")
    for item in types:
        if not isinstance(item, IdentifierType):
            raise ValidationError(
                f"deliveryIdentifierType {shown(item)} is not one of {', '.join(IdentifierType.__members__)}",
                field="deliveryIdentifierType",
                value=item,
            )
    values = _items(where.identifier_values, "deliveryIdentifierValue")
    if not all(isinstance(v, str) and len(v) <= MAX_EXTERNAL_ID_LENGTH and not has_surrogate(v) for v in values):
        raise ValidationError(
            f"deliveryIdentifierValue {shown(values)} is not a list of identifier values",
            field="deliveryIdentifierValue",
            value=values,
        )
    return AccountFilter(
        channel_ids=_texts(where.channel_ids, "channelId"),
        portal_id=None if where.portal_id is None else check_portal_id(where.portal_id),
        archived=_optional_flag(where.archived, "archived"),
        identifier_types=types,  # type: ignore[arg-type]  # each item was checked to be an IdentifierType
        identifier_values=values,  # type: ignore[arg-type]  # each item was checked to be a string
        inbox_ids=_texts(where.inbox_ids, "inboxId"),
    )


def check_thread_filter(where: object) -> ThreadFilter:
    if not isinstance(where, ThreadFilter):
        raise ValidationError(f"filter {shown(where)} is not a ThreadFilter", field="filter", value=where)
    if where.status is not None and not isinstance(where.status, ThreadStatus):
        raise ValidationError(
            f"threadStatus {shown(where.status)} is not OPEN or CLOSED", field="threadStatus", value=where.status
        )
    after = where.latest_message_after
    return ThreadFilter(
        portal_id=None if where.portal_id is None else check_portal_id(where.portal_id),
        channel_account_id=_optional_id(where.channel_account_id, "channelAccountId"),
        status=where.status,
        archived=_optional_flag(where.archived, "archived"),
        inbox_ids=_texts(where.inbox_ids, "inboxId"),
        key=None if where.key is None else _key(where.key),
        ticket_id=_optional_id(where.ticket_id, "associatedTicketId"),
        latest_message_after=None if after is None else _moment(after),
    )


def _moment(value: object) -> datetime:
    if not (isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None):
        raise ValidationError(
            f"latestMessageTimestampAfter {shown(value)} is not a time with a time zone",
            field="latestMessageTimestampAfter",
            value=value,
        )
    return value


def _key(value: object) -> str:
    if not isinstance(value, str) or len(value) > 1_000_000 or has_surrogate(value):
        raise ValidationError(
            f"associatedContactId {shown(value)} is not a thread key", field="associatedContactId", value=value
        )
    return value


class ReadMethods:
    """The paged reads of :class:`~threading_engine.engine.Engine`; each checks its arguments (a
    ValidationError names the one that is wrong) and asks the store for one page."""

    repository: Repository

    def channels_page(self, *, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE) -> Page[Channel]:
        """Channels in creation order, with their ``total``."""
        cursor, size = check_paging(after, limit)
        return self.repository.page_channels(cursor, size)

    def accounts_page(
        self, where: AccountFilter | None = None, *, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[ChannelAccount]:
        """Accounts that ``where`` holds (all, without one), in creation order, with their ``total``."""
        cursor, size = check_paging(after, limit)
        return self.repository.page_accounts(check_account_filter(where or AccountFilter()), cursor, size)

    def threads_page(
        self,
        where: ThreadFilter | None = None,
        *,
        after: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        newest_first: bool = False,
    ) -> Page[Thread]:
        """Threads that ``where`` holds, archived ones as it says, in creation order or newest first."""
        cursor, size = check_paging(after, limit)
        checked = check_thread_filter(where or ThreadFilter())
        return self.repository.page_threads(checked, cursor, size, _optional_flag(newest_first, "newestFirst") is True)

    def messages_page(
        self, thread_id: str, *, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE, newest_first: bool = False
    ) -> Page[Message]:
        """A thread's messages in the order stored, or newest first; NOT_FOUND for a thread that is not."""
        cursor, size = check_paging(after, limit)
        newest = _optional_flag(newest_first, "newestFirst") is True
        thread = self.repository.get_thread(check_reference(thread_id, "threadId", "thread", None))
        if thread is None:
            raise not_found("threadId", thread_id, "thread", None)
        return self.repository.page_messages(thread.id, cursor, size, newest)
