"""The public Hypothesis strategies draw what their docstrings promise, and the engine accepts it.

Test authors build on ``threading_engine.testing.strategies``; a strategy that drew values the engine
refuses for a reason the docstring does not admit would quietly weaken every suite that uses it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from threading_engine import (
    Capabilities,
    CreateChannel,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    Participant,
    PublishMessage,
    ThreadingError,
    ThreadingModel,
)
from threading_engine.ids import SequentialIds
from threading_engine.testing.conformance import snapshot
from threading_engine.testing.strategies import (
    capabilities,
    channel_accounts,
    channels,
    delivery_identifiers,
    participants,
    publish_messages,
    start_conversations,
    thread_commands,
)

SMS = Capabilities(
    (IdentifierType.HS_PHONE_NUMBER,),
    ThreadingModel.DELIVERY_IDENTIFIER,
    allow_outgoing_messages=True,
    allow_conversation_start=True,
)
DESK = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+1 555 0100")
PHONES = (IdentifierType.HS_PHONE_NUMBER,)


def engine_with_account() -> tuple[Engine, str]:
    """An engine with one SMS channel that allows everything, and its account ``DESK``."""
    engine = Engine(ids=SequentialIds())
    channel = engine.execute(CreateChannel("SMS", SMS))
    assert channel.channel_id is not None
    account = engine.create_channel_account(
        channel.channel_id, name="Desk", inbox_id="1", delivery_identifier=DESK, creates_tickets=True
    )
    assert account.channel_account_id is not None
    return engine, account.channel_account_id


@given(delivery_identifiers())
def test_v4_delivery_identifiers_are_drawn_canonical(identifier: DeliveryIdentifier) -> None:
    assert DeliveryIdentifier.of(identifier.type.value, identifier.value) == identifier


@given(participants(types=PHONES))
def test_participants_carry_a_canonical_identifier_of_the_asked_types(participant: Participant) -> None:
    assert participant.delivery_identifier.type is IdentifierType.HS_PHONE_NUMBER
    assert participant.name is None or participant.name.strip()


@given(capabilities(threading_models=(ThreadingModel.INTEGRATION_THREAD_ID,), min_types=2))
def test_capabilities_honour_the_asked_models_and_sizes(drawn: Capabilities) -> None:
    assert drawn.threading_model is ThreadingModel.INTEGRATION_THREAD_ID
    assert 2 <= len(drawn.delivery_identifier_types) == len(set(drawn.delivery_identifier_types))


@settings(max_examples=50)
@given(channels(), st.data())
def test_v3_drawn_channels_and_their_accounts_are_accepted(command: CreateChannel, data: st.DataObject) -> None:
    engine = Engine(ids=SequentialIds())
    channel = engine.execute(command)
    assert channel.outcome is Outcome.CHANGED and channel.channel_id is not None  # SPEC 8: a create is CHANGED
    types = command.capabilities.delivery_identifier_types
    account = engine.execute(data.draw(channel_accounts(channel.channel_id, types=types)))
    assert account.outcome is Outcome.CHANGED and account.channel_account_id is not None


@settings(max_examples=50)
@given(st.data())
def test_r0_drawn_incoming_publishes_always_land_on_a_thread(data: st.DataObject) -> None:
    engine, account_id = engine_with_account()
    publish = data.draw(publish_messages(account_id, counterparts=participants(types=PHONES)))
    incoming = PublishMessage(
        account_id, Direction.INCOMING, publish.senders, publish.text, recipients=(), timestamp=publish.timestamp
    )
    result = engine.execute(incoming)
    assert result.outcome is Outcome.CREATED and result.thread_id is not None


@settings(max_examples=50)
@given(st.data())
def test_drawn_commands_are_accepted_or_refused_with_a_named_rule_and_no_change(data: st.DataObject) -> None:
    """Drawn traffic may break rules (an outgoing message from a customer, say): then the refusal is typed,
    names its rule or the field that names nothing (NOT_FOUND), and the store is as it was."""
    engine, account_id = engine_with_account()
    people = participants(types=PHONES)
    customer = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+44 20 7946 0001")
    first = engine.publish_message(account_id, direction=Direction.INCOMING, senders=[customer], text="hi")
    assert first.thread_id is not None
    thread_ids = st.sampled_from([first.thread_id, "no-such-thread"])
    commands = st.one_of(
        publish_messages(account_id, counterparts=people, idempotency_ids=st.sampled_from([None, "same"])),
        thread_commands(thread_ids),
        start_conversations(account_id, counterparts=people),
    )
    for command in data.draw(st.lists(commands, min_size=1, max_size=6)):
        before = snapshot(engine.repository)
        try:
            engine.execute(command)
        except ThreadingError as error:
            assert error.rule or (error.code == "NOT_FOUND" and error.field), f"{error!r} names no rule"
            assert snapshot(engine.repository) == before
