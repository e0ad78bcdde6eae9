"""The in-memory backend against the repository contract; it is also the reference the others agree with."""

from __future__ import annotations

from threading_engine.backends.memory import MemoryRepository
from threading_engine.repository import Repository
from threading_engine.testing.conformance import RepositoryContract


class TestMemoryRepository(RepositoryContract):
    def make_repository(self) -> Repository:
        return MemoryRepository()
