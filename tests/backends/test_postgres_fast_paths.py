"""Fast paths change nothing on PostgreSQL either: the differential test of ``tests/test_fast_paths.py`` with
one schema for the engine with fast paths and one for the engine without (issue 14), whose store also remembers
no views between commands, so that every command goes the two-round-trip way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from test_fast_paths import run_script, steps

from .three_stores import TrioFactory


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[tuple[TrioFactory, TrioFactory]]:
    """Two PostgreSQL schemas, emptied for each example (``TrioFactory.fresh``)."""
    on = TrioFactory(tmp_path_factory.mktemp("fast-paths-on"), postgres_url)
    try:
        # Off: the engine's fast paths and the store's remembered views (one round trip per command) both.
        off = TrioFactory(tmp_path_factory.mktemp("fast-paths-off"), postgres_url, view_cache_size=0)
        try:
            yield on, off
        finally:
            off.close()
    finally:
        on.close()


# A fifth of the profile's examples: each empties two schemas, and memory and SQLite get the full count.
@settings(max_examples=max(10, settings().max_examples // 5))
@given(script=steps)
def test_fast_paths_on_and_off_give_the_same_results_events_and_stored_state_on_postgresql(
    schemas: tuple[TrioFactory, TrioFactory], script: list[tuple[str, Any]]
) -> None:
    on, off = schemas
    with on.fresh(), off.fresh():
        assert run_script(on.postgres, True, script) == run_script(off.postgres, False, script)
