"""The storage codec: the JSON written out for messages and events is exactly what the generic encoder gives.

The SQL backends store every message and event through :func:`codec.message_json` and :func:`codec.event_json`,
which write the text directly for speed; these tests hold them to ``dumps(to_primitive(...))`` byte for byte,
and check that what is written reads back equal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import attrs
from hypothesis import given
from hypothesis import strategies as st

from threading_engine import codec
from threading_engine.events import (
    EVENT_TYPES,
    Event,
    MessageAppended,
    OutgoingMessageCreated,
    ThreadCreated,
    TicketClosed,
)
from threading_engine.model import Direction, Message, MessageOrigin, Participant
from threading_engine.testing.strategies import participants

# Text that JSON must escape: quotes, backslashes, control characters, and characters beyond ASCII.
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
optional_texts = st.none() | texts
aware_times = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
)
named_participants = st.builds(
    lambda participant, name: attrs.evolve(participant, name=name), participants(), optional_texts
)

messages = st.builds(
    Message,
    id=texts,
    thread_id=texts,
    channel_account_id=texts,
    direction=st.sampled_from(Direction),
    senders=st.lists(named_participants, max_size=3).map(tuple),
    recipients=st.lists(named_participants, max_size=3).map(tuple),
    text=texts,
    timestamp=aware_times,
    received_at=aware_times,
    origin=st.sampled_from(MessageOrigin),
    integration_thread_id=optional_texts,
    integration_idempotency_id=optional_texts,
)


_FIELD_VALUES: dict[object, st.SearchStrategy[object]] = {
    "str": texts,
    "str | None": optional_texts,
    "Direction": st.sampled_from(Direction),
}


def _flat_events() -> st.SearchStrategy[Event]:
    """Every event type whose fields are all text (the thread and ticket events), with any field values."""
    kinds = [kind for kind in EVENT_TYPES.values() if all(f.type in _FIELD_VALUES for f in attrs.fields(kind))]
    assert MessageAppended in kinds and ThreadCreated in kinds and TicketClosed in kinds
    return st.one_of([st.builds(kind, **{f.name: _FIELD_VALUES[f.type] for f in attrs.fields(kind)}) for kind in kinds])


@given(messages)
def test_message_json_is_the_generic_encoding_to_the_byte(message: Message) -> None:
    written = codec.message_json(message)
    assert written == codec.dumps(codec.to_primitive(message))
    assert codec.message_from_primitive(json.loads(written)) == message


@given(texts, aware_times, _flat_events())
def test_event_json_is_the_generic_encoding_to_the_byte(event_id: str, timestamp: datetime, event: Event) -> None:
    written = codec.event_json(event_id, timestamp, event)
    generic = {"event_id": event_id, "timestamp": timestamp.isoformat(), "event": codec.to_primitive(event)}
    assert written == codec.dumps(generic)
    assert codec.event_from_primitive(json.loads(written)["event"]) == event


@given(texts, aware_times, messages)
def test_an_event_with_a_nested_value_takes_the_generic_encoding(
    event_id: str, timestamp: datetime, message: Message
) -> None:
    event = OutgoingMessageCreated("channel-1", message, "thread-1")
    written = codec.event_json(event_id, timestamp, event)
    assert json.loads(written)["event"] == json.loads(codec.dumps(codec.to_primitive(event)))
    assert codec.event_from_primitive(json.loads(written)["event"]) == event


def test_the_common_events_are_written_out() -> None:
    # The shapes every publish stores, spelled out once so a reader sees what is on disk.
    at = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    appended = codec.event_json("event-1", at, MessageAppended("thread-1", "R4", "message-1", Direction.INCOMING))
    assert appended == (
        '{"event_id":"event-1","timestamp":"2024-03-01T09:00:00+00:00","event":{"thread_id":"thread-1",'
        '"rule":"R4","message_id":"message-1","direction":"INCOMING","type":"MESSAGE_APPENDED"}}'
    )
    created = codec.event_json("event-2", at, ThreadCreated("thread-1", "R4", "account-1", "k\u00e9y", None))
    assert '"key":"k\u00e9y","integration_thread_id":null,"type":"THREAD_CREATED"' in created
    closed = codec.event_json("event-3", at, TicketClosed("thread-1", "R6", "ticket-1"))
    assert closed.endswith('"ticket_id":"ticket-1","type":"TICKET_CLOSED"}}')


def test_a_message_with_a_participant_name_and_no_ids() -> None:
    sender = Participant(codec._identifier(["HS_PHONE_NUMBER", "+15550100000"]), 'Ann "A" O\u2019Neil')
    message = Message(
        "m",
        "t",
        "a",
        Direction.OUTGOING,
        (sender,),
        (),
        "line\nbreak",
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert codec.message_json(message) == codec.dumps(codec.to_primitive(message))


def test_a_thread_event_holding_a_value_that_is_not_text_takes_the_generic_encoding() -> None:
    """Written out, a thread event's fields are quoted as text: one that holds anything else is encoded in full."""
    at = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    odd = MessageAppended("thread-1", "R4", "message-1", 7)  # type: ignore[arg-type]
    written = codec.event_json("event-1", at, odd)
    assert json.loads(written)["event"] == json.loads(codec.dumps(codec.to_primitive(odd)))
    assert '"direction":7' in written


@given(messages)
def test_the_texts_of_a_message_s_times_given_write_what_its_times_would(message: Message) -> None:
    given_texts = codec.message_json_with_times(message, message.timestamp.isoformat(), message.received_at.isoformat())
    assert given_texts == codec.message_json(message)
