"""The SQLite backend against the repository contract, in a file (WAL), with and without remembered views,
and in memory."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.repository import Repository
from threading_engine.testing.conformance import RepositoryContract


class TestSQLiteFile(RepositoryContract):
    view_cache_size = 10_000

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.files = itertools.count()

    def make_repository(self) -> Repository:
        path = str(self.directory / f"store-{next(self.files)}.db")
        return SQLiteRepository(path, synchronous="NORMAL", view_cache_size=self.view_cache_size)


class TestSQLiteFileRemembersNoViews(TestSQLiteFile):
    """Every view read from the file: the contract holds with and without ``viewcache.py``."""

    view_cache_size = 0


class TestSQLiteInMemory(RepositoryContract):
    def make_repository(self) -> Repository:
        return SQLiteRepository(":memory:")
