"""Store URLs: ``memory``, ``sqlite:///path/to.db`` (``?synchronous=normal&view_cache=N``), ``postgresql://...``,
and the schemes other packages add.

Every URL that names no store is refused with a VALIDATION_ERROR on field ``store`` before anything is opened:
a URL that does not parse, an unknown option, a malformed host or port, a schema PostgreSQL keeps for itself.
A store that cannot be reached is a STORAGE_ERROR.

A package adds a backend by declaring an entry point in the group ``threading_engine.stores``, named for its
URL scheme, whose object is a function from the whole URL to a :class:`Repository`::

    [project.entry-points."threading_engine.stores"]
    redis = "threading_redis:open_store"

Such a function refuses a URL it cannot open with a ``ValidationError`` on field ``store``. The schemes built
in here keep their meaning: an entry point with one of their names is not used. :func:`store_schemes` lists
every scheme, built in or installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qs, quote, urlencode, urlsplit

from .errors import ValidationError
from .repository import Repository
from .storable import MAX_URL_LENGTH, masked, shown, text_problem

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "threading_engine.stores"
StoreOpener = Callable[[str], Repository]

STORE_URL_FORMS = (
    "memory, sqlite:///path/to.db[?synchronous=normal&view_cache=N], sqlite:///:memory:, "
    "postgresql://user@host:5432[,host2:5432]/database[?schema=name&view_cache=N] (or postgres://)"
)
_SQLITE_OPTIONS = "its options are synchronous=full|normal and view_cache=<number of keys>"
# A path that needs these cannot be written in a store URL: say how else to open it.
_PATH_BY_HAND = "open a file whose path holds ? or # with SQLiteRepository(path)"


def open_repository(url: str) -> Repository:
    """Open the repository a store URL names. Drivers are imported only when their URL is used.

    ``sqlite:///relative.db`` and ``sqlite:////absolute.db`` follow SQLAlchemy's convention; ``?`` starts the
    options and ``#`` is refused, so a path is never silently cut short. ``postgresql://`` (or
    ``postgres://``) URLs are libpq's, plus an optional ``schema=`` parameter naming the PostgreSQL schema that
    holds the store (default ``threading_engine``; not ``public``, nor one of PostgreSQL's own). A URL that
    names several hosts (``postgresql://h1:5432,h2:5432/db``, or ``host=h1,h2``) connects to the one that
    accepts writes (``target_session_attrs=read-write``) unless it says otherwise, so it follows the primary
    through a failover. Any other scheme is opened by the package that registered it (see the module's
    docstring).
    """
    if url == "memory":
        from .backends.memory import MemoryRepository

        return MemoryRepository()
    if not isinstance(url, str):
        raise _bad_url(url, "it is not a string")
    problem = text_problem(url, MAX_URL_LENGTH)
    if problem is not None or not url.isprintable():
        raise _bad_url(url, f"it {problem or 'holds a control character'}")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise _bad_url(url, f"it does not parse ({error})") from None
    built_in = _BUILT_IN.get(parts.scheme)
    if built_in is not None:
        return built_in(url, parts)
    installed = _installed().get(parts.scheme)
    if installed is None:
        raise _bad_url(url, f"use one of: {STORE_URL_FORMS}{_installed_forms()}")
    try:
        opener: StoreOpener = installed.load()
    except Exception as error:  # a broken package of someone else's: say which, whatever it raised
        raise _bad_url(url, f"the package that registered {parts.scheme}:// failed to load ({error!r})") from error
    return opener(url)


def store_schemes() -> tuple[str, ...]:
    """The URL schemes :func:`open_repository` opens, sorted: ``memory``, the built-in ones and those
    installed packages registered in the entry point group ``threading_engine.stores``."""
    return tuple(sorted({"memory", *_BUILT_IN, *_installed()}))


def _installed() -> dict[str, EntryPoint]:
    """The schemes installed packages register, read afresh each time: a package installed while the process
    runs is found, and nothing is remembered. (``importlib.metadata`` is imported here, when a URL needs it: it
    weighs more than the rest of the package.)"""
    from importlib.metadata import entry_points

    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP) if point.name not in _BUILT_IN}


def _installed_forms() -> str:
    schemes = sorted(_installed())
    return f", or a scheme an installed package registered: {', '.join(schemes)}" if schemes else ""


def _open_sqlite(url: str, parts: SplitResult) -> Repository:
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise _bad_url(url, f"use one of: {STORE_URL_FORMS}")
    if "#" in url:
        raise _bad_url(url, f"a # would end its path there; {_PATH_BY_HAND}")
    from .backends.sqlite import SQLiteRepository
    from .backends.viewcache import DEFAULT_VIEW_CACHE_SIZE

    options = parse_qs(parts.query, keep_blank_values=True)
    synchronous = options.pop("synchronous", ["full"])[-1].upper()
    view_cache = options.pop("view_cache", [str(DEFAULT_VIEW_CACHE_SIZE)])[-1]
    if options or synchronous not in ("FULL", "NORMAL") or not (view_cache.isascii() and view_cache.isdecimal()):
        raise _bad_url(url, f"{_SQLITE_OPTIONS}; a ? in the path would start them, so {_PATH_BY_HAND}")
    return SQLiteRepository(
        parts.path[1:],
        synchronous="FULL" if synchronous == "FULL" else "NORMAL",
        view_cache_size=int(view_cache),
    )


def _open_postgres(url: str, parts: SplitResult) -> Repository:
    """``schema`` picks the PostgreSQL schema and ``view_cache`` how many keys' views to remember; every other
    query parameter is passed on to libpq."""
    shown_url = masked(url)
    try:
        from psycopg import Error as DriverError
        from psycopg.conninfo import conninfo_to_dict

        from .backends.postgres import PostgresRepository
        from .backends.viewcache import DEFAULT_VIEW_CACHE_SIZE
    except ImportError as error:
        raise _bad_url(
            shown_url, f"PostgreSQL needs the postgres extra: pip install 'threading-engine[postgres]' ({error})"
        ) from error
    options = parse_qs(parts.query, keep_blank_values=True)
    schemas = options.pop("schema", [])
    if len(schemas) > 1:
        raise _bad_url(shown_url, "schema is given more than once")
    view_cache = options.pop("view_cache", [])
    if len(view_cache) > 1 or not all(given.isascii() and given.isdecimal() for given in view_cache):
        raise _bad_url(shown_url, "view_cache is the number of keys whose views to remember, given once")
    view_cache_size = int(view_cache[0]) if view_cache else DEFAULT_VIEW_CACHE_SIZE
    hosts = [parts.netloc.rpartition("@")[2], *options.get("host", []), *options.get("hostaddr", [])]
    chosen = "target_session_attrs" in options or "PGTARGETSESSIONATTRS" in os.environ
    if any("," in host for host in hosts) and not chosen:
        # libpq's default, any, would let a standby listed first take the writes, and fail every one of them.
        options["target_session_attrs"] = ["read-write"]
    query = urlencode(options, doseq=True, quote_via=quote)
    # Not urlunsplit: it drops the // of a URL with no host (postgresql:///db?host=...), which libpq then refuses.
    conninfo = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
    try:
        settings = conninfo_to_dict(conninfo)
    except DriverError as error:  # libpq's own parser: unknown parameters, malformed hosts, bad escapes
        raise _bad_url(shown_url, masked(str(error).strip())) from None
    for port in str(settings.get("port", "")).split(","):
        if port and not (port.isascii() and port.isdecimal() and 1 <= int(port) <= 65535):
            raise _bad_url(shown_url, f"port {port!r} is not a number from 1 to 65535")
    try:
        if schemas:
            return PostgresRepository(conninfo, schema=schemas[0], view_cache_size=view_cache_size)
        return PostgresRepository(conninfo, view_cache_size=view_cache_size)
    except ValidationError as error:
        raise _bad_url(shown_url, error.message) from error


# The schemes built in, by name: each opener takes the URL and its parts.
_BUILT_IN: Mapping[str, Callable[[str, SplitResult], Repository]] = MappingProxyType(
    {"sqlite": _open_sqlite, "postgresql": _open_postgres, "postgres": _open_postgres}
)


def _bad_url(url: object, problem: str) -> ValidationError:
    text = masked(url) if isinstance(url, str) else url
    return ValidationError(f"store {shown(text)} is not a store URL: {problem}", field="store", value=text)
