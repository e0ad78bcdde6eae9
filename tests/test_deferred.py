"""``deferred.drawn_ids``: the ids a publish's decision drew, told from the decision and its view alone.

When a store's unique index finds a duplicate the view left out (``repository.DeferringUnitOfWork``), the engine
gives back exactly these ids, so that the next commands get the ids they would have got. Here the rules decide
each kind of placement with a factory that records what it hands out, and the engine's event ids are drawn after
them, as ``Engine._decide`` draws them; the ids told from the decision must be those, in that order.

The engine defers the duplicate only for messages keyed by their participants, because a rejected one of those has
drawn no id (there is then nothing to give back when the rejection turns out to be a duplicate): checked here
too, beside the integration thread id's I1, which draws one before refusing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from helpers import OWN, A, B, Clock, connect, email

from threading_engine import (
    Direction,
    Engine,
    IdentifierType,
    Participant,
    SequentialIds,
    ThreadingError,
    ThreadingModel,
    rules,
)
from threading_engine.backends.memory import MemoryRepository
from threading_engine.commands import ArchiveChannel, CloseThread, PublishMessage, UpdateChannelAccount
from threading_engine.decisions import Decision, Policy, View, ViewQuery
from threading_engine.deferred import drawn_ids
from threading_engine.repository import PendingEvent

_Recorded = list[tuple[str, str]]


def _recording() -> tuple[Callable[[str], str], _Recorded]:
    ids = SequentialIds()
    drawn: _Recorded = []

    def new_id(kind: str) -> str:
        made = f"new-{ids(kind)}"
        drawn.append((kind, made))
        return made

    return new_id, drawn


def _view(engine: Engine, command: PublishMessage) -> tuple[View, ViewQuery, PublishMessage]:
    """The view the engine would load for ``command`` now, its query, and the command normalized."""
    normalized = rules.normalize(command)
    assert isinstance(normalized, PublishMessage)
    account = engine.channel_account(normalized.channel_account_id)
    query = rules.plan(normalized, account, engine.channel(account.channel_id))
    with engine.repository.unit_of_work() as unit:
        return unit.load(query), query, normalized


def _decided(engine: Engine, command: PublishMessage) -> tuple[View, Decision, list[PendingEvent], _Recorded]:
    """``command`` decided as the engine decides it, on the view the store gives now, with its ids recorded."""
    view, query, command = _view(engine, command)
    new_id, drawn = _recording()
    decision = rules.decide(view, command, engine.clock(), Policy(), new_id, query)
    events = [PendingEvent(new_id("event"), engine.clock(), event) for event in decision.events]
    return view, decision, events, drawn


def _publish(account_id: str, sender: Any = A, **options: Any) -> PublishMessage:
    direction = options.pop("direction", Direction.INCOMING)
    recipients = options.pop("recipients", ())
    return PublishMessage(account_id, direction, (Participant(sender),), "hello", recipients, **options)


def _engine(model: ThreadingModel = ThreadingModel.DELIVERY_IDENTIFIER, **options: Any) -> tuple[Engine, str]:
    engine = Engine(MemoryRepository(), clock=Clock(), ids=SequentialIds())
    return engine, connect(engine, model, **options)[1]


@pytest.mark.parametrize("creates_tickets", [True, False])
def test_r4_r6_a_new_thread_gives_back_its_message_thread_ticket_and_event_ids(creates_tickets: bool) -> None:
    engine, account_id = _engine(creates_tickets=creates_tickets)
    view, decision, events, drawn = _decided(engine, _publish(account_id))
    assert decision.outcome.value == "CREATED"
    assert drawn_ids(view, decision.changes, events) == drawn
    assert [kind for kind, _ in drawn].count("ticket") == int(creates_tickets)


def test_r4_an_append_gives_back_its_message_and_event_ids() -> None:
    engine, account_id = _engine()
    engine.execute(_publish(account_id))
    view, decision, events, drawn = _decided(engine, _publish(account_id))
    assert decision.outcome.value == "APPENDED"
    assert (
        drawn_ids(view, decision.changes, events) == drawn == [("message", "new-message-1"), ("event", "new-event-1")]
    )


def test_r4_a_reopen_gives_back_its_message_and_every_event_id_but_not_the_reopened_ticket() -> None:
    engine, account_id = _engine()
    thread_id = engine.execute(_publish(account_id)).thread_id
    assert thread_id is not None
    engine.execute(CloseThread(thread_id))
    assert isinstance(engine.clock, Clock)
    engine.clock.advance(timedelta(hours=1))
    view, decision, events, drawn = _decided(engine, _publish(account_id))
    assert decision.outcome.value == "REOPENED" and len(events) >= 2 and decision.changes.tickets
    assert drawn_ids(view, decision.changes, events) == drawn


def test_i1_a_new_and_an_appended_integration_thread_give_back_what_they_drew() -> None:
    engine, account_id = _engine(ThreadingModel.INTEGRATION_THREAD_ID)
    for _ in range(2):
        view, decision, events, drawn = _decided(engine, _publish(account_id, integration_thread_id="ext-1"))
        assert drawn_ids(view, decision.changes, events) == drawn
        engine.execute(_publish(account_id, integration_thread_id="ext-1"))


def _refused_drawing(engine: Engine, command: PublishMessage) -> _Recorded:
    """What the rules drew before refusing ``command`` (they must refuse it)."""
    view, query, command = _view(engine, command)
    new_id, drawn = _recording()
    with pytest.raises(ThreadingError):
        rules.decide(view, command, engine.clock(), Policy(), new_id, query)
    return drawn


def test_v5_r0_a_message_keyed_by_its_participants_draws_no_id_before_it_is_refused() -> None:
    engine, account_id = _engine(types=(IdentifierType.HS_PHONE_NUMBER,))
    channel_id = engine.channel_account(account_id).channel_id
    engine.execute(_publish(account_id))
    assert _refused_drawing(engine, _publish(account_id, email("someone@example.com"))) == []  # V5: type
    assert _refused_drawing(engine, _publish(account_id, B, recipients=(Participant(email("x@example.com")),))) == []
    assert _refused_drawing(engine, _publish(account_id, OWN)) == []  # R0: an empty key
    engine.execute(UpdateChannelAccount(account_id, authorized=False))
    assert _refused_drawing(engine, _publish(account_id)) == []  # V5: not authorized
    engine.execute(UpdateChannelAccount(account_id, authorized=True))
    engine.execute(ArchiveChannel(channel_id))
    assert _refused_drawing(engine, _publish(account_id)) == []  # V5: the channel archived


def test_i1_an_outgoing_message_on_a_closed_integration_thread_draws_its_id_before_it_is_refused() -> None:
    """Why the engine asks for an integration thread's duplicate at once rather than deferring it."""
    engine, account_id = _engine(ThreadingModel.INTEGRATION_THREAD_ID)
    thread_id = engine.execute(_publish(account_id, integration_thread_id="ext-1")).thread_id
    assert thread_id is not None
    engine.execute(CloseThread(thread_id))
    outgoing = _publish(
        account_id, OWN, direction=Direction.OUTGOING, recipients=(Participant(A),), integration_thread_id="ext-1"
    )
    assert [kind for kind, _ in _refused_drawing(engine, outgoing)] == ["message"]
