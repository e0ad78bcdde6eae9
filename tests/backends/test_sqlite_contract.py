"""The SQLite backend against the repository contract, in a file (WAL) and in memory."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.repository import Repository
from threading_engine.testing.conformance import RepositoryContract


class TestSQLiteFile(RepositoryContract):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.files = itertools.count()

    def make_repository(self) -> Repository:
        return SQLiteRepository(str(self.directory / f"store-{next(self.files)}.db"), synchronous="NORMAL")


class TestSQLiteInMemory(RepositoryContract):
    def make_repository(self) -> Repository:
        return SQLiteRepository(":memory:")
