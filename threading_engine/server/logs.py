"""Structured logs: one JSON object a line on stderr, each with an ``event`` name and its fields."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

LOGGER = logging.getLogger("threading_engine.server")


def configure(level: int = logging.INFO) -> None:
    """Send the service's logs to stderr, one JSON line each (once per process)."""
    if not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.propagate = False
    LOGGER.setLevel(level)


def log(event: str, level: int = logging.INFO, **fields: object) -> None:
    """Log ``event`` with ``fields`` as one JSON line (values that are not JSON are shown with ``str``)."""
    if LOGGER.isEnabledFor(level):
        record = {"at": datetime.now(UTC).isoformat(), "level": logging.getLevelName(level), "event": event} | fields
        LOGGER.log(level, json.dumps(record, default=str, ensure_ascii=False))
