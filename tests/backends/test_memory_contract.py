"""The in-memory backend against the repository contract; it is also the reference the others agree with."""

from __future__ import annotations

import pytest

from threading_engine.backends.memory import MemoryRepository
from threading_engine.decisions import Changes
from threading_engine.repository import Repository
from threading_engine.testing.conformance import RepositoryContract
from threading_engine.testing.contract_checks import commit, event, state


class TestMemoryRepository(RepositoryContract):
    def make_repository(self) -> Repository:
        return MemoryRepository()


# A memory unit of work takes back its events by the store's count of them at its entry, and calls nothing on
# leaving when it saved nothing: the two cases below reach each side of that.


def test_a_unit_that_saved_only_events_and_did_not_commit_leaves_no_event() -> None:
    repository = MemoryRepository()
    commit(repository, Changes(), [event("event-1")])
    before = state(repository)
    with pytest.raises(RuntimeError), repository.unit_of_work() as unit:
        unit.save(Changes(), [event("event-2"), event("event-3")])
        raise RuntimeError("the decision failed")
    assert state(repository) == before
    assert [record.event_id for record in commit(repository, Changes(), [event("event-2")])] == ["event-2"]
    assert [record.sequence for record in repository.read_events()] == [1, 2]


def test_a_unit_that_saved_nothing_commits_no_events_and_leaves_the_store_as_it_was() -> None:
    repository = MemoryRepository()
    commit(repository, Changes(), [event("event-1")])
    before = state(repository)
    with repository.unit_of_work() as unit:
        assert unit.commit() == ()
    with repository.unit_of_work():
        pass
    assert state(repository) == before
