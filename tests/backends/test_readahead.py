"""``ReadAhead`` against the in-memory backend: a view taken after saves is ``None`` or what a fresh load returns.

A unit of work of the memory backend is the oracle: it applies every save at once, so ``unit.load(query)`` is
the view at that moment. The saves are the ones the engine makes inside a batch (threads created, closed,
reopened, archived and restored, tickets created or changed, messages with idempotency ids), each valid
under U1-U4 so that the memory unit accepts it.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.readahead import ReadAhead
from threading_engine.decisions import Changes, View, ViewQuery
from threading_engine.identifiers import DeliveryIdentifier, thread_key
from threading_engine.model import Message, Thread, ThreadStatus, Ticket, TicketStatus
from threading_engine.repository import UnitOfWork
from threading_engine.testing.contract_checks import ACCOUNT, CHANNEL, KEY, T0, closed, commit, message, thread

ACCOUNT_2 = attrs.evolve(
    ACCOUNT, id="account-2", delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550102")
)
ACCOUNT_IDS = (ACCOUNT.id, ACCOUNT_2.id)
KEY_2 = thread_key([DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460002")])
KEYS = (KEY, KEY_2)
CONVERSATIONS = ("conv-1", "conv-2")
IDEMPOTENCY_IDS = ("idem-1", "idem-2", "idem-3")
# The accounts' identifiers and one more, for accounts that move (V2: a view by identifier finds the holder).
IDENTIFIERS = (
    ACCOUNT.delivery_identifier,
    ACCOUNT_2.delivery_identifier,
    DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550103"),
)
# Two closing times only, so that latest-closed ties (R4b) are common.
CLOSE_TIMES = (T0 + timedelta(hours=1), T0 + timedelta(hours=2))
OPEN, CLOSED = ThreadStatus.OPEN, ThreadStatus.CLOSED


# -- the store -------------------------------------------------------------------------------------------------


def _seeded() -> MemoryRepository:
    repository = MemoryRepository()
    commit(repository, Changes(channel=CHANNEL))
    commit(repository, Changes(account=ACCOUNT))
    commit(repository, Changes(account=ACCOUNT_2))
    return repository


def _random_store(data: st.DataObject) -> MemoryRepository:
    """A store with both accounts and a few committed saves of every kind."""
    repository = _seeded()
    # Threads first: a save of any other kind needs one, and views by thread id need several.
    for _ in range(data.draw(st.integers(1, 6), label="threads committed before the batch")):
        commit(repository, _draw_created(data, repository, ACCOUNT_IDS))
    for _ in range(data.draw(st.integers(0, 6), label="other saves committed before the batch")):
        commit(repository, _draw_save(data, repository, ACCOUNT_IDS))
    return repository


def _may_hold(repository: MemoryRepository, candidate: Thread) -> bool:
    """Whether storing ``candidate`` over the thread with its id keeps U1 and U3."""
    if candidate.archived:
        return True
    for other in repository.list_threads(candidate.channel_account_id):
        if other.id == candidate.id or other.archived:
            continue
        if candidate.integration_thread_id is None:
            same_key = other.integration_thread_id is None and other.key == candidate.key
            if same_key and other.status is OPEN and candidate.status is OPEN:
                return False
        elif other.integration_thread_id == candidate.integration_thread_id:
            return False
    return True


def _new_message(repository: MemoryRepository, on: Thread, idempotency_id: str | None) -> Message:
    message_id = f"message-{len(repository.list_messages()) + 1}"
    return attrs.evolve(message(message_id, on.id, idempotency_id), channel_account_id=on.channel_account_id)


def _unused_idempotency_ids(repository: MemoryRepository, account_id: str) -> list[str]:
    used = {m.integration_idempotency_id for m in repository.list_messages() if m.channel_account_id == account_id}
    return [idempotency_id for idempotency_id in IDEMPOTENCY_IDS if idempotency_id not in used]


def _draw_message(
    data: st.DataObject, repository: MemoryRepository, on: Thread, avoid: str | None = None
) -> Message | None:
    """Maybe a new message on ``on``, with an idempotency id still free for its account (never ``avoid``)."""
    if not data.draw(st.booleans(), label="with a message"):
        return None
    free = [i for i in _unused_idempotency_ids(repository, on.channel_account_id) if i != avoid]
    return _new_message(repository, on, data.draw(st.sampled_from([None, *free]), label="idempotency id"))


def _new_ticket(repository: MemoryRepository, thread_id: str) -> Ticket:
    return Ticket(f"ticket-{len(repository.list_tickets()) + 1}", thread_id)


def _draw_created(data: st.DataObject, repository: MemoryRepository, account_ids: tuple[str, ...]) -> Changes:
    """A new thread (with a ticket and a message, maybe), moved to a state where it keeps U1 and U3."""
    thread_id = f"thread-{len(repository.list_threads()) + 1}"
    created = thread(
        thread_id,
        channel_account_id=data.draw(st.sampled_from(account_ids), label="account"),
        key=data.draw(st.sampled_from(KEYS), label="key"),
        integration_thread_id=data.draw(st.sampled_from([None, None, *CONVERSATIONS]), label="integration thread id"),
        archived=data.draw(st.booleans(), label="archived"),
    )
    siblings = [t for t in repository.list_threads() if t.channel_account_id in account_ids]
    if data.draw(st.booleans(), label="beside an existing thread") and siblings:
        # Threads that share a key or an integration thread id are the ones that displace one another.
        sibling = data.draw(st.sampled_from(siblings), label="sibling")
        created = attrs.evolve(
            created,
            channel_account_id=sibling.channel_account_id,
            key=sibling.key,
            integration_thread_id=sibling.integration_thread_id,
        )
    if data.draw(st.booleans(), label="closed"):
        created = created.in_state(CLOSED, created.archived, data.draw(st.sampled_from(CLOSE_TIMES)))
    if not _may_hold(repository, created):
        # An open thread beside the key's open one, or a second live one of its integration thread id.
        created = created.in_state(created.status, True, created.closed_at)
    tickets: tuple[Ticket, ...] = ()
    if data.draw(st.booleans(), label="with a ticket"):
        tickets = (_new_ticket(repository, thread_id),)
        created = attrs.evolve(created, ticket_id=tickets[0].id)
    # The message goes on the thread saved with it, which is not stored yet.
    new_message = None
    if data.draw(st.booleans(), label="with a message"):
        free = _unused_idempotency_ids(repository, created.channel_account_id)
        new_message = _new_message(repository, created, data.draw(st.sampled_from([None, *free])))
    return Changes(threads=(created,), tickets=tickets, message=new_message)


def _with_ticket_status(repository: MemoryRepository, of: Thread, status: TicketStatus) -> tuple[Ticket, ...]:
    ticket = repository.get_ticket(of.ticket_id) if of.ticket_id is not None else None
    return () if ticket is None else (attrs.evolve(ticket, status=status),)


def _draw_save(
    data: st.DataObject,
    repository: MemoryRepository,
    account_ids: tuple[str, ...],
    focus: frozenset[str] = frozenset(),
    *,
    setup: bool = True,
) -> Changes:
    """One save the engine could make on the threads of ``account_ids`` (or, with ``setup``, on the channel or
    one of those accounts), valid under U1-U4 now; a save on an existing thread is on one of ``focus`` half the
    time, when one of them qualifies."""
    if setup and data.draw(st.integers(0, 9), label="channel or account save") == 0:
        return _draw_setup_save(data, repository, account_ids)
    threads = [t for t in repository.list_threads() if t.channel_account_id in account_ids]
    reopenable = [
        t for t in threads if t.status is CLOSED and _may_hold(repository, t.in_state(OPEN, t.archived, None))
    ]
    restorable = [t for t in threads if t.archived and _may_hold(repository, t.in_state(t.status, False, t.closed_at))]
    candidates = {
        "close": [t for t in threads if t.status is OPEN],
        "reopen": reopenable,
        "archive": [t for t in threads if not t.archived],
        "restore": restorable,
        "touch": threads,
        "new ticket": threads,
        "ticket status": [t for t in threads if t.ticket_id is not None],
    }
    kinds = ["create", *(kind for kind, qualifying in candidates.items() if qualifying)]
    kind = data.draw(st.sampled_from(kinds), label="save")
    if kind == "create":
        return _draw_created(data, repository, account_ids)
    focused = [t for t in candidates[kind] if t.id in focus]
    if data.draw(st.booleans(), label="on a thread the views show") and focused:
        candidates[kind] = focused
    chosen = data.draw(st.sampled_from(candidates[kind]), label=kind)
    if kind == "close":
        closing = chosen.in_state(CLOSED, chosen.archived, data.draw(st.sampled_from(CLOSE_TIMES)))
        return Changes(threads=(closing,), tickets=_with_ticket_status(repository, chosen, TicketStatus.CLOSED))
    if kind == "reopen":
        reopened = chosen.in_state(OPEN, chosen.archived, None).touched(T0 + timedelta(days=1))
        return Changes(
            threads=(reopened,),
            tickets=_with_ticket_status(repository, chosen, TicketStatus.OPEN),
            message=_draw_message(data, repository, chosen),
        )
    if kind == "archive":
        return Changes(threads=(chosen.in_state(chosen.status, True, chosen.closed_at),))
    if kind == "restore":
        return Changes(threads=(chosen.in_state(chosen.status, False, chosen.closed_at),))
    return _draw_change_in_place(data, repository, kind, chosen)


def _draw_setup_save(data: st.DataObject, repository: MemoryRepository, account_ids: tuple[str, ...]) -> Changes:
    """The channel renamed, or an account (de)authorized or moved to an identifier no other account holds (V2)."""
    if data.draw(st.booleans(), label="channel"):
        channel = repository.get_channel(CHANNEL.id)
        assert channel is not None
        return Changes(channel=attrs.evolve(channel, name=f"{channel.name}, renamed"))
    account = repository.get_account(data.draw(st.sampled_from(account_ids), label="account"))
    assert account is not None
    held = {a.delivery_identifier for a in repository.list_accounts() if a.id != account.id}
    free = [identifier for identifier in IDENTIFIERS if identifier not in held]
    return Changes(
        account=attrs.evolve(
            account,
            authorized=data.draw(st.booleans(), label="authorized"),
            delivery_identifier=data.draw(st.sampled_from(free), label="identifier"),
        )
    )


def _draw_change_in_place(
    data: st.DataObject, repository: MemoryRepository, kind: str, chosen: Thread, avoid: str | None = None
) -> Changes:
    """A save that leaves ``chosen`` in its lifecycle state: a message, a new ticket, or a ticket's status."""
    if kind == "touch":
        at = T0 + timedelta(minutes=data.draw(st.integers(1, 5), label="minutes"))
        return Changes(threads=(chosen.touched(at),), message=_draw_message(data, repository, chosen, avoid))
    if kind == "new ticket":
        ticket = _new_ticket(repository, chosen.id)
        return Changes(threads=(attrs.evolve(chosen, ticket_id=ticket.id),), tickets=(ticket,))
    status = data.draw(st.sampled_from(TicketStatus), label="ticket status")
    return Changes(tickets=_with_ticket_status(repository, chosen, status))


def key_lookups(threads: list[Thread]) -> st.SearchStrategy[tuple[str, str | None, str | None]]:
    """(account id, key, integration thread id) with one of the last two set: a stored thread's half the time
    (a view of an unused one is mostly empty), else any of the accounts' keys and integration thread ids."""
    pairs: list[tuple[str, str | None, str | None]] = [
        (account_id, key, None) for account_id in ACCOUNT_IDS for key in KEYS
    ] + [(account_id, None, conversation) for account_id in ACCOUNT_IDS for conversation in CONVERSATIONS]
    used = [
        (t.channel_account_id, None, t.integration_thread_id)
        if t.integration_thread_id is not None
        else (t.channel_account_id, t.key, None)
        for t in threads
    ]
    return st.one_of(st.sampled_from(used), st.sampled_from(pairs)) if used else st.sampled_from(pairs)


def _queries(repository: MemoryRepository, *, missing_threads: bool = True) -> st.SearchStrategy[ViewQuery]:
    """The queries the engine asks: by key or integration thread id (with an idempotency id, maybe), by thread
    id (with ``missing_threads``, also the next ids a save will create), by account, channel or identifier."""
    threads = repository.list_threads()
    lookups = key_lookups(threads)
    by_lookup = st.builds(
        lambda lookup, idempotency_id: ViewQuery(
            channel_account_id=lookup[0], key=lookup[1], integration_thread_id=lookup[2], idempotency_id=idempotency_id
        ),
        lookups,
        st.sampled_from([None, *IDEMPOTENCY_IDS]),
    )
    thread_ids = [f"thread-{n}" for n in range(1, len(threads) + (3 if missing_threads else 1))]
    by_thread = st.sampled_from(thread_ids).map(lambda thread_id: ViewQuery(thread_id=thread_id))
    setup = st.sampled_from(
        [
            ViewQuery(channel_id=CHANNEL.id),
            ViewQuery(channel_id=CHANNEL.id, account_identifier=ACCOUNT_2.delivery_identifier),
            *(ViewQuery(channel_account_id=account_id) for account_id in ACCOUNT_IDS),
        ]
    )
    # Commands of a batch ask by thread id about as often as by key or integration thread id.
    return st.one_of(*([by_thread, by_thread] if thread_ids else []), by_lookup, by_lookup, setup)


def _save(unit: UnitOfWork, read_ahead: ReadAhead, changes: Changes) -> None:
    unit.save(changes, ())
    read_ahead.saved(changes)


def _shown(view: View) -> list[Thread]:
    roles = (view.thread, view.open_thread, view.latest_closed_thread, view.integration_thread, view.duplicate_thread)
    return list({t.id: t for t in roles if t is not None}.values())


# -- properties ----------------------------------------------------------------------------------------------


def _assert_agrees(read_ahead: ReadAhead, unit: UnitOfWork, query: ViewQuery) -> None:
    taken = read_ahead.take(query)
    assert taken is None or taken == unit.load(query)


# At least 150 examples whatever the profile: fewer miss some of the ways a replay can go wrong.
@settings(max_examples=max(settings().max_examples, 150))
@given(st.data())
def test_take_is_none_or_exactly_what_a_load_returns_now(data: st.DataObject) -> None:
    """After any sequence of valid saves, each recorded with ``saved``, ``take(query)`` is ``None`` or equal to
    ``load(query)`` at that moment, for every kind of query the engine reads ahead."""
    repository = _random_store(data)
    with repository.unit_of_work() as unit:
        queries = data.draw(st.lists(_queries(repository), min_size=1, max_size=6, unique=True), label="queries")
        views = {query: unit.load(query) for query in queries}
        read_ahead = ReadAhead(dict(views))
        # Saves on the threads the views show are the ones that can make a replayed view wrong.
        shown = frozenset(t.id for view in views.values() for t in _shown(view))
        saves: list[Changes] = []
        for _ in range(data.draw(st.integers(1, 16), label="steps")):
            if data.draw(st.integers(0, 2), label="take") == 0:
                # Any of the queries, taken already or not: a view is given out once.
                _assert_agrees(read_ahead, unit, data.draw(st.sampled_from(queries), label="taken"))
                continue
            saves.append(_draw_save(data, repository, ACCOUNT_IDS, shown))
            _save(unit, read_ahead, saves[-1])
            # Every view is also taken now, from a read-ahead of its own given the same saves: each example
            # then checks every view after every save, not only where the batch happens to take it.
            for query in queries:
                probe = ReadAhead({query: views[query]})
                for changes in saves:
                    probe.saved(changes)
                _assert_agrees(probe, unit, query)
        for query in queries:
            _assert_agrees(read_ahead, unit, query)


def _lookups(query: ViewQuery, view: View) -> tuple[str | None, str | None, str | None]:
    """The account, key and integration thread id a load of ``query`` looks up (see ``ViewQuery``)."""
    if view.thread is None:
        return query.channel_account_id, query.key, query.integration_thread_id
    if view.thread.integration_thread_id is None:
        return view.thread.channel_account_id, view.thread.key, query.integration_thread_id
    return view.thread.channel_account_id, query.key, view.thread.integration_thread_id


def _draw_replayable_save(data: st.DataObject, repository: MemoryRepository, query: ViewQuery, view: View) -> Changes:
    """A save of a kind ``take`` is documented to replay onto ``view`` (the view of ``query`` now)."""
    account_id, key, conversation = _lookups(query, view)
    shown = _shown(view)
    kinds = ["elsewhere"]
    if shown:
        kinds += ["touch", "new ticket"]
    if any(t.ticket_id is not None for t in shown):
        kinds.append("ticket status")
    if account_id is not None and key is not None and view.open_thread is None:
        kinds.append("created for its key")
    if account_id is not None and conversation is not None and view.integration_thread is None:
        kinds.append("created for its integration thread id")
    kind = data.draw(st.sampled_from(kinds), label="replayable save")
    if kind == "elsewhere":
        # Only threads of an account the view does not look up: none of its subjects is written.
        others = tuple(a for a in ACCOUNT_IDS if a != account_id)
        return _draw_save(data, repository, others, setup=False)
    if kind.startswith("created"):
        assert account_id is not None
        thread_id = f"thread-{len(repository.list_threads()) + 1}"
        if kind == "created for its key":
            assert key is not None
            created = thread(thread_id, channel_account_id=account_id, key=key)
        else:
            created = thread(thread_id, channel_account_id=account_id, integration_thread_id=conversation)
            if data.draw(st.booleans(), label="closed"):
                created = closed(
                    thread_id, CLOSE_TIMES[0], channel_account_id=account_id, integration_thread_id=conversation
                )
        ticket = _new_ticket(repository, thread_id)
        if data.draw(st.booleans(), label="with a ticket"):
            return Changes(threads=(attrs.evolve(created, ticket_id=ticket.id),), tickets=(ticket,))
        return Changes(threads=(created,))
    chosen = data.draw(st.sampled_from([t for t in shown if kind != "ticket status" or t.ticket_id is not None]))
    return _draw_change_in_place(data, repository, kind, chosen, avoid=query.idempotency_id)


@given(st.data())
def test_take_answers_after_the_saves_it_is_documented_to_replay(data: st.DataObject) -> None:
    """``take`` is not ``None`` (and equals a fresh load) when every save since the view was read left it
    untouched, changed one of its threads without moving it, created a thread for its key or integration
    thread id where it had none, or created or changed a ticket of one of its threads."""
    repository = _random_store(data)
    with repository.unit_of_work() as unit:
        query = data.draw(_queries(repository, missing_threads=False), label="query")
        read_ahead = ReadAhead({query: unit.load(query)})
        for _ in range(data.draw(st.integers(0, 6), label="saves")):
            _save(unit, read_ahead, _draw_replayable_save(data, repository, query, unit.load(query)))
        taken = read_ahead.take(query)
        assert taken is not None
        assert taken == unit.load(query)


# -- examples ------------------------------------------------------------------------------------------------


def _taken_after(repository: MemoryRepository, query: ViewQuery, *saves: Changes) -> tuple[View | None, View]:
    """``take(query)`` after ``saves``, all in one unit of work, and what a load returns then."""
    with repository.unit_of_work() as unit:
        read_ahead = ReadAhead({query: unit.load(query)})
        for changes in saves:
            _save(unit, read_ahead, changes)
        return read_ahead.take(query), unit.load(query)


BY_KEY = ViewQuery(channel_account_id=ACCOUNT.id, key=KEY, idempotency_id="idem-1")
BY_CONVERSATION = ViewQuery(channel_account_id=ACCOUNT.id, integration_thread_id="conv-1")


def test_a_view_no_save_touched_is_given_out_once() -> None:
    """A view no save concerns is taken as read; a second take of its query answers ``None``."""
    repository = _seeded()
    commit(repository, Changes(threads=(thread("thread-1"),)))
    with repository.unit_of_work() as unit:
        read_ahead = ReadAhead({BY_KEY: unit.load(BY_KEY)})
        _save(unit, read_ahead, Changes(threads=(thread("thread-2", key=KEY_2),)))
        assert read_ahead.take(BY_KEY) == unit.load(BY_KEY)
        assert read_ahead.take(BY_KEY) is None


def test_saves_made_while_nothing_was_read_ahead_are_not_kept() -> None:
    """With no views read ahead, ``saved`` keeps nothing and every take answers ``None``."""
    read_ahead = ReadAhead()
    read_ahead.saved(Changes(threads=(thread("thread-1"),)))
    assert read_ahead.take(BY_KEY) is None


def test_a_thread_of_the_view_changed_in_place_is_replayed() -> None:
    """A shown thread saved in the same lifecycle state, with a message on it, is replayed into every role."""
    repository = _seeded()
    commit(repository, Changes(threads=(thread("thread-1"),), message=message("message-1", "thread-1", "idem-1")))
    touched = thread("thread-1").touched(T0 + timedelta(minutes=5))
    taken, fresh = _taken_after(
        repository, BY_KEY, Changes(threads=(touched,), message=message("message-2", "thread-1"))
    )
    assert taken is not None and taken.open_thread == taken.duplicate_thread == touched
    assert taken == fresh


@pytest.mark.parametrize("query", [BY_KEY, ViewQuery(thread_id="thread-1")], ids=["by key", "by a thread of the key"])
def test_a_thread_created_for_the_views_key_becomes_its_open_thread(query: ViewQuery) -> None:
    """An open thread created for the view's key (the query's, or that of the thread it names) where it had none
    is its open thread, and the latest closed one leaves the view (R4a comes first)."""
    repository = _seeded()
    commit(repository, Changes(threads=(closed("thread-1", CLOSE_TIMES[0]),)))
    created = thread("thread-2", ticket_id="ticket-1")
    taken, fresh = _taken_after(
        repository, query, Changes(threads=(created,), tickets=(Ticket("ticket-1", "thread-2"),))
    )
    assert taken is not None and taken.open_thread == created
    assert taken.latest_closed_thread is None
    assert taken == fresh


def test_a_ticket_of_one_of_its_threads_is_replayed() -> None:
    """A new ticket given to a shown thread, then a change of its status, are replayed into ``tickets``."""
    repository = _seeded()
    commit(repository, Changes(threads=(closed("thread-1", CLOSE_TIMES[0]),)))
    ticket = Ticket("ticket-1", "thread-1")
    with_ticket = attrs.evolve(closed("thread-1", CLOSE_TIMES[0]), ticket_id=ticket.id)
    closed_ticket = attrs.evolve(ticket, status=TicketStatus.CLOSED)
    taken, fresh = _taken_after(
        repository, BY_KEY, Changes(threads=(with_ticket,), tickets=(ticket,)), Changes(tickets=(closed_ticket,))
    )
    assert taken is not None and dict(taken.tickets) == {"ticket-1": closed_ticket}
    assert taken == fresh


def test_a_view_by_an_integration_threads_id_gains_the_new_live_thread_of_its_integration_thread_id() -> None:
    """A view read by the id of an archived integration thread looks up that thread's integration thread id: a
    live thread created for it becomes the view's integration thread."""
    repository = _seeded()
    archived = closed("thread-1", CLOSE_TIMES[0], integration_thread_id="conv-1", archived=True)
    commit(repository, Changes(threads=(archived,)))
    created = thread("thread-2", integration_thread_id="conv-1")
    taken, fresh = _taken_after(repository, ViewQuery(thread_id="thread-1"), Changes(threads=(created,)))
    assert taken is not None and taken.thread == archived and taken.integration_thread == created
    assert taken == fresh


def test_threads_of_another_account_key_or_integration_thread_id_saved_beside_a_replayed_change_are_ignored() -> None:
    """In a save that changes a shown thread in place, threads the view does not look up leave it as replayed."""
    repository = _seeded()
    commit(repository, Changes(threads=(thread("thread-1"),)))
    elsewhere = (
        thread("thread-2", channel_account_id=ACCOUNT_2.id),
        thread("thread-3", key=KEY_2),
        thread("thread-4", integration_thread_id="conv-1"),
    )
    touched = thread("thread-1").touched(T0 + timedelta(minutes=5))
    taken, fresh = _taken_after(repository, BY_KEY, Changes(threads=(touched, *elsewhere)))
    assert taken is not None and taken.open_thread == touched
    assert taken == fresh


def test_a_thread_that_leaves_its_place_makes_the_view_load_again() -> None:
    """Closing the view's open thread may change its latest closed thread too: ``take`` answers ``None``."""
    repository = _seeded()
    commit(repository, Changes(threads=(thread("thread-1"),)))
    taken, fresh = _taken_after(repository, BY_KEY, Changes(threads=(closed("thread-1", CLOSE_TIMES[0]),)))
    assert taken is None and fresh.latest_closed_thread == closed("thread-1", CLOSE_TIMES[0])


def test_the_thread_a_query_names_created_since_makes_the_view_load_again() -> None:
    """A view read for a thread id that did not exist yet is not completed from the thread saved under it."""
    taken, fresh = _taken_after(_seeded(), ViewQuery(thread_id="thread-1"), Changes(threads=(thread("thread-1"),)))
    assert taken is None and fresh.thread == thread("thread-1")


def test_threads_a_view_cannot_place_with_certainty_make_it_load_again() -> None:
    """A closed thread new to the view's key may be its latest closed one, an archived thread of its integration
    thread id is in no role: neither is worked out, ``take`` answers ``None``."""
    taken, _ = _taken_after(_seeded(), BY_KEY, Changes(threads=(closed("thread-1", CLOSE_TIMES[0]),)))
    assert taken is None
    archived = closed("thread-1", CLOSE_TIMES[0], integration_thread_id="conv-1", archived=True)
    taken, _ = _taken_after(_seeded(), BY_CONVERSATION, Changes(threads=(archived,)))
    assert taken is None


def test_a_message_with_the_views_idempotency_id_makes_it_load_again() -> None:
    """A message published with the idempotency id the view looked up is now its duplicate: ``None``."""
    repository = _seeded()
    commit(repository, Changes(threads=(thread("thread-1"),)))
    taken, fresh = _taken_after(repository, BY_KEY, Changes(message=message("message-1", "thread-1", "idem-1")))
    assert taken is None and fresh.duplicate == message("message-1", "thread-1", "idem-1")


def test_a_change_of_the_views_channel_or_account_makes_it_load_again() -> None:
    """Channel and account saves are not replayed: a view that read either answers ``None``."""
    renamed_channel = attrs.evolve(CHANNEL, name="Renamed")
    taken, _ = _taken_after(_seeded(), ViewQuery(channel_id=CHANNEL.id), Changes(channel=renamed_channel))
    assert taken is None
    renamed_account = attrs.evolve(ACCOUNT, name="Renamed")
    taken, _ = _taken_after(_seeded(), ViewQuery(channel_account_id=ACCOUNT.id), Changes(account=renamed_account))
    assert taken is None


def test_a_ticket_the_view_never_read_makes_it_load_again() -> None:
    """A shown thread given a ticket saved by an earlier save (whose value the view dropped) answers ``None``."""
    repository = _seeded()
    commit(repository, Changes(threads=(thread("thread-1"),)))
    ticket = Ticket("ticket-1", "thread-1")
    given_ticket = attrs.evolve(thread("thread-1"), ticket_id=ticket.id)
    taken, fresh = _taken_after(repository, BY_KEY, Changes(tickets=(ticket,)), Changes(threads=(given_ticket,)))
    assert taken is None and dict(fresh.tickets) == {"ticket-1": ticket}


def test_a_save_that_concerns_the_view_only_through_a_thread_a_later_save_brought_in_makes_it_load_again() -> None:
    """The ticket of an older closed thread is closed, then the thread is reopened into the view with its ticket
    reopened: the first save would have to be replayed after the second, so ``take`` answers ``None``."""
    repository = _seeded()
    older = closed("thread-1", CLOSE_TIMES[0], ticket_id="ticket-1")
    commit(repository, Changes(threads=(older,), tickets=(Ticket("ticket-1", "thread-1"),)))
    commit(repository, Changes(threads=(closed("thread-2", CLOSE_TIMES[1]),)))
    ticket_closed = Changes(tickets=(Ticket("ticket-1", "thread-1", TicketStatus.CLOSED),))
    reopened = Changes(threads=(older.in_state(OPEN, False, None),), tickets=(Ticket("ticket-1", "thread-1"),))
    taken, fresh = _taken_after(repository, BY_KEY, ticket_closed, reopened)
    assert taken is None and fresh.open_thread == older.in_state(OPEN, False, None)
    assert dict(fresh.tickets) == {"ticket-1": Ticket("ticket-1", "thread-1")}


def test_an_account_saved_with_another_identifier_is_no_longer_the_holder_of_the_old_one() -> None:
    """After the holder of an identifier is saved with another one, the view by the old identifier is not the
    one read before: ``take`` must answer ``None`` or the fresh view."""
    query = ViewQuery(channel_id=CHANNEL.id, account_identifier=ACCOUNT.delivery_identifier)
    moved = attrs.evolve(ACCOUNT, delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550199"))
    taken, fresh = _taken_after(_seeded(), query, Changes(account=moved))
    assert taken is None or taken == fresh


def test_v2_an_account_moved_to_the_identifier_a_view_found_free_makes_the_view_load_again() -> None:
    """A view by identifier that found no holder reads the identifier itself: an account saved with it since
    makes ``take`` answer ``None``, and the load finds the new holder."""
    repository = _seeded()
    free = ViewQuery(channel_id=CHANNEL.id, account_identifier=IDENTIFIERS[2])
    moved = attrs.evolve(ACCOUNT_2, delivery_identifier=IDENTIFIERS[2])
    taken, fresh = _taken_after(repository, free, Changes(account=moved))
    assert taken is None and fresh.account_with_identifier == moved
