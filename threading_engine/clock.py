"""The engine's default clock, injected (like the id factories of ``ids``) so that runs can be reproduced."""

from __future__ import annotations

import datetime as _datetime_module
from datetime import UTC, datetime


def utc_now() -> datetime:
    """The default clock: the current UTC time, read through ``datetime`` so that freezegun can stop it."""
    # Looked up on the module at each call: freezegun leaves the names imported by modules whose names start
    # with "threading" (its default ignore list) unpatched, so the ``datetime`` imported above stays real.
    return _datetime_module.datetime.now(UTC)
