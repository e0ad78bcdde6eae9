"""The service's clocks: the wall clock, or a manual one that moves only when a test advances it.

HubSpot's 24-hour reopen window (R4) cannot be tested against a wall clock. Started with ``--clock manual``,
the service gives the engine a :class:`ManualClock`: it stands still at its start time and moves forward only
by ``POST /_engine/clock/advance`` (in the spirit of Stripe's test clocks). It never moves back.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..errors import ValidationError
from ..storable import shown

# ISO 8601 durations of days and time: P1D, PT23H59M, P1DT0.5S (no years or months: they have no fixed length).
_ISO_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?",
    re.ASCII,
)
# Far enough for any test, and well inside the engine's times (year 9999).
MAX_ADVANCE = timedelta(days=365 * 100)


class ManualClock:
    """A clock that stands still until :meth:`advance` moves it; safe between threads.

    ``on_change`` is called with the new time after each advance (the service persists it, so that a restart
    does not send the engine's time back)."""

    def __init__(self, start: datetime, on_change: Callable[[datetime], None] | None = None) -> None:
        if start.tzinfo is None:
            raise ValidationError(f"clock start {start!r} has no timezone (V5)", field="start", value=start)
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self._on_change = on_change

    def __call__(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by ``by`` (not negative); returns the new time."""
        with self._lock:
            self._now = self._now + by
            now = self._now
            if self._on_change is not None:
                self._on_change(now)
        return now


def parse_advance(body: object) -> timedelta:
    """How far ``POST /_engine/clock/advance`` moves the clock: ``{"seconds": N}`` or ``{"duration": "PT23H59M"}``."""
    if not isinstance(body, dict) or len(body) != 1 or not ({"seconds", "duration"} & body.keys()):
        raise ValidationError(
            f"body {shown(body)} is not {{'seconds': N}} or {{'duration': 'PT23H59M'}}", field="body", value=body
        )
    if "seconds" in body:
        seconds = body["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 1e12:
            raise ValidationError(
                f"seconds {shown(seconds)} is not a number of seconds from 0", field="seconds", value=seconds
            )
        by = timedelta(seconds=seconds)
    else:
        by = parse_iso_duration(body["duration"])
    if by > MAX_ADVANCE:
        raise ValidationError(f"advance {by} is longer than {MAX_ADVANCE.days} days", field="body", value=body)
    return by


def parse_iso_duration(text: object) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (``P1D``, ``PT23H59M``, ``PT0.5S``)."""
    match = _ISO_DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or text in ("P", "PT") or str(text).endswith("T"):
        raise ValidationError(
            f"duration {shown(text)} is not an ISO 8601 duration such as PT23H59M or P1D", field="duration", value=text
        )
    parts = {name: float(value) for name, value in match.groupdict().items() if value is not None}
    return timedelta(**parts)
