"""Id factories and the default clock, injected into the engine so that runs can be reproduced."""

from __future__ import annotations

import datetime as _datetime_module
import itertools
import threading
import uuid
from collections import defaultdict
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
        self._counters: defaultdict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self._lock = threading.Lock()

    def __call__(self, kind: str) -> str:
        with self._lock:
            return f"{kind}-{next(self._counters[kind])}"
