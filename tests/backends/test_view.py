"""The one view module (``threading_engine.backends.view``): a loaded view brought up to date with a decision's
changes is either ``None`` ("not certain") or exactly the view a fresh load returns, on every store that
remembers or reads ahead views (memory as the oracle, and SQLite).

Unlike ``test_readahead.py`` and ``test_viewcache.py``, whose saves are drawn directly, the changes here are
the rules' own decisions for random commands: messages (some with idempotency ids or integration thread ids,
some reopening a closed thread, R4), agent replies and thread commands (close, archive, restore, reopen, close
ticket), so that every kind of change the engine makes is replayed onto every kind of view it loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from threading_engine import Engine, ThreadingError, rules
from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.backends.view import updated_view
from threading_engine.commands import (
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    PublishMessage,
    ReopenThread,
    Reply,
    RestoreThread,
)
from threading_engine.decisions import Policy, ViewQuery
from threading_engine.identifiers import DeliveryIdentifier, IdentifierType
from threading_engine.ids import SequentialIds
from threading_engine.model import Capabilities, Direction, Participant, ThreadingModel
from threading_engine.repository import PendingEvent, Repository
from threading_engine.testing.contract_checks import T0

PEOPLE = tuple(Participant(DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+1555010{n}")) for n in range(1, 4))
IDEMPOTENCY_IDS = ("idem-1", "idem-2")
CONVERSATIONS = ("conv-1", "conv-2")
POLICY = Policy(reopen_window=timedelta(hours=2))


def _memory(_: Path) -> Repository:
    return MemoryRepository()


def _sqlite(directory: Path) -> Repository:
    return SQLiteRepository(str(directory / "view.db"))


STORES: dict[str, Callable[[Path], Repository]] = {"memory": _memory, "sqlite": _sqlite}


def _set_up(repository: Repository) -> tuple[Engine, dict[ThreadingModel, str]]:
    """A channel and an account for each threading model."""
    engine = Engine(repository, clock=lambda: T0, ids=SequentialIds(), policy=POLICY)
    accounts = {}
    for number, model in enumerate(ThreadingModel, start=1):
        channel = engine.create_channel(
            f"channel {number}",
            Capabilities(
                threading_model=model,
                delivery_identifier_types=(IdentifierType.HS_PHONE_NUMBER,),
                allow_outgoing_messages=True,
            ),
        )
        assert channel.channel_id is not None
        account = engine.create_channel_account(
            channel.channel_id,
            name=f"account {number}",
            inbox_id="1",
            delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+1555020{number}"),
            creates_tickets=True,
        )
        assert account.channel_account_id is not None
        accounts[model] = account.channel_account_id
    return engine, accounts


def _commands(data: st.DataObject, accounts: dict[ThreadingModel, str], thread_ids: list[str]) -> Command:
    model = data.draw(st.sampled_from(list(ThreadingModel)), label="model")
    if thread_ids and data.draw(st.integers(0, 2), label="thread command?") == 0:
        kind = data.draw(
            st.sampled_from([CloseThread, ArchiveThread, RestoreThread, ReopenThread, CloseTicket, Reply]),
            label="command",
        )
        thread_id = data.draw(st.sampled_from(thread_ids), label="thread")
        return Reply(thread_id=thread_id, text="agent") if kind is Reply else kind(thread_id=thread_id)
    by_integration = model is ThreadingModel.INTEGRATION_THREAD_ID
    return PublishMessage(
        channel_account_id=accounts[model],
        direction=Direction.INCOMING,
        senders=(data.draw(st.sampled_from(PEOPLE), label="sender"),),
        text="hello",
        integration_thread_id=data.draw(st.sampled_from(CONVERSATIONS), label="conversation")
        if by_integration
        else None,
        integration_idempotency_id=data.draw(st.none() | st.sampled_from(IDEMPOTENCY_IDS), label="idempotency id"),
    )


def _watched(engine: Engine, accounts: dict[ThreadingModel, str], thread_ids: list[str]) -> Iterator[ViewQuery]:
    """A query of every kind the engine makes, for every subject the commands can touch."""
    for model, account_id in accounts.items():
        account = engine.channel_account(account_id)
        channel = engine.channel(account.channel_id)
        for person in PEOPLE:
            for idempotency_id in (None, *IDEMPOTENCY_IDS):
                for conversation in CONVERSATIONS if model is ThreadingModel.INTEGRATION_THREAD_ID else (None,):
                    command = PublishMessage(
                        channel_account_id=account_id,
                        direction=Direction.INCOMING,
                        senders=(person,),
                        text="hello",
                        integration_thread_id=conversation,
                        integration_idempotency_id=idempotency_id,
                    )
                    yield rules.plan(command, account, channel)
    for thread_id in thread_ids:
        yield ViewQuery(thread_id=thread_id)


@pytest.mark.parametrize("store", sorted(STORES))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_view_updated_with_a_decisions_changes_is_none_or_what_a_fresh_load_returns(
    store: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    with closing(STORES[store](tmp_path_factory.mktemp(store))) as repository:
        engine, accounts = _set_up(repository)
        ids, now = engine.ids, T0
        thread_ids: list[str] = []
        updated = 0
        for _ in range(data.draw(st.integers(1, 12), label="commands")):
            now += timedelta(minutes=data.draw(st.sampled_from([1, 30, 90, 200]), label="minutes later"))
            try:
                command = rules.normalize(_commands(data, accounts, thread_ids))
            except ThreadingError:
                continue
            account_id = getattr(command, "channel_account_id", None)
            routing = (None, None)
            if account_id is not None:
                account = engine.channel_account(account_id)
                routing = (account, engine.channel(account.channel_id))  # type: ignore[assignment]
            watched = list(dict.fromkeys(_watched(engine, accounts, thread_ids)))
            with repository.unit_of_work() as unit:
                before = {query: unit.load(query) for query in watched}
                view = unit.load(rules.plan(command, *routing))
                try:
                    decision = rules.decide(view, command, now, POLICY, ids, None, None)
                except ThreadingError:
                    continue
                unit.save(decision.changes, [PendingEvent(ids("event"), now, event) for event in decision.events])
                for query, loaded in before.items():
                    brought_up_to_date = updated_view(query, loaded, decision.changes)
                    if brought_up_to_date is not None:
                        updated += 1
                        assert brought_up_to_date == unit.load(query), (query, decision.changes)
                unit.commit()
            if decision.thread_id is not None and decision.thread_id not in thread_ids:
                thread_ids.append(decision.thread_id)
        event(f"views brought up to date: {min(updated, 10)}{'+' if updated >= 10 else ''}")
