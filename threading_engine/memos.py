"""What an engine remembers to go faster: small bounded memos that each engine owns and hands to the rules where
they use one. The rules, identifiers and validation keep no state of their own between calls, and
``Engine(fast_paths=False)`` gives them none: every memo and every shortcut is then off, and the results are
the same (``tests/test_fast_paths.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# How much each memo holds at most. Past its bound a memo forgets everything and starts again: a crude bound,
# which is enough because what a memo holds never changes a result, only how soon it is known.
MAX_KNOWN_SPELLINGS = 100_000
MAX_ACCOUNTS_REMEMBERED = 10_000
MAX_KEYS_REMEMBERED = 4096


class Memo(Generic[K, V]):
    """Values remembered by key, at most ``limit`` of them; ``Memo(0)`` remembers nothing."""

    __slots__ = ("_entries", "get", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[K, V] = {}
        # The dictionary's own ``get``: it is read for every message, and a method of this class would add a call.
        self.get: Callable[[K], V | None] = self._entries.get

    def remember(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key`` (forgetting everything first if the memo is full); returns ``value``."""
        entries = self._entries
        if len(entries) >= self.limit:
            entries.clear()
            if not self.limit:
                return value
        entries[key] = value
        return value

    def __len__(self) -> int:
        return len(self._entries)
