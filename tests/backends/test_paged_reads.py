"""The paged reads (``reads.py``) on every store: paging through a list page by page gives exactly the whole
list, in order, whatever the filter and the page size, and the three stores give the same pages, cursors and
totals. The whole list is the store's own ``list_*`` read filtered in Python, so each store's SQL filters are
held to the plain reading of the filter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    NotFoundError,
    SequentialIds,
    ThreadingError,
    ThreadingModel,
    ThreadStatus,
    ValidationError,
    open_repository,
)
from threading_engine.backends.listing import account_held, thread_held
from threading_engine.reads import AccountFilter, Page, ThreadFilter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_V = TypeVar("_V")


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _fill(engine: Engine, clock: _Clock) -> None:
    """Two channels, seven accounts over two portals and two inboxes (one archived), threads open, closed and
    archived with several messages each."""
    types = (IdentifierType.HS_PHONE_NUMBER, IdentifierType.HS_EMAIL_ADDRESS)
    channels = [
        engine.create_channel(f"C{n}", Capabilities(types, ThreadingModel.DELIVERY_IDENTIFIER)).channel_id
        for n in range(2)
    ]
    accounts = []
    for n in range(7):
        identifier = (
            DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+1555010{n}")
            if n % 3
            else DeliveryIdentifier.of("HS_EMAIL_ADDRESS", f"desk{n}@example.com")
        )
        made = engine.create_channel_account(
            str(channels[n % 2]),
            name=f"Desk {n}",
            inbox_id=str(100 + n % 2),
            portal_id=str(1 + n % 2),
            delivery_identifier=identifier,
        )
        accounts.append(str(made.channel_account_id))
    engine.archive_channel_account(accounts[5])
    for n in range(30):
        clock.now = T0 + timedelta(minutes=n)
        sender = DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+4420794600{n % 11:02d}")
        published = engine.publish_message(
            accounts[n % 5], direction=Direction.INCOMING, senders=[sender], text=f"message {n}"
        )
        if n % 7 == 3:
            engine.close_thread(str(published.thread_id))
        if n % 13 == 5:
            engine.archive_thread(str(published.thread_id))


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[list[Engine]]:
    import psycopg

    schema = "te_test_paged_reads"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    urls = ["memory", f"sqlite:///{tmp_path_factory.mktemp('paged') / 'store.db'}", f"{postgres_url}?schema={schema}"]
    made = []
    for url in urls:
        clock = _Clock()
        engine = Engine(open_repository(url), clock=clock, ids=SequentialIds())
        _fill(engine, clock)
        made.append(engine)
    yield made
    for engine in made:
        engine.close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _all_pages(read: Callable[[str | None], Page[_V]]) -> tuple[list[_V], list[Page[_V]]]:
    pages = [read(None)]
    while pages[-1].after is not None:
        assert len(pages) < 1_000, "paging does not end"
        pages.append(read(pages[-1].after))
    return [item for page in pages for item in page.results], pages


_BOOLS = st.sampled_from([None, True, False])
_ACCOUNT_FILTERS = st.builds(
    AccountFilter,
    channel_ids=st.lists(st.sampled_from(["channel-1", "channel-2", "channel-9"]), max_size=2).map(tuple),
    portal_id=st.sampled_from([None, "1", "2", "3"]),
    archived=_BOOLS,
    identifier_types=st.lists(st.sampled_from(list(IdentifierType)), max_size=2, unique=True).map(tuple),
    identifier_values=st.lists(st.sampled_from(["+15550101", "+15550102", "desk3@example.com", "x"]), max_size=2).map(
        tuple
    ),
    inbox_ids=st.lists(st.sampled_from(["100", "101", "102"]), max_size=2).map(tuple),
)
_THREAD_FILTERS = st.builds(
    ThreadFilter,
    portal_id=st.sampled_from([None, "1", "2"]),
    channel_account_id=st.sampled_from([None, "account-1", "account-4"]),
    status=st.sampled_from([None, *ThreadStatus]),
    archived=_BOOLS,
    inbox_ids=st.lists(st.sampled_from(["100", "101"]), max_size=1).map(tuple),
    key=st.sampled_from([None, "HS_PHONE_NUMBER:+442079460003"]),
    ticket_id=st.none(),
    latest_message_after=st.sampled_from([None, T0 + timedelta(minutes=12, seconds=30)]),
)
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _same_on_every_store(engines: list[Engine], read: Callable[[Engine], Any]) -> Any:
    answers = [read(engine) for engine in engines]
    assert answers[1] == answers[0] and answers[2] == answers[0]
    return answers[0]


@_SETTINGS
@given(where=_ACCOUNT_FILTERS, limit=st.integers(1, 8))
def test_paging_accounts_gives_the_whole_filtered_list_in_order_on_every_store(
    engines: list[Engine], where: AccountFilter, limit: int
) -> None:
    def read(engine: Engine) -> tuple[list[Any], list[Page[Any]]]:
        return _all_pages(lambda after: engine.accounts_page(where, after=after, limit=limit))

    paged, pages = _same_on_every_store(engines, read)
    whole = [account for account in engines[0].repository.list_accounts() if account_held(where, account)]
    assert paged == whole
    assert {page.total for page in pages} == {len(whole)}


@_SETTINGS
@given(where=_THREAD_FILTERS, limit=st.integers(1, 8), newest_first=st.booleans())
def test_paging_threads_gives_the_whole_filtered_list_in_order_on_every_store(
    engines: list[Engine], where: ThreadFilter, limit: int, newest_first: bool
) -> None:
    def read(engine: Engine) -> tuple[list[Any], list[Page[Any]]]:
        return _all_pages(lambda after: engine.threads_page(where, after=after, limit=limit, newest_first=newest_first))

    paged, _ = _same_on_every_store(engines, read)
    reference = engines[0]
    whole = [
        thread
        for thread in reference.repository.list_threads()
        if thread_held(where, thread, reference.channel_account(thread.channel_account_id))
    ]
    assert paged == (whole[::-1] if newest_first else whole)


@_SETTINGS
@given(thread=st.integers(1, 12), limit=st.integers(1, 4), newest_first=st.booleans())
def test_paging_a_threads_messages_and_channels_gives_them_all_in_order_on_every_store(
    engines: list[Engine], thread: int, limit: int, newest_first: bool
) -> None:
    thread_id = f"thread-{thread}"

    def read(engine: Engine) -> tuple[list[Any], list[Page[Any]]]:
        return _all_pages(
            lambda after: engine.messages_page(thread_id, after=after, limit=limit, newest_first=newest_first)
        )

    paged, _ = _same_on_every_store(engines, read)
    whole = engines[0].messages(thread_id)
    assert paged == (whole[::-1] if newest_first else whole)
    channels, pages = _same_on_every_store(
        engines, lambda engine: _all_pages(lambda after: engine.channels_page(after=after, limit=limit))
    )
    assert channels == engines[0].repository.list_channels()
    assert {page.total for page in pages} == {2}


def test_a_cursor_that_names_nothing_gives_an_empty_page_and_bad_arguments_are_refused(engines: list[Engine]) -> None:
    for engine in engines:
        assert engine.threads_page(after="thread-999").results == ()
        assert engine.messages_page("thread-1", after="message-999").results == ()
        assert engine.messages_page("thread-1", after="message-2").results == ()  # another thread's message
    engine = engines[0]  # the arguments are checked before any store is asked
    for call, field in (
        (lambda: engine.channels_page(limit=0), "limit"),
        (lambda: engine.channels_page(limit=501), "limit"),
        (lambda: engine.accounts_page(after=""), "after"),
        (lambda: engine.accounts_page(AccountFilter(portal_id="x")), "portalId"),
        (lambda: engine.accounts_page(AccountFilter(identifier_types=("FAX",))), "deliveryIdentifierType"),  # type: ignore[arg-type]
        (lambda: engine.threads_page(ThreadFilter(status="OPEN")), "threadStatus"),  # type: ignore[arg-type]
        (
            lambda: engine.threads_page(ThreadFilter(latest_message_after=datetime(2026, 1, 1))),
            "latestMessageTimestampAfter",
        ),
        (lambda: engine.threads_page(ThreadFilter(inbox_ids="100")), "inboxId"),  # type: ignore[arg-type]
        (lambda: engine.threads_page(ThreadFilter(inbox_ids=("",))), "inboxId"),
        (lambda: engine.threads_page(ThreadFilter(channel_account_id=7)), "channelAccountId"),  # type: ignore[arg-type]
        (lambda: engine.threads_page(ThreadFilter(archived="yes")), "archived"),  # type: ignore[arg-type]
        (lambda: engine.threads_page(ThreadFilter(key=7)), "associatedContactId"),  # type: ignore[arg-type]
        (lambda: engine.threads_page(newest_first="yes"), "newestFirst"),  # type: ignore[arg-type]
        (lambda: engine.accounts_page("all"), "filter"),  # type: ignore[arg-type]
        (lambda: engine.threads_page("all"), "filter"),  # type: ignore[arg-type]
        (
            lambda: engine.accounts_page(AccountFilter(identifier_values=(7,))),  # type: ignore[arg-type]
            "deliveryIdentifierValue",
        ),
        (lambda: engine.messages_page("thread-404"), "threadId"),
    ):
        with pytest.raises(ThreadingError) as refused:
            call()
        assert refused.value.field == field
        assert isinstance(refused.value, NotFoundError if field == "threadId" else ValidationError)
