"""Views a PostgreSQL store remembers between commands, so that a command on a key this process wrote costs one
round trip instead of two.

The views are SQLite's remembered views (``viewcache.cache_key`` says which queries have one; ``view.updated_view``
keeps them current after a save), each kept with the versions of the rows it was read from (see "Row versions"
in ``schema.py``). A unit of work answers a command's load from here without sending anything; its commit then
sends one pipeline, one transaction: the key's lock, the guard (``GUARD_KEY`` or ``GUARD_INTEGRATION``), the
writes and the events, committed by the pipeline's Sync (``unit.py``: no ``BEGIN``, no ``COMMIT``, so a failed
guard costs no ``ROLLBACK``). The guard fails the transaction unless every row the view was read from is
unchanged and the command's idempotency id is free, so a view that another process (or another connection of
this one) has made stale costs one wasted round trip, and the command is sent again at once on the
two-round-trip path. A batch's unit remembers nothing: it forgets the views of what it writes.

Where other writers share a key, most remembered views are stale by the time they are used, and a miss costs
three round trips where the plain path costs two. So each key, and the store as a whole, keeps a running hit
rate, and the one-round-trip path is taken only where both are at least :data:`HIT_RATE_TO_USE`. The rate keeps
being measured while the path is off: every read of a remembered key on the plain path compares what it finds
with what was remembered (a "would have hit"), at no cost in round trips, so the path comes back on where the
keys calm down.

Nothing here decides anything: a stale entry only costs a round trip, since the guard, not this cache, is what
makes a decision exact. Entries may therefore be written in any order by the threads of a process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

import attrs

from ...decisions import View, ViewQuery, ViewQueryByPosition
from ..view import shown_threads
from ..viewcache import CacheKey

# A row's version by (table, id): ("thread", id), ("ticket", id), ("account", id), ("channel", id).
Versions = dict[tuple[str, str], int]
VersionsRead = Mapping[tuple[str, str], int]

# Break-even: a hit costs one round trip, a miss three (the failed pipeline, then the plain path's two), the
# plain path two: above a hit rate of 1/2 the path pays in round trips. But a miss also costs the server an
# error and the key's lock taken twice, and with 4 processes on shared keys a threshold of 0.6 measured some 5%
# below the plain path (``python -m benchmarks --only processes``); at 0.75 the path stays off there.
HIT_RATE_TO_USE = 0.75
# How much one outcome moves a key's hit rate, and the store's (which sees every key's, so moves less for each).
KEY_WEIGHT = 0.5
STORE_WEIGHT = 1 / 8


@attrs.frozen
class Guard:
    """What the guard statement checks of a remembered view: the versions of its account and channel, and the
    thread its lookup finds (``id<US>version<US>ticket version``, ``None`` for none)."""

    account_id: str
    account_version: int
    channel_id: str
    channel_version: int
    thread: str | None


def guard_of(view: View, versions: VersionsRead) -> Guard | None:
    """The guard of ``view`` (a remembered view: one thread at most, of its key or integration thread id), or
    ``None`` when it cannot be remembered (no account or channel, or a row whose version is not known)."""
    account, channel = view.account, view.channel
    if account is None or channel is None:
        return None
    account_version = versions.get(("account", account.id))
    channel_version = versions.get(("channel", channel.id))
    if account_version is None or channel_version is None:
        return None
    shown = view.open_thread or view.latest_closed_thread or view.integration_thread
    thread = None
    if shown is not None:
        thread_version = versions.get(("thread", shown.id))
        ticket_version = None if shown.ticket_id is None else versions.get(("ticket", shown.ticket_id))
        if thread_version is None or (shown.ticket_id is not None and ticket_version is None):
            return None
        thread = f"{shown.id}\x1f{thread_version}\x1f{'' if ticket_version is None else ticket_version}"
    return Guard(
        account_id=account.id,
        account_version=account_version,
        channel_id=channel.id,
        channel_version=channel_version,
        thread=thread,
    )


def without_duplicate(view: View) -> View:
    """``view`` as a load without an idempotency id would return it: the rest of a view does not depend on it."""
    if view.duplicate is None and view.duplicate_thread is None:
        return view
    shown = attrs.evolve(view, duplicate=None, duplicate_thread=None)
    tickets = {t.ticket_id for t in shown_threads(shown) if t.ticket_id is not None}
    return attrs.evolve(shown, tickets={i: t for i, t in view.tickets.items() if i in tickets})


def own_versions(view: View, versions: VersionsRead, written: VersionsRead | None = None) -> Versions:
    """The versions of the rows ``view`` shows (its account, channel, threads and their tickets): from ``written``
    where a row is there (what a commit returned), else from ``versions`` (as read)."""
    wanted = [
        ("account", view.account.id if view.account else ""),
        ("channel", view.channel.id if view.channel else ""),
    ]
    for thread in shown_threads(view):
        wanted.append(("thread", thread.id))
        if thread.ticket_id is not None:
            wanted.append(("ticket", thread.ticket_id))
    found: Versions = {}
    for row in wanted:
        version = written.get(row) if written else None
        if version is None:
            version = versions.get(row)
        if version is not None:
            found[row] = version
    return found


def plain_query(key: CacheKey) -> ViewQuery:
    """The query whose view is remembered under ``key``: without an idempotency id (a remembered view has no
    duplicate, so it is the view of every message on the key whose idempotency id is free)."""
    account_id, thread_key, integration_thread_id = key
    # By position (channel, account, thread, key, integration thread id): one is made for every message saved.
    return ViewQueryByPosition(None, account_id, None, thread_key, integration_thread_id)


@attrs.define
class _Entry:
    # None: not known to be current (a guard failed, a rejection is being confirmed); the next plain read sets it.
    known: tuple[View, Versions, Guard] | None
    hit_rate: float = 1.0


class RememberedViews:
    """The views of up to ``size`` keys with the versions of their rows, least recently used dropped first, and
    the keys' and the store's running hit rates. Shared by the threads of a process: every method holds the lock."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"view cache size {size} is negative")
        self.size = size
        self.hit_rate = 1.0
        # Outcomes counted in the hit rates, on the one-round-trip path or, while it is off, as they would have been.
        self.hits = 0
        self.misses = 0
        # Loads answered from here (the one-round-trip path taken), and the guards of those that failed.
        self.answered = 0
        self.stale = 0
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def usable(self, key: CacheKey) -> tuple[View, Versions, Guard] | None:
        """The view of ``key``, its rows' versions and its guard, if the one-round-trip path is on for it."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.known is None:
                return None
            self._entries.move_to_end(key)
            if entry.hit_rate < HIT_RATE_TO_USE or self.hit_rate < HIT_RATE_TO_USE:
                return None
            self.answered += 1
            return entry.known

    def read(self, key: CacheKey, view: View, versions: VersionsRead, idempotency_taken: bool) -> None:
        """A plain read of ``key`` found ``view``: the remembered view would have hit if it was read from the same
        rows and the idempotency id was free. Remember what was read, without a duplicate it found."""
        guard = guard_of(view, versions)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.known is not None:
                self._count(entry, hit=guard is not None and guard == entry.known[2] and not idempotency_taken)
            self._put(key, entry, without_duplicate(view), versions, guard)

    def committed(
        self, key: CacheKey, view: View | None, read: VersionsRead, written: VersionsRead, *, guarded: bool
    ) -> None:
        """A unit that used the view of ``key`` committed; ``view`` is the key's as the commit left it (``None``:
        not known), its rows at the versions ``written`` returned or else as ``read``. ``guarded``: the view came
        from here and its guard passed, a hit."""
        versions = None if view is None else own_versions(view, read, written)
        guard = None if view is None or versions is None else guard_of(view, versions)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and guarded:
                self._count(entry, hit=True)
            self._put(key, entry, view, versions or {}, guard, own=True)

    def missed(self, key: CacheKey) -> None:
        """A guard failed: the view of ``key`` is stale, and the command goes the plain way."""
        with self._lock:
            self.stale += 1
            entry = self._entries.get(key)
            if entry is not None:
                self._count(entry, hit=False)
                entry.known = None

    def forget(self, keys: set[CacheKey]) -> None:
        """Whether the views of ``keys`` are current is not known (written by a unit that did not use them, a
        rejection to confirm, a lost COMMIT)."""
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.known = None

    def forget_all(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                entry.known = None

    def _count(self, entry: _Entry, *, hit: bool) -> None:
        outcome = 1.0 if hit else 0.0
        entry.hit_rate += (outcome - entry.hit_rate) * KEY_WEIGHT
        self.hit_rate += (outcome - self.hit_rate) * STORE_WEIGHT
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def _put(
        self,
        key: CacheKey,
        entry: _Entry | None,
        view: View | None,
        versions: VersionsRead,
        guard: Guard | None,
        *,
        own: bool = False,
    ) -> None:
        """Remember ``view`` (``None``: forget it) with ``versions`` (``own``: only its rows' already)."""
        if view is None or guard is None:
            known = None
        else:
            known = (view, dict(versions) if own else own_versions(view, versions), guard)
        if entry is None:
            if known is None:
                return
            # A key seen for the first time starts at the store's rate: where other writers share most keys, its
            # first use is then the plain path too.
            self._entries[key] = _Entry(known=known, hit_rate=self.hit_rate)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        else:
            entry.known = known
            self._entries.move_to_end(key)
