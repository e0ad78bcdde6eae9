"""The public Hypothesis strategies draw what their docstrings promise, and the engine accepts it.

Test authors build on ``threading_engine.testing.strategies``; a strategy that drew values the engine
refuses for a reason the docstring does not admit would quietly weaken every suite that uses it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
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
    hubspot,
)
from threading_engine.ids import SequentialIds
from threading_engine.storable import MAX_TEXT_LENGTH, has_surrogate, is_invisible, moment_problem
from threading_engine.testing.conformance import snapshot
from threading_engine.testing.strategies import (
    account_bodies,
    around,
    capabilities,
    channel_accounts,
    channel_bodies,
    channels,
    deeply_nested,
    delivery_identifiers,
    extreme_datetimes,
    hostile,
    json_values,
    long_texts,
    participants,
    publish_message_bodies,
    publish_messages,
    start_conversations,
    thread_commands,
    unicode_texts,
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


# -- hostile and careless input (``extremes.py``, re-exported by ``strategies``) --------------------------

# ``find`` a drawn value with a property, without shrinking it (the value, not its size, is what is checked).
SEARCH = settings(max_examples=2_000, phases=[Phase.generate], database=None)


@given(unicode_texts(min_size=2, max_size=5))
def test_unicode_texts_honour_their_sizes(text: str) -> None:
    assert 2 <= len(text) <= 5


@pytest.mark.parametrize(
    "wanted",
    [
        has_surrogate,
        lambda text: "\x00" in text,
        lambda text: any(unicodedata.category(c) == "Mn" for c in text),
        lambda text: any(ord(c) > 0xFFFF for c in text),
        lambda text: any(is_invisible(c) and not c.isspace() for c in text),
    ],
    ids=["lone surrogate", "NUL", "combining mark", "astral", "invisible"],
)
def test_unicode_texts_reach_every_corner_of_unicode(wanted: Callable[[str], bool]) -> None:
    assert wanted(find(unicode_texts(), wanted, settings=SEARCH))


@given(long_texts(lengths=around(10)))
def test_long_texts_have_exactly_the_asked_lengths(text: str) -> None:
    assert len(text) in (9, 10, 11) and len(set(text)) == 1


@settings(max_examples=10)
@given(long_texts(lengths=(MAX_TEXT_LENGTH + 1,)))
def test_long_texts_are_cheap_however_long(text: str) -> None:
    assert len(text) == MAX_TEXT_LENGTH + 1


@given(extreme_datetimes())
def test_extreme_datetimes_are_aware_unless_asked(moment: datetime) -> None:
    assert moment.utcoffset() is not None


@pytest.mark.parametrize(
    "wanted",
    [
        lambda moment: moment.tzinfo is None,
        lambda moment: moment.tzinfo is not None and moment_problem(moment) is not None,
        lambda moment: moment.tzinfo is not None and moment.year == 1 and moment_problem(moment) is None,
        lambda moment: moment.tzinfo is not None and type(moment.tzinfo) is not timezone,
    ],
    ids=["naive", "no UTC form", "year 1 with a UTC form", "a tz-database zone"],
)
def test_extreme_datetimes_reach_the_edges(wanted: Callable[[datetime], bool]) -> None:
    assert wanted(find(extreme_datetimes(naive=True), wanted, settings=SEARCH))


def test_json_values_reach_the_integers_python_cannot_print() -> None:
    huge = find(json_values(), lambda value: isinstance(value, int) and value.bit_length() > 14_000, settings=SEARCH)
    assert huge == 10**5000


def test_deeply_nested_values_are_as_deep_as_asked() -> None:
    value = find(deeply_nested(depth=50), lambda value: isinstance(value, dict), settings=SEARCH)
    depth = 0
    while isinstance(value, dict):
        value, depth = value["a"], depth + 1
    assert (depth, value) == (50, "bottom")


@given(hostile(st.just("valid")))
def test_hostile_values_are_the_valid_one_or_something_awkward(value: object) -> None:
    assert value == "valid" or value != "valid"  # any value: the point is that drawing never fails


def test_hostile_bodies_are_often_valid_enough_to_parse() -> None:
    body = find(
        publish_message_bodies("account-1"), lambda body: _parses(hubspot.parse_publish_message, body), settings=SEARCH
    )
    assert body["channelAccountId"] == "account-1"
    channel = find(channel_bodies(), lambda body: _parses(hubspot.parse_create_channel, body), settings=SEARCH)
    assert isinstance(channel["name"], str)
    account = find(
        account_bodies(),
        lambda body: _parses(lambda b: hubspot.parse_create_account("channel-1", b), body),
        settings=SEARCH,
    )
    assert "deliveryIdentifier" in account


@given(publish_message_bodies("account-1"))
def test_hostile_bodies_are_refused_only_with_typed_errors(body: dict[str, object]) -> None:
    _parses(hubspot.parse_publish_message, body)


def _parses(parse: Callable[[Any], object], body: object) -> bool:
    try:
        parse(body)
    except ThreadingError:
        return False
    return True
