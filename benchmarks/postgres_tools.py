"""The PostgreSQL server the benchmark uses: whether it is there, fresh schemas, and a round-trip counter.

Every store the benchmark opens on PostgreSQL lives in a schema of its own, named after this run, and every
one is dropped when the run ends, so a run leaves the database as it found it. Round trips are counted by
:class:`RoundTripRelay`, a TCP relay between the client and the server: it counts the exchanges on the wire
themselves, whatever the driver does inside, so pipelining is measured rather than assumed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import socket
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

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


class RoundTripRelay:
    """A TCP relay to the server that counts its answers: one per round trip the client waited for."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.round_trips = 0
        self._lock = threading.Lock()
        self._closing = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept, name="round-trip-relay", daemon=True)
        self._accepting.start()

    def reset(self) -> None:
        with self._lock:
            self.round_trips = 0

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            for end in (client, server):
                # Forward every packet at once: Nagle's algorithm would hold small ones back for an ACK.
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, server)
        selector.register(server, selectors.EVENT_READ, client)
        client_spoke = False
        with client, server, selector:
            while not self._closing:
                for key, _ in selector.select(timeout=0.2):
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    try:
                        data = source.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    # The server speaking after the client did ends one round trip the client waited for.
                    if source is client:
                        client_spoke = True
                    elif client_spoke:
                        with self._lock:
                            self.round_trips += 1
                        client_spoke = False
                    key.data.sendall(data)

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._listener.close()
