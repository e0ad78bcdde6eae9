"""The backends under test, and fresh stores of each: a new file or schema for every measurement.

Stores are opened through :func:`threading_engine.open_repository`, with the URLs a user would write.
:class:`Stores` remembers everything it opened and removes it all in :meth:`Stores.close`: SQLite files in
the run's working directory, PostgreSQL schemas on the server.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from threading_engine import Repository, open_repository

from .postgres_tools import PostgresServer

BACKENDS = ("memory", "sqlite-full", "sqlite-normal", "postgres")
SYNCHRONOUS = {"sqlite-full": "FULL", "sqlite-normal": "NORMAL"}


class Stores:
    """Opens fresh stores in ``workdir`` (SQLite) and on ``postgres``; :meth:`close` removes them all."""

    def __init__(self, workdir: Path, postgres: PostgresServer) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self._opened: list[Repository] = []
        self._files = 0

    def sqlite_path(self) -> Path:
        """A path for a new SQLite file in the working directory."""
        self._files += 1
        return self.workdir / f"store-{self._files}.db"

    def remove_sqlite(self, path: Path) -> None:
        """Delete a SQLite file and its WAL files once its store is closed (large seeded files add up)."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def url(self, backend: str) -> str:
        """The URL of a new, empty store of ``backend``."""
        if backend == "memory":
            return "memory"
        if backend in SYNCHRONOUS:
            return f"sqlite:///{self.sqlite_path().resolve()}?synchronous={SYNCHRONOUS[backend].lower()}"
        if backend == "postgres":
            if not self.postgres.available:
                raise RuntimeError(f"PostgreSQL is not available: {self.postgres.reason}")
            return self.postgres.store_url(self.postgres.fresh_schema())
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")

    def open(self, backend: str) -> Repository:
        """A new, empty store of ``backend``, closed by :meth:`close` if not before."""
        return self.track(open_repository(self.url(backend)))

    def track(self, repository: Repository) -> Repository:
        self._opened.append(repository)
        return repository

    def release(self, repository: Repository) -> None:
        """Close ``repository`` now, so that a long run does not hold every pool and file open."""
        with contextlib.suppress(Exception):
            repository.close()
        with contextlib.suppress(ValueError):
            self._opened.remove(repository)

    def close(self) -> list[str]:
        """Close every store, drop the run's schemas and delete its files; returns any problems met."""
        for repository in self._opened:
            with contextlib.suppress(Exception):  # a store that fails to close must not keep the others
                repository.close()
        self._opened.clear()
        problems = self.postgres.drop_schemas()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return problems
