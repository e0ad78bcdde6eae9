"""Store URLs: ``memory``, ``sqlite:///path/to.db`` (``?synchronous=normal&view_cache=N``), and ``postgresql://...``."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from .errors import ValidationError
from .repository import Repository

STORE_URL_FORMS = (
    "memory, sqlite:///path/to.db[?synchronous=normal&view_cache=N], sqlite:///:memory:, "
    "postgresql://user@host:5432[,host2:5432]/database[?schema=name] (or postgres://)"
)


def open_repository(url: str) -> Repository:
    """Open the repository a store URL names. Drivers are imported only when their URL is used.

    ``sqlite:///relative.db`` and ``sqlite:////absolute.db`` follow SQLAlchemy's convention.
    ``postgresql://`` (or ``postgres://``) URLs are libpq's, plus an optional ``schema=`` parameter naming
    the PostgreSQL schema that holds the store (default ``threading_engine``). A URL that names several hosts
    (``postgresql://h1:5432,h2:5432/db``, or ``host=h1,h2``) connects to the one that accepts writes
    (``target_session_attrs=read-write``) unless it says otherwise, so it follows the primary through a failover.
    """
    if url == "memory":
        from .backends.memory import MemoryRepository

        return MemoryRepository()
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and not parts.netloc and parts.path.startswith("/") and len(parts.path) > 1:
        from .backends.sqlite import SQLiteRepository
        from .backends.viewcache import DEFAULT_VIEW_CACHE_SIZE

        options = parse_qs(parts.query)
        synchronous = options.pop("synchronous", ["full"])[-1].upper()
        view_cache = options.pop("view_cache", [str(DEFAULT_VIEW_CACHE_SIZE)])[-1]
        if options or synchronous not in ("FULL", "NORMAL") or not view_cache.isdecimal():
            raise _bad_url(url, "its options are synchronous=full|normal and view_cache=<number of keys>")
        return SQLiteRepository(
            parts.path[1:],
            synchronous="FULL" if synchronous == "FULL" else "NORMAL",
            view_cache_size=int(view_cache),
        )
    if parts.scheme in ("postgresql", "postgres"):
        return _open_postgres(url)
    raise _bad_url(url, f"use one of: {STORE_URL_FORMS}")


def _open_postgres(url: str) -> Repository:
    """``schema`` picks the PostgreSQL schema; every other query parameter is passed on to libpq."""
    parts = urlsplit(url)
    shown = url if parts.password is None else url.replace(f":{parts.password}@", ":***@", 1)
    try:
        from .backends.postgres import PostgresRepository
    except ImportError as error:
        raise _bad_url(
            shown, f"PostgreSQL needs the postgres extra: pip install 'threading-engine[postgres]' ({error})"
        ) from error
    options = parse_qs(parts.query, keep_blank_values=True)
    schemas = options.pop("schema", [])
    if len(schemas) > 1:
        raise _bad_url(shown, "schema is given more than once")
    hosts = [parts.netloc.rpartition("@")[2], *options.get("host", []), *options.get("hostaddr", [])]
    chosen = "target_session_attrs" in options or "PGTARGETSESSIONATTRS" in os.environ
    if any("," in host for host in hosts) and not chosen:
        # libpq's default, any, would let a standby listed first take the writes, and fail every one of them.
        options["target_session_attrs"] = ["read-write"]
    query = urlencode(options, doseq=True, quote_via=quote)
    # Not urlunsplit: it drops the // of a URL with no host (postgresql:///db?host=...), which libpq then refuses.
    conninfo = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
    try:
        if schemas:
            return PostgresRepository(conninfo, schema=schemas[0])
        return PostgresRepository(conninfo)
    except ValueError as error:
        raise _bad_url(shown, str(error)) from error


def _bad_url(url: str, problem: str) -> ValidationError:
    return ValidationError(f"store {url!r} is not a store URL: {problem}", field="store", value=url)
