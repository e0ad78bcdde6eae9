"""The in-memory backend against the repository contract; it is also the reference the others agree with."""

from __future__ import annotations

import pytest

from threading_engine.backends.memory import MemoryRepository
from threading_engine.decisions import Changes, ViewQuery
from threading_engine.repository import Repository
from threading_engine.testing.conformance import RepositoryContract
from threading_engine.testing.contract_checks import ACCOUNT, CHANNEL, KEY, T0, closed, commit, event, load, state


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


def test_r4b_a_thread_saved_without_commit_is_no_candidate_afterwards() -> None:
    """The key's index of its threads (a tuple per key, nested by account) takes back what an abandoned unit
    added, and keeps creation order for the threads that stay."""
    repository = MemoryRepository()
    commit(repository, Changes(channel=CHANNEL, account=ACCOUNT, threads=(closed("thread-1", T0),)))
    query = ViewQuery(channel_account_id=ACCOUNT.id, key=KEY)
    with pytest.raises(RuntimeError), repository.unit_of_work() as unit:
        unit.save(Changes(threads=(closed("thread-2", T0),)), [])
        latest = unit.load(query).latest_closed_thread
        assert latest is not None and latest.id == "thread-2"  # a tie on closed_at: the one created last
        raise RuntimeError("the decision failed")
    latest = load(repository, query).latest_closed_thread
    assert latest is not None and latest.id == "thread-1"
    commit(repository, Changes(threads=(closed("thread-3", T0),)))
    latest = load(repository, query).latest_closed_thread
    assert latest is not None and latest.id == "thread-3"
