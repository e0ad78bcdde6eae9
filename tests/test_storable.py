"""The one definition of a storable value (``threading_engine.storable``), and the fast paths that decide it
without building anything: a fast path may only ever say "check in full", never pass what the full check
refuses (a lone surrogate, a time without a UTC form, an id no store can index)."""

from __future__ import annotations

import contextlib
import enum
import json
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from threading_engine import (
    DeliveryIdentifier,
    Direction,
    Message,
    Participant,
    PublishMessage,
    ThreadingError,
    ValidationError,
    rules,
)
from threading_engine.backends.rows import from_micros, micros
from threading_engine.codec import message_from_primitive, message_json
from threading_engine.hubspot import format_timestamp
from threading_engine.rules import normalizing
from threading_engine.rules.remembered import Memos
from threading_engine.storable import (
    EARLIEST,
    LATEST,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_ID_LENGTH,
    fixed_offset,
    has_surrogate,
    id_problem,
    is_invisible,
    is_plain_id,
    is_plain_moment,
    is_plain_text,
    moment_problem,
    shown,
    text_problem,
    time_text,
)
from threading_engine.testing.extremes import nested
from threading_engine.testing.strategies import extreme_datetimes, long_texts, unicode_texts
from threading_engine.validation import are_known_canonical, check_participants

CUSTOMER = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460001")


@given(unicode_texts(max_size=30))
def test_has_surrogate_is_exactly_whether_utf_8_cannot_encode_the_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assert has_surrogate(text)
    else:
        assert not has_surrogate(text)


@given(unicode_texts(max_size=30) | long_texts(lengths=(MAX_ID_LENGTH, MAX_ID_LENGTH + 1)))
def test_the_fast_id_and_text_checks_never_pass_what_the_full_ones_refuse(value: str) -> None:
    for limit in (MAX_ID_LENGTH, MAX_EXTERNAL_ID_LENGTH):
        if is_plain_id(value, limit):
            assert id_problem(value, limit) is None
        if is_plain_text(value, limit):
            assert text_problem(value, limit) is None


@given(extreme_datetimes(naive=True))
def test_the_fast_time_check_never_passes_what_the_full_one_refuses(moment: datetime) -> None:
    if is_plain_moment(moment):
        assert moment_problem(moment) is None


@given(extreme_datetimes())
def test_v5_a_time_with_a_utc_form_is_kept_exactly_by_every_store_form(moment: datetime) -> None:
    """Its fixed-offset form is the same instant; its integer microseconds fit 64 bits and come back; its
    ISO text (the stored documents) and its UTC text (the rendered JSON) read back to it."""
    problem = moment_problem(moment)
    if problem is not None:
        offset = moment.utcoffset()
        assert offset is not None
        if offset.microseconds:
            assert problem.startswith("has a UTC offset with a fraction of a second")
        else:
            with pytest.raises(OverflowError):
                moment.astimezone(UTC)
        return
    kept = fixed_offset(moment)
    # The same instant and offset (``==`` would say no for an hour a time zone repeats: PEP 495).
    assert kept.astimezone(UTC) == moment.astimezone(UTC) and kept.utcoffset() == moment.utcoffset()
    assert type(kept.tzinfo) is timezone
    stored = micros(kept)
    assert stored is not None and -(2**63) <= stored < 2**63 and from_micros(stored) == kept
    assert datetime.fromisoformat(kept.isoformat()) == kept
    assert datetime.fromisoformat(format_timestamp(kept).replace("Z", "+00:00")) == kept


def test_v5_an_offset_with_a_fraction_of_a_second_is_refused() -> None:
    """Python writes it in a form it reads back as another instant: no store could keep it."""
    moment = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(microseconds=1)))
    assert datetime.fromisoformat(moment.isoformat()) != moment
    assert moment_problem(moment) == "has a UTC offset with a fraction of a second: offsets are whole seconds"
    whole = datetime(1880, 3, 2, 9, tzinfo=timezone(timedelta(minutes=53, seconds=28)))  # a local mean time
    assert moment_problem(whole) is None and datetime.fromisoformat(whole.isoformat()) == whole


def test_v5_the_edges_of_what_utc_holds() -> None:
    assert moment_problem(EARLIEST) is None and moment_problem(LATEST) is None
    past = datetime(1, 1, 1, tzinfo=timezone(timedelta(minutes=1)))
    future = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(-timedelta(seconds=1)))
    assert moment_problem(past) == moment_problem(future)
    assert (
        moment_problem(past) == "has no UTC form: it lies outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"
    )
    assert moment_problem(datetime(2026, 3, 2)) == "has no timezone offset"


class Broken(tzinfo):
    """A time zone of a caller's own that cannot say its offset."""

    def utcoffset(self, moment: datetime | None) -> timedelta:
        raise RuntimeError("no idea")

    def dst(self, moment: datetime | None) -> timedelta:
        raise RuntimeError("no idea")

    def tzname(self, moment: datetime | None) -> str:
        return "nowhere"


def test_v5_a_time_zone_that_cannot_say_its_offset_is_refused() -> None:
    moment = datetime(2026, 3, 2, tzinfo=Broken())
    assert moment_problem(moment) == "has a timezone whose offset cannot be read"
    assert time_text(moment) == "<datetime>"
    with pytest.raises(ValidationError, match=r"^timestamp '<datetime>' has a timezone whose offset cannot be read"):
        rules.normalize(PublishMessage("account-1", Direction.INCOMING, (Participant(CUSTOMER),), "hi", (), moment))


def test_v5_a_time_zone_s_rules_become_its_offset() -> None:
    """A fold (the repeated hour) is the same instant in every store once its offset is fixed."""
    folded = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"), fold=1)
    kept = fixed_offset(folded)
    assert kept.utcoffset() == timedelta(hours=1) and kept.astimezone(UTC) == folded.astimezone(UTC)
    command = rules.normalize(
        PublishMessage("account-1", Direction.INCOMING, (Participant(CUSTOMER),), "hi", (), folded)
    )
    assert isinstance(command, PublishMessage) and command.timestamp == kept


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("x" * (MAX_ID_LENGTH + 1), "is longer than 128 characters"),
        ("id\ud800", "is not valid Unicode: it holds a lone surrogate"),
        ("id\x00", "holds a control character"),
        ("id\x1f", "holds a control character"),
        ("\u200b\u2060", "holds only invisible characters"),
        ("\U000e0041\u3164", "holds only invisible characters"),
        ("id\u200bwith a joiner", None),
        ("\U0001f469\u200d\U0001f4bb", None),
        (" padded ", None),
    ],
)
def test_what_an_id_may_hold(value: str, problem: str | None) -> None:
    assert id_problem(value, MAX_ID_LENGTH) == problem


@pytest.mark.parametrize(
    ("character", "invisible"),
    [
        ("\u200b", True),
        ("\ufeff", True),
        ("\u034f", True),
        ("\u3164", True),
        ("\U000e0100", True),
        ("\u2028", True),
        ("\x00", True),
        ("\u2800", False),  # braille blank: drawn as a cell
        ("\ue000", False),  # private use: the font decides
        ("\u0301", False),  # a combining mark draws on its base
        ("a", False),
    ],
)
def test_what_counts_as_invisible(character: str, invisible: bool) -> None:
    assert is_invisible(character) is invisible


class Colour(enum.Enum):
    RED = "red"


@attrs.frozen
class Box:
    content: object


class Shy:
    def __repr__(self) -> str:
        raise RecursionError("a repr that never ends")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("short", "'short'"),
        ([1, "two", None, True, 1.5], "[1, 'two', None, True, 1.5]"),
        ({"a": (1,)}, "{'a': (1,)}"),
        (Colour.RED, "<Colour.RED: 'red'>"),
        (Box(Box(1)), "Box(content=Box(content=1))"),
        (Shy(), "<Shy object>"),
        (b"ab" * 200, repr(b"ab" * 150) + "..."),
        (datetime(2026, 3, 2, tzinfo=Broken()), "datetime <datetime>"),
    ],
)
def test_an_error_shows_a_value_shortly_and_safely(value: object, expected: str) -> None:
    assert shown(value) == expected


def test_an_error_shows_huge_and_deep_values_shortly() -> None:
    assert shown(10**5000) == "<an integer of 16,610 bits>"
    assert shown("x" * 10**6) == repr("x" * 100) + "... (1,000,000 characters)"
    deep = shown(nested("list"))
    assert deep.startswith("[[[[") and len(deep) < 50
    assert len(shown(list(range(10**5)))) < 300


class Text(str):
    pass


def test_a_string_subclass_is_shown_as_its_text() -> None:
    assert shown(Text("hello")) == "'hello'"


@given(
    st.lists(
        st.builds(
            Participant,
            st.sampled_from([CUSTOMER, DeliveryIdentifier.of("HS_EMAIL_ADDRESS", "Ana@Example.com")]),
            st.none() | unicode_texts(max_size=6) | long_texts(lengths=(1000, 1001)),
        ),
        max_size=3,
    ).map(tuple),
    unicode_texts(max_size=10),
    st.none() | extreme_datetimes(naive=True),
    st.none() | unicode_texts(min_size=1, max_size=6) | long_texts(lengths=(512, 513)),
)
def test_a_message_the_fast_path_passes_is_one_the_full_checks_pass_unchanged(
    people: tuple[Participant, ...], text: str, timestamp: datetime | None, external_id: str | None
) -> None:
    """``rules.normalizing._is_canonical_publish`` and ``validation.are_known_canonical`` decide nearly every
    message: what they pass, the full checks must pass too, and leave as it is."""
    command = PublishMessage(
        "account-1",
        Direction.INCOMING,
        people or (Participant(CUSTOMER),),
        text,
        people,
        timestamp,
        external_id,
        external_id,
    )
    # An engine's memo, taught every spelling here as an engine learns those it checks.
    spellings = Memos().spellings
    for person in people:
        with contextlib.suppress(ThreadingError):
            DeliveryIdentifier.of(
                person.delivery_identifier.type, person.delivery_identifier.value, spellings=spellings
            )
    if are_known_canonical(people, spellings):
        assert check_participants(people, "recipients", spellings) is people
    if normalizing._is_canonical_publish(command, spellings):
        assert normalizing._normalize_publish(command) == command
    try:
        normalized = rules.normalize(command, spellings)
    except ThreadingError:
        return
    assert rules.normalize(normalized, spellings) == normalized  # canonical: normalizing again changes nothing
    assert rules.normalize(normalized) == normalized


def test_message_documents_hold_every_accepted_string() -> None:
    """The stored document of a message with every kind of accepted character reads back equal."""
    text = "".join(chr(code) for code in range(0, 0x3000, 7) if not 0xD800 <= code < 0xE000) + "\U0010ffff\x00"
    command = rules.normalize(
        PublishMessage("account-1", Direction.INCOMING, (Participant(CUSTOMER, text[:999]),), text)
    )
    assert isinstance(command, PublishMessage)
    message = Message("m", "t", "a", Direction.INCOMING, command.senders, (), text, EARLIEST, LATEST)
    assert message_from_primitive(json.loads(message_json(message))) == message


class Count(int):
    pass


class Items(list[object]):
    pass


def test_an_error_shows_subclasses_and_the_depth_limit_safely() -> None:
    assert shown(Count(7)) == "7"
    assert shown(Items([1, Items([2])])) == "[1, [2]]"
    assert shown({1, 2}) == "{1, 2}" and shown(frozenset({3})) == "frozenset({3})"
    assert shown(Box(Box(Box(Box(Box(1)))))) == "Box(content=Box(content=Box(content=Box(content=Box(...)))))"


def test_an_error_message_stays_short_however_many_escaped_characters_the_value_holds() -> None:
    value = [{"name": "\u200b" * 300} for _ in range(30)]
    message = shown(value)
    assert len(message) < 650 and message.endswith("characters more)")
