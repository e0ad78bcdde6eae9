"""Id factories and the default clock, injected into the engine so that runs can be reproduced."""

from __future__ import annotations

import datetime as _datetime_module
import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime


def utc_now() -> datetime:
    """The default clock: the current UTC time, read through ``datetime`` so that freezegun can stop it."""
    # Looked up on the module at each call: freezegun leaves the names imported by modules whose names start
    # with "threading" (its default ignore list) unpatched, so the ``datetime`` imported above stays real.
    return _datetime_module.datetime.now(UTC)


def unique_id(kind: str) -> str:
    """The default id factory: ``<kind>-<random hex>``, unique across processes and hosts."""
    return f"{kind}-{uuid.uuid4().hex}"


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
