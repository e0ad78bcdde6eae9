"""Views a SQLite store remembers between transactions, so that a message on a busy key reads no view.

Most messages land on a key that has just had one, and the view of that key (its account, channel, open and
latest closed thread, with their tickets) is then exactly what the store holds after the last transaction that
touched it. :class:`ViewCache` keeps those views, the most recently used first, and a unit of work takes them
through :class:`UnitViews`, which keeps each one current with what the unit saves and hands the results to the
cache only once the unit has committed. Three facts make a remembered view exact:

- every write goes through a unit of work of this store, which tells the cache what it changed; a write by
  another connection (another process on the same file) moves SQLite's ``PRAGMA data_version``, and the store
  forgets every view when it sees that move, under the write lock, before it reads anything;
- a view is brought up to date from a save only when that is certain (the rules of ``view/updating.py``); any
  other save that concerns it drops it, as does a change to any channel or account;
- nothing of a unit that does not commit reaches the cache.

What is never remembered is whether a message with the command's idempotency id exists (D1): the store asks
for that on every message that has one, with a read far cheaper than the whole view.
"""

from __future__ import annotations

from collections import OrderedDict

from ..decisions import Changes, View, ViewQuery, ViewQueryByPosition
from .view.updating import appended_to_open_thread, apply_changes

# Views remembered by default: a few megabytes, and every key of a busy inbox's day.
DEFAULT_VIEW_CACHE_SIZE = 10_000

# A message on a remembered key is decided without asking whether its idempotency id is taken, the unique index
# asking when it is inserted (``repository.DeferringUnitOfWork``), only while at most one such id in
# DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN turns out taken. Under callgrind a message not asked about saves some 10,700
# instructions and a duplicate found by the index costs some 227,000 more (it is decided twice, and the insert
# fails): break-even at one in 22. The counts are halved every DUPLICATE_RATE_WINDOW messages, so the rate
# follows the traffic; they are counted whether or not the ids were asked about, so retries that stop are seen.
DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN = 32
DUPLICATE_RATE_WINDOW = 4_096

# A remembered view's identity: its account, and its key or its integration thread id (the other is None).
CacheKey = tuple[str, str | None, str | None]


def cache_key(query: ViewQuery) -> CacheKey | None:
    """Where the view of ``query`` is remembered, or ``None`` if it is not: only the views of messages (an
    account with a key or an integration thread id, and perhaps an idempotency id) are."""
    account_id, key, integration_thread_id = query.channel_account_id, query.key, query.integration_thread_id
    if (
        account_id is None
        or (key is None) == (integration_thread_id is None)
        or query.thread_id is not None
        or query.channel_id is not None
        or query.account_identifier is not None
        or query.message_id is not None
    ):
        return None
    return (account_id, key, integration_thread_id)


def _thread_place(account_id: str, key: str, integration_thread_id: str | None) -> CacheKey:
    """The remembered view a thread appears in: its integration thread id's, or else its key's."""
    if integration_thread_id is None:
        return (account_id, key, None)
    return (account_id, None, integration_thread_id)


class ViewCache:
    """The views of up to ``size`` keys as committed, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"view cache size {size} is negative")
        self.size = size
        self._views: OrderedDict[CacheKey, View] = OrderedDict()
        # ``PRAGMA data_version`` when the views were last known current; None before the first transaction.
        self.data_version: int | None = None
        # Messages with an idempotency id answered from a remembered view, and how many of those ids were taken
        # (see DEFERRED_WHILE_TAKEN_AT_MOST_ONE_IN).
        self.loads_with_id = 0
        self.ids_taken = 0

    def __len__(self) -> int:
        return len(self._views)

    def get(self, key: CacheKey) -> View | None:
        view = self._views.get(key)
        if view is not None:
            self._views.move_to_end(key)
        return view

    def check_version(self, data_version: int) -> None:
        """Forget everything if another connection has committed since the version last seen."""
        if data_version != self.data_version:
            self._views.clear()
            self.data_version = data_version

    def clear(self) -> None:
        self._views.clear()

    def apply(self, forget_all: bool, forgotten: set[CacheKey], current: dict[CacheKey, View]) -> None:
        """What a committed unit learnt: drop every view (or the views ``forgotten``), then keep ``current``."""
        views = self._views
        if forget_all:
            views.clear()
        else:
            for key in forgotten:
                views.pop(key, None)
        for key, view in current.items():
            views[key] = view
            views.move_to_end(key)
        while len(views) > self.size:
            views.popitem(last=False)


class UnitViews:
    """One unit of work's remembered views: the cache's, as changed by what the unit saved so far."""

    def __init__(self, cache: ViewCache) -> None:
        self._cache = cache
        # The cache's own views, read here directly: a lookup through ViewCache.get would add a call per message.
        self._remembered = cache._views
        # Views as they now are inside the unit (read, taken from the cache, or brought up to date).
        self._current: dict[CacheKey, View] = {}
        # Keys whose cached view the unit's saves have made stale, and whether every view is (a channel or an
        # account changed): the cache must not answer for them in this unit, and forgets them on commit.
        self._stale: set[CacheKey] = set()
        self._all_stale = False

    def get(self, key: CacheKey) -> View | None:
        """The view of ``key`` as a read would return it now (without a duplicate), if it is known."""
        view = self._current.get(key)
        if view is not None or self._all_stale or key in self._stale:
            return view
        view = self._remembered.get(key)
        if view is not None:
            self._remembered.move_to_end(key)  # as ViewCache.get: the least recently used is dropped first
            self._current[key] = view
        return view

    def loaded(self, key: CacheKey, view: View) -> None:
        """A view the unit read from the store (one without a duplicate: the store checks that)."""
        self._current[key] = view
        self._stale.discard(key)

    def saved(self, changes: Changes) -> None:
        """Keep every view ``changes`` concern up to date, or forget it where that is not certain."""
        if changes.channel is not None or changes.account is not None:
            self._forget_all()
            return
        threads = changes.threads
        if len(threads) == 1 and not changes.tickets:  # a message on a thread, nearly always: one view to update
            thread = threads[0]
            # _thread_place written out: this runs for every message.
            if thread.integration_thread_id is None:
                self._update((thread.channel_account_id, thread.key, None), changes)
            else:
                self._update((thread.channel_account_id, None, thread.integration_thread_id), changes)
            return
        thread_ids = {thread.id for thread in threads}
        if any(ticket.thread_id not in thread_ids for ticket in changes.tickets):
            self._forget_all()  # a ticket saved without its thread: which view shows that thread is not known here
            return
        for place in {_thread_place(t.channel_account_id, t.key, t.integration_thread_id) for t in threads}:
            self._update(place, changes)

    def _forget_all(self) -> None:
        self._all_stale = True
        self._current.clear()

    def _update(self, place: CacheKey, changes: Changes) -> None:
        view = self._current.pop(place, None)
        if view is None:
            self._stale.add(place)
            return
        # updated_view, whose query (made here) is needed only past its common case: a remembered view's query
        # has no idempotency id, so that case applies as it is.
        after = appended_to_open_thread(view, changes)
        if after is None:
            after = apply_changes(_query_of(place), view, changes)
        if after is None:
            self._stale.add(place)
        else:
            self._current[place] = after

    def committed(self) -> None:
        """The unit committed: what it knows replaces what the cache knew."""
        self._cache.apply(self._all_stale, self._stale, self._current)


def _query_of(key: CacheKey) -> ViewQuery:
    account_id, thread_key, integration_thread_id = key
    # By position (channel, account, thread, key, integration thread id): one is made for every message saved.
    return ViewQueryByPosition(None, account_id, None, thread_key, integration_thread_id)
