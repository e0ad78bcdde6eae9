"""The memory store's paged reads (``reads``): HubSpot's lists, filtered and paged as a SQL store pages them.

A part of :class:`~threading_engine.backends.memory.MemoryRepository`, kept in a module of its own: the store's
writes and the view's lookups in one module, its lists in this one.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from typing import TypeVar

from ..model import Channel, ChannelAccount, Message, Thread
from ..reads import AccountFilter, Page, ThreadFilter, page_of
from .listing import account_held, thread_held


class MemoryPages:
    """The paged reads over the memory store's dictionaries, under its lock."""

    _lock: threading.RLock
    _channels: dict[str, Channel]
    _accounts: dict[str, ChannelAccount]
    _threads: dict[str, Thread]
    _messages: dict[str, Message]
    _thread_messages: dict[str, list[str]]

    def page_channels(self, after: str | None, limit: int) -> Page[Channel]:
        with self._lock:
            channels = self._channels
            return page_of(_after(list(channels.values()), after, channels), limit, _id_of, len(channels))

    def page_accounts(self, where: AccountFilter, after: str | None, limit: int) -> Page[ChannelAccount]:
        with self._lock:
            held = [account for account in self._accounts.values() if account_held(where, account)]
            return page_of(_after(held, after, self._accounts), limit, _id_of, len(held))

    def page_threads(self, where: ThreadFilter, after: str | None, limit: int, newest_first: bool) -> Page[Thread]:
        with self._lock:
            accounts = self._accounts
            held = [
                thread
                for thread in self._threads.values()
                if thread_held(where, thread, accounts[thread.channel_account_id])
            ]
            if newest_first:
                held.reverse()
            return page_of(_after(held, after, self._threads, newest_first), limit, _id_of)

    def page_messages(self, thread_id: str, after: str | None, limit: int, newest_first: bool) -> Page[Message]:
        with self._lock:  # the thread's own index of its messages, in the order stored
            ids = self._thread_messages.get(thread_id, [])
            ordered = reversed(ids) if newest_first else iter(ids)
            if after is not None:
                if after not in ids:
                    return Page(results=())
                ordered = itertools.dropwhile(lambda message_id: message_id != after, ordered)
                next(ordered)
            wanted = [self._messages[message_id] for message_id in itertools.islice(ordered, limit + 1)]
            return page_of(wanted, limit, _id_of)


def _id_of(value: Channel | ChannelAccount | Thread | Message) -> str:
    return value.id


_V = TypeVar("_V", Channel, ChannelAccount, Thread)


def _after(held: list[_V], after: str | None, stored: Mapping[str, object], newest_first: bool = False) -> list[_V]:
    """What follows the item ``after`` names, in the store's creation order (or before it, newest first), as a
    SQL store's ``seq`` comparison gives it: nothing if the store holds no such item; the item itself need not
    be in ``held``."""
    if after is None:
        return held
    if after not in stored:
        return []
    order = {value_id: position for position, value_id in enumerate(stored)}
    mark = order[after]
    if newest_first:
        return [value for value in held if order[value.id] < mark]
    return [value for value in held if order[value.id] > mark]
