"""``ViewCache`` and ``UnitViews`` against the in-memory backend: a remembered view is ``None`` or exactly what a
load returns at that moment, across units that commit and units that roll back.

The memory backend is the oracle, as in ``test_readahead.py``, whose stores and saves these tests draw from:
a unit of it applies every save at once and undoes them all when it does not commit.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.view import updated_view
from threading_engine.backends.view.updating import appended_to_open_thread, apply_changes
from threading_engine.backends.viewcache import UnitViews, ViewCache, cache_key
from threading_engine.decisions import Changes, View, ViewQuery
from threading_engine.model import Ticket, TicketStatus
from threading_engine.testing.contract_checks import ACCOUNT, CHANNEL, KEY, T0, closed, commit, thread

from .test_readahead import ACCOUNT_IDS, KEY_2, _draw_save, _random_store, _seeded, _shown, key_lookups

BY_KEY = ViewQuery(channel_account_id=ACCOUNT.id, key=KEY)  # as remembered: without an idempotency id


def _remembered_queries(repository: MemoryRepository) -> st.SearchStrategy[ViewQuery]:
    """The queries whose views a store remembers, as remembered (without an idempotency id)."""
    return key_lookups(repository.list_threads()).map(
        lambda lookup: ViewQuery(channel_account_id=lookup[0], key=lookup[1], integration_thread_id=lookup[2])
    )


@settings(max_examples=max(settings().max_examples, 150))
@given(st.data())
def test_a_remembered_view_is_none_or_exactly_what_a_load_returns_now(data: st.DataObject) -> None:
    repository = _random_store(data)
    cache = ViewCache(data.draw(st.integers(1, 4), label="cache size"))
    # A few keys read again and again: a view is remembered only for a key read before.
    queries = data.draw(st.lists(_remembered_queries(repository), min_size=1, max_size=4, unique=True), label="keys")
    for _ in range(data.draw(st.integers(1, 5), label="units")):
        with repository.unit_of_work() as unit:
            views = UnitViews(cache)
            shown: set[str] = set()
            for _ in range(data.draw(st.integers(1, 10), label="steps")):
                if data.draw(st.booleans(), label="read"):
                    query = data.draw(st.sampled_from(queries), label="query")
                    key = cache_key(query)
                    assert key is not None
                    remembered, loaded = views.get(key), unit.load(query)
                    assert remembered is None or remembered == loaded
                    views.loaded(key, loaded)
                    shown.update(t.id for t in _shown(loaded))
                else:
                    changes = _draw_save(data, repository, ACCOUNT_IDS, frozenset(shown))
                    unit.save(changes, ())
                    views.saved(changes)
            if data.draw(st.booleans(), label="commits"):
                unit.commit()
                views.committed()
        assert len(cache) <= cache.size


def test_only_the_views_of_messages_are_remembered() -> None:
    assert cache_key(ViewQuery(channel_account_id="a", key="k", idempotency_id="i")) == ("a", "k", None)
    assert cache_key(ViewQuery(channel_account_id="a", integration_thread_id="c")) == ("a", None, "c")
    for query in (
        ViewQuery(channel_account_id="a"),
        ViewQuery(channel_account_id="a", key="k", integration_thread_id="c"),
        ViewQuery(channel_account_id="a", key="k", thread_id="t"),
        ViewQuery(channel_account_id="a", key="k", channel_id="c"),
        ViewQuery(key="k"),
        ViewQuery(thread_id="t"),
    ):
        assert cache_key(query) is None


def test_a_message_on_the_open_thread_brings_the_view_up_to_date_in_place() -> None:
    view = View(channel=CHANNEL, account=ACCOUNT, open_thread=thread("thread-1"), latest_closed_thread=None)
    touched = thread("thread-1").touched(T0 + timedelta(minutes=5))
    assert updated_view(BY_KEY, view, Changes(threads=(touched,))) == attrs.evolve(view, open_thread=touched)


def test_an_open_thread_given_a_ticket_the_view_never_read_is_not_brought_up_to_date() -> None:
    """Its ticket would be missing from the view's ``tickets``: only a load can supply it."""
    view = View(channel=CHANNEL, account=ACCOUNT, open_thread=thread("thread-1"))
    given_ticket = attrs.evolve(thread("thread-1"), ticket_id="ticket-1")
    assert updated_view(BY_KEY, view, Changes(threads=(given_ticket,))) is None


@settings(max_examples=max(settings().max_examples, 300))
@given(st.data())
def test_the_shortcut_for_a_message_on_the_open_thread_answers_as_the_general_rules_do(data: st.DataObject) -> None:
    """``updated_view`` answers a save on a remembered view exactly as ``readahead._updated`` does: its shortcut
    for the common case (a message on the open thread) is an optimization, never another answer."""
    repository = _random_store(data)
    query = data.draw(_remembered_queries(repository), label="query")
    with repository.unit_of_work() as unit:
        view = unit.load(query)
    shown = frozenset(t.id for t in _shown(view))
    changes = _draw_save(data, repository, ACCOUNT_IDS, shown)
    if data.draw(st.booleans(), label="two saves in one"):
        # Saves no single command makes (several threads, a ticket beside a thread): the shortcut must decline.
        other = _draw_save(data, repository, ACCOUNT_IDS, shown)
        threads = {t.id: t for t in (*changes.threads, *other.threads)}
        changes = Changes(
            changes.channel or other.channel,
            changes.account or other.account,
            tuple(threads.values()),
            (*changes.tickets, *other.tickets),
            changes.message,
        )
    assert updated_view(query, view, changes) == apply_changes(query, view, changes)


@given(st.data())
def test_the_shortcut_on_its_own_is_the_general_answer_or_none(data: st.DataObject) -> None:
    """``appended_to_open_thread``, which a store calls before making the general rules' query, answers a
    remembered view's save as ``apply_changes`` does, or declines."""
    repository = _random_store(data)
    query = data.draw(_remembered_queries(repository), label="query")
    with repository.unit_of_work() as unit:
        view = unit.load(query)
    changes = _draw_save(data, repository, ACCOUNT_IDS, frozenset(t.id for t in _shown(view)))
    shortcut = appended_to_open_thread(view, changes)
    assert shortcut is None or shortcut == apply_changes(query, view, changes)


def _committed_unit(cache: ViewCache, *loaded: tuple[ViewQuery, View]) -> None:
    """A unit of work that read ``loaded`` (query and view) and committed."""
    views = UnitViews(cache)
    for query, view in loaded:
        key = cache_key(query)
        assert key is not None
        views.loaded(key, view)
    views.committed()


def _view_of(key: str) -> View:
    return View(channel=CHANNEL, account=ACCOUNT, open_thread=thread(f"thread-{key}", key=key))


def test_a_view_read_by_a_committed_unit_answers_the_next_unit() -> None:
    """What the cache is for: the next unit of work gets the view without reading it (R4a on a busy key)."""
    cache = ViewCache(4)
    view = _view_of(KEY)
    _committed_unit(cache, (BY_KEY, view))
    key = cache_key(BY_KEY)
    assert key is not None
    assert UnitViews(cache).get(key) == view


def test_a_full_cache_forgets_the_view_used_least_recently() -> None:
    cache = ViewCache(2)
    queries = {name: ViewQuery(channel_account_id=ACCOUNT.id, key=name) for name in ("a", "b", "c")}
    _committed_unit(cache, (queries["a"], _view_of("a")), (queries["b"], _view_of("b")))
    assert UnitViews(cache).get((ACCOUNT.id, "a", None)) == _view_of("a")  # "a" is now the most recently used
    _committed_unit(cache, (queries["c"], _view_of("c")))
    remembered = UnitViews(cache)
    assert remembered.get((ACCOUNT.id, "b", None)) is None
    assert remembered.get((ACCOUNT.id, "a", None)) == _view_of("a")
    assert remembered.get((ACCOUNT.id, "c", None)) == _view_of("c")


def test_i1_a_message_on_an_integration_thread_keeps_the_view_of_its_integration_thread_id_current() -> None:
    """A thread with an integration thread id is remembered under that id, not under its key."""
    repository = _seeded()
    commit(repository, Changes(threads=(thread("thread-1", integration_thread_id="conv-1"),)))
    by_conversation = ViewQuery(channel_account_id=ACCOUNT.id, integration_thread_id="conv-1")
    key = cache_key(by_conversation)
    assert key is not None
    cache = ViewCache(4)
    with repository.unit_of_work() as unit:
        _committed_unit(cache, (by_conversation, unit.load(by_conversation)))
    touched = thread("thread-1", integration_thread_id="conv-1").touched(T0 + timedelta(minutes=5))
    message_saved = Changes(threads=(touched,))
    with repository.unit_of_work() as unit:
        views = UnitViews(cache)
        assert views.get(key) is not None
        unit.save(message_saved, ())
        views.saved(message_saved)
        remembered = views.get(key)
        assert remembered is not None and remembered.integration_thread == touched
        assert remembered == unit.load(by_conversation)


def test_the_shortcut_leaves_to_the_general_rules_every_save_beyond_a_message_on_the_open_thread() -> None:
    """A ticket changed beside the message, the channel or the account changed, another thread of the key saved:
    each is answered as ``readahead._updated`` answers it."""
    ticket = Ticket("ticket-1", "thread-1")
    open_thread = thread("thread-1", ticket_id=ticket.id)
    view = View(channel=CHANNEL, account=ACCOUNT, open_thread=open_thread, tickets={ticket.id: ticket})
    touched = open_thread.touched(T0 + timedelta(minutes=5))
    closed_ticket = attrs.evolve(ticket, status=TicketStatus.CLOSED)
    with_ticket = updated_view(BY_KEY, view, Changes(threads=(touched,), tickets=(closed_ticket,)))
    assert with_ticket == attrs.evolve(view, open_thread=touched, tickets={ticket.id: closed_ticket})
    for changes in (
        Changes(channel=attrs.evolve(CHANNEL, name="Renamed"), threads=(touched,)),
        Changes(account=attrs.evolve(ACCOUNT, authorized=False), threads=(touched,)),
        Changes(threads=(touched, closed("thread-2", T0))),  # a closed thread of the key the view never read
    ):
        assert updated_view(BY_KEY, view, changes) is None
        assert apply_changes(BY_KEY, view, changes) is None


def test_a_ticket_saved_beside_another_thread_makes_every_remembered_view_stale() -> None:
    """Which view shows the ticket's thread is not known from the save: none is answered from memory after it."""
    repository = _seeded()
    ticket = Ticket("ticket-1", "thread-2")
    commit(repository, Changes(threads=(thread("thread-1"), thread("thread-2", key=KEY_2, ticket_id=ticket.id))))
    commit(repository, Changes(tickets=(ticket,)))
    queries = (BY_KEY, ViewQuery(channel_account_id=ACCOUNT.id, key=KEY_2))
    cache = ViewCache(4)
    with repository.unit_of_work() as unit:
        _committed_unit(cache, *((query, unit.load(query)) for query in queries))
    changes = Changes(
        threads=(thread("thread-1").touched(T0 + timedelta(minutes=5)),),
        tickets=(attrs.evolve(ticket, status=TicketStatus.CLOSED),),
    )
    with repository.unit_of_work() as unit:
        views = UnitViews(cache)
        unit.save(changes, ())
        views.saved(changes)
        for query in queries:
            key = cache_key(query)
            assert key is not None
            assert views.get(key) in (None, unit.load(query))
        assert views.get((ACCOUNT.id, KEY_2, None)) is None
