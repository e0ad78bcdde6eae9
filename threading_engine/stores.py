"""Store URLs: ``memory``, ``sqlite:///path/to.db`` (``?synchronous=normal``), and ``postgresql://...``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .errors import ValidationError
from .repository import Repository

STORE_URL_FORMS = "memory, sqlite:///path/to.db[?synchronous=normal], sqlite:///:memory:"


def open_repository(url: str) -> Repository:
    """Open the repository a store URL names. Drivers are imported only when their URL is used.

    ``sqlite:///relative.db`` and ``sqlite:////absolute.db`` follow SQLAlchemy's convention.
    """
    if url == "memory":
        from .backends.memory import MemoryRepository

        return MemoryRepository()
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and not parts.netloc and parts.path.startswith("/") and len(parts.path) > 1:
        from .backends.sqlite import SQLiteRepository

        options = parse_qs(parts.query)
        synchronous = options.pop("synchronous", ["full"])[-1].upper()
        if options or synchronous not in ("FULL", "NORMAL"):
            raise _bad_url(url, "its only option is synchronous=full|normal")
        return SQLiteRepository(parts.path[1:], synchronous="FULL" if synchronous == "FULL" else "NORMAL")
    raise _bad_url(url, f"use one of: {STORE_URL_FORMS}")


def _bad_url(url: str, problem: str) -> ValidationError:
    return ValidationError(f"store {url!r} is not a store URL: {problem}", field="store", value=url)
