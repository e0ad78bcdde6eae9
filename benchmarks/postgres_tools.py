"""The PostgreSQL server the benchmark uses: whether it is there, fresh schemas, and a round-trip counter.

Every store the benchmark opens on PostgreSQL lives in a schema of its own, named after this run, and every
one is dropped when the run ends, so a run leaves the database as it found it. Round trips are counted by
the library's ``RoundTripRelay`` (``threading_engine.testing.roundtrips``), a TCP relay between the client and
the server: it counts the exchanges on the wire themselves, so pipelining is measured rather than assumed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from threading_engine.testing.roundtrips import RoundTripRelay

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class PostgresServer:
    """A reachable server (``version`` set) or an unreachable one (``reason`` says why)."""

    url: str
    version: str | None = None
    reason: str | None = None
    prefix: str = field(default_factory=lambda: f"bench_{os.getpid()}_{secrets.token_hex(3)}")
    _schemas: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.version is not None

    @classmethod
    def probe(cls, url: str) -> PostgresServer:
        """Connect once to learn the server's version; never raises for an unreachable server."""
        base = without_schema(url)
        try:
            import psycopg
        except ImportError as error:
            return cls(base, reason=f"psycopg is not installed ({error}); install the 'postgres' extra")
        try:
            with psycopg.connect(base, connect_timeout=3, autocommit=True) as connection:
                row = connection.execute("SHOW server_version").fetchone()
        except psycopg.Error as error:
            return cls(base, reason=f"cannot connect to {masked(base)}: {' '.join(str(error).split())}")
        return cls(base, version=str(row[0]) if row else "unknown")

    def fresh_schema(self) -> str:
        """A new schema name for this run; it is dropped by :meth:`drop_schemas`."""
        name = f"{self.prefix}_{len(self._schemas) + 1}"
        self._schemas.append(name)
        return name

    def store_url(self, schema: str, *, port: int | None = None) -> str:
        """The store URL of ``schema``, optionally through a relay listening on ``port`` of this host."""
        return with_query(self.url if port is None else via_port(self.url, port), schema=schema)

    def connect(self, *, port: int | None = None) -> Any:
        """A raw autocommit psycopg connection (the floors and the clean-up use it)."""
        import psycopg

        return psycopg.connect(self.url if port is None else via_port(self.url, port), autocommit=True)

    def drop_schemas(self) -> list[str]:
        """Drop every schema this run created; returns the problems met (empty when all went)."""
        problems: list[str] = []
        if not self._schemas or not self.available:
            return problems
        try:
            with self.connect() as connection:
                for name in self._schemas:
                    try:
                        connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                    except Exception as error:  # keep dropping the others; report this one
                        problems.append(f"{name}: {error}")
        except Exception as error:
            problems.append(str(error))
        self._schemas.clear()
        return problems


def without_schema(url: str) -> str:
    """``url`` without its ``schema`` query parameter (libpq does not know it)."""
    parts = urlsplit(url)
    options = parse_qs(parts.query, keep_blank_values=True)
    options.pop("schema", None)
    return urlunsplit(parts._replace(query=urlencode(options, doseq=True)))


def with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    options = parse_qs(parts.query, keep_blank_values=True)
    options.update({name: [value] for name, value in extra.items()})
    return urlunsplit(parts._replace(query=urlencode(options, doseq=True)))


def via_port(url: str, port: int) -> str:
    """``url`` pointed at ``127.0.0.1:port`` (the relay), keeping the user, password and database."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def masked(url: str) -> str:
    parts = urlsplit(url)
    return url if parts.password is None else url.replace(f":{parts.password}@", ":***@", 1)


def round_trip_relay(url: str) -> RoundTripRelay:
    """A :class:`~threading_engine.testing.roundtrips.RoundTripRelay` to the server ``url`` names."""
    parts = urlsplit(url)
    # Forwarded at once, as the benchmark's relay always was: with Nagle's algorithm on, the section takes 45 s
    # instead of 2 (too long for --quick). Its counts have matched the expected 2 and 0.02 per message in every
    # run; the round-trip test, which must never flake, counts with Nagle on.
    return RoundTripRelay(parts.hostname or "127.0.0.1", parts.port or 5432, forward_at_once=True)
