"""Store URLs: ``memory`` (and, as backends are added, ``sqlite:///path`` and ``postgresql://...``)."""

from __future__ import annotations

from .errors import ValidationError
from .repository import Repository


def open_repository(url: str) -> Repository:
    """Open the repository a store URL names. Drivers are imported only when their URL is used."""
    if url == "memory":
        from .backends.memory import MemoryRepository

        return MemoryRepository()
    raise ValidationError(f"store {url!r} is not a store URL this version knows (memory)", field="store", value=url)
