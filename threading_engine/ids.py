"""Id factories, injected into the engine so that runs can be reproduced (the clock is in ``clock``)."""

from __future__ import annotations

import collections
import itertools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator


def unique_id(kind: str) -> str:
    """The default id factory: ``<kind>-<UUIDv7 hex>``, unique across processes and hosts, in creation order.

    A UUIDv7 (RFC 9562) starts with the Unix time in milliseconds and ends with 74 random bits. Ids made later
    sort later, so the unique indexes of a SQL store grow at their end, where a random id (UUIDv4) would land
    on any page of an index larger than the cache (the README gives the measured difference). An id reveals when
    it was made, to the millisecond; within one millisecond the order is random.
    """
    random_bits = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b, 6 spare
    value = (
        (time.time_ns() // 1_000_000 & _MILLISECONDS) << 80
        | _VERSION_7
        | (random_bits >> 68) << 64
        | _VARIANT_RFC
        | random_bits & _RAND_B
    )
    return f"{kind}-{value:032x}"


_MILLISECONDS = (1 << 48) - 1
_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62
_RAND_B = (1 << 62) - 1


class UniqueIds:
    """The engine's default id factory: the ids of :func:`unique_id`, drawing randomness once a millisecond.

    Each millisecond starts from 73 fresh random bits; the ids made within it count up from there (RFC 9562,
    section 6.2, method 2: "monotonic random"). So one factory's ids are strictly increasing (while the clock
    does not step back), two factories on any hosts collide no more often than two random 73-bit numbers, and an
    id costs no system call: ``os.urandom`` per id cost more than the rest of the id together. The 12 bits of
    ``rand_a`` are random and the 62 of ``rand_b`` start with a zero bit, so the counter never carries out of
    ``rand_b``: the first 16 hex digits (the millisecond, the version and ``rand_a``) are formatted once a
    millisecond, and an id formats only its last 16.

    Safe between threads without a lock: a millisecond's state is replaced whole, and ``next`` on its
    ``itertools.count`` is one step under the GIL. A forked child forgets its parent's millisecond, so parent
    and child never count up from the same start.
    """

    __slots__ = ("__weakref__", "_now_ns", "_state")

    def __init__(self, *, now_ns: Callable[[], int] = time.time_ns) -> None:
        self._now_ns = now_ns
        self._state: tuple[int, str, Iterator[int]] = (-1, "", itertools.count())
        _FORGET_IN_FORKED_CHILD.add(self)

    def __call__(self, kind: str) -> str:
        millisecond = self._now_ns() // 1_000_000
        state = self._state
        if state[0] != millisecond:
            state = self._state = _millisecond_state(millisecond)
        # The variant's bits (0b10) and ``rand_b``, counting up: from 2**63 to below 2**64, so always 16 hex
        # digits, written without a width to pad to (which costs a third more).
        return f"{kind}-{state[1]}{next(state[2]):x}"

    def _forget(self) -> None:
        self._state = (-1, "", itertools.count())


def _millisecond_state(millisecond: int) -> tuple[int, str, Iterator[int]]:
    """A millisecond's first 16 hex digits (its time, version 7 and 12 random bits of ``rand_a``), and the count
    of its last 16, from 61 random bits of ``rand_b``: 73 random bits in all."""
    random_bits = int.from_bytes(os.urandom(10), "big") >> 7  # 73 random bits
    high = (millisecond & _MILLISECONDS) << 16 | _VERSION_7 >> 64 | random_bits >> 61
    return millisecond, f"{high:016x}", itertools.count(_VARIANT_RFC | random_bits & _RAND_B >> 1)


# Every live factory, so that a forked child can make each forget its parent's millisecond.
_FORGET_IN_FORKED_CHILD: weakref.WeakSet[UniqueIds] = weakref.WeakSet()


def _forget_after_fork() -> None:
    for factory in list(_FORGET_IN_FORKED_CHILD):
        factory._forget()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_after_fork)


class SequentialIds:
    """Ids ``<kind>-1``, ``<kind>-2``, ... per kind: reproducible output for replays and tests.

    Only unique within one store written by one engine: use :func:`unique_id` when several processes write.
    """

    def __init__(self) -> None:
        self._counters: dict[str, Iterator[int]] = {}

    def __call__(self, kind: str) -> str:
        # Safe between threads without a lock: ``setdefault`` and ``next`` on an itertools.count are each one
        # step under the GIL, so two threads share one counter per kind and never draw the same number.
        counter = self._counters.get(kind)
        if counter is None:
            counter = self._counters.setdefault(kind, itertools.count(1))
        return f"{kind}-{next(counter)}"


# The kinds whose ids HubSpot writes as 32 hex digits; every other kind's ids are numeric strings there. A
# staging token (T1) is HubSpot's opaque ``accountToken`` string, not an object id.
_HEX_KINDS = frozenset({"message", "token"})
_LOW_BITS = 22  # below the millisecond: 41 + 22 bits fit a signed 64-bit integer until 2039


class HubSpotIds:
    """Ids shaped as HubSpot's: a numeric string for a channel, account, thread, ticket or event (HubSpot's
    object ids are integers), 32 hex digits for a message and a staging token. For integrations that parse ids
    as HubSpot's.

    A numeric id is the millisecond it was made in, shifted left by 22 bits, plus the low 22 bits of a
    :class:`UniqueIds` factory's counter for that millisecond: ordered by time, unique within the factory, and
    between factories on several hosts as unlikely to collide as two random 22-bit numbers made in the same
    millisecond. Where several hosts write at once, :class:`UniqueIds` is the safer choice.
    """

    __slots__ = ("_unique",)

    def __init__(self, *, now_ns: Callable[[], int] = time.time_ns) -> None:
        self._unique = UniqueIds(now_ns=now_ns)

    def __call__(self, kind: str) -> str:
        digits = self._unique(kind)[len(kind) + 1 :]  # the UUIDv7's 32 hex digits
        if kind in _HEX_KINDS:
            return digits
        value = int(digits, 16)
        return str((value >> 80) << _LOW_BITS | value & ((1 << _LOW_BITS) - 1))


class SpareIds:
    """Ids drawn for an attempt that stored nothing, handed out again before any new one.

    A store that remembers views may find, at commit, that the view a command was decided on was stale; nothing
    is written and the command is decided again. The ids the first decision drew go back here, and the next
    draws of each kind take them first, in the order they were drawn: a run then makes the same ids whether or
    not a remembered view was stale on the way (replays and differential tests compare them).
    """

    def __init__(self) -> None:
        self._spare: dict[str, collections.deque[str]] = {}
        self._lock = threading.Lock()
        # How many ids are spare: read without the lock, to tell at the cost of an attribute whether a factory
        # must look here at all (nearly always not).
        self.count = 0
        self._first: SparesFirst | None = None

    def first(self, source: object, make_factory: Callable[[], Callable[[str], str]]) -> SparesFirst:
        """A factory that hands out the spare ids first, then ``make_factory()``'s, kept while ``source`` (what that
        factory is made from) stays the same."""
        first = self._first
        if first is None or first.source is not source:
            first = self._first = SparesFirst(make_factory(), self, source)
        return first

    def drawing(self, factory: Callable[[str], str]) -> DrawnIds:
        """A factory for one attempt: spare ids first, then ``factory``'s; it records what it hands out."""
        return DrawnIds(factory, self)

    def take(self, kind: str) -> str | None:
        with self._lock:
            spare = self._spare.get(kind)
            if not spare:
                return None
            self.count -= 1
            return spare.popleft()

    def give_back(self, drawn: list[tuple[str, str]]) -> None:
        with self._lock:
            for kind, made in reversed(drawn):
                self._spare.setdefault(kind, collections.deque()).appendleft(made)
            self.count += len(drawn)


class SparesFirst:
    """A factory that hands out spare ids first (see :class:`SpareIds`), then ``factory``'s; it records nothing.

    An engine keeps one for as long as ids are spare, rather than a :class:`DrawnIds` per command: commands that
    draw no id (retried duplicates) may follow one another for long before a spare is taken.
    """

    __slots__ = ("_spares", "factory", "source")

    def __init__(self, factory: Callable[[str], str], spares: SpareIds, source: object) -> None:
        self.factory = factory
        self._spares = spares
        # What ``factory`` was made from (the engine's ``ids``): a factory replaced since is not drawn from.
        self.source = source

    def __call__(self, kind: str) -> str:
        made = self._spares.take(kind) if self._spares.count else None
        return self.factory(kind) if made is None else made


class DrawnIds:
    """The ids factory of one attempt (see :class:`SpareIds`)."""

    __slots__ = ("_factory", "_spares", "drawn")

    def __init__(self, factory: Callable[[str], str], spares: SpareIds) -> None:
        self._factory = factory
        self._spares = spares
        self.drawn: list[tuple[str, str]] = []

    def __call__(self, kind: str) -> str:
        made = self._spares.take(kind)
        if made is None:
            made = self._factory(kind)
        self.drawn.append((kind, made))
        return made

    def give_back(self) -> None:
        """The attempt stored nothing: its ids are spare."""
        self._spares.give_back(self.drawn)
        self.drawn = []
