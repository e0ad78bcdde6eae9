"""Hypothesis strategies for hostile and careless input: the whole of Unicode, extreme times and sizes, and
JSON bodies whose every field may be any of them. Re-exported by :mod:`.strategies`, which documents them.

They draw what validation must either refuse with a typed error or accept for every store to keep alike (see
``threading_engine.storable``), so a backend's tests can feed them to the engine and compare with the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from ..identifiers import IdentifierType
from ..storable import (
    MAX_EXTERNAL_ID_LENGTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
)
from .spellings import identifier_spellings

# Characters that have broken text handling somewhere: controls and NUL, lone surrogates (no UTF-8 form),
# zero-width and other invisible characters, combining marks, astral characters, noncharacters, separators,
# characters whose case mapping changes the length, and the punctuation that ids, keys and URLs give meaning.
AWKWARD_CHARACTERS: tuple[str, ...] = (
    *("\x00", "\x01", "\t", "\n", "\r", "\x1f", "\x7f", "\x85", "\x9f"),
    *("\ud800", "\udbff", "\udc00", "\udfff"),
    *("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\xad", "\u202e", "\u061c", "\u034f", "\u115f", "\u3164"),
    *("\ufe0f", "\U000e0001", "\U000e0100", "\u180e"),
    *("\u0301", "\u0308", "\u20dd", "\u0345"),
    *("\U0001f600", "\U00010348", "\U0001d11e", "\U0010fffd", "\U00020000"),
    *("\uffff", "\ufffe", "\ufdd0", "\U0010ffff", "\U000f0000", "\ue000"),
    *("\u2028", "\u2029", "\u3000", "\xa0", " ", "\u2800"),
    *("\u0130", "\xdf", "\ufb00", "\u03a3", "\u1e9e"),
    *("@", ".", ":", "+", "-", "\\", '"', "'", "%", "?", "#", "/", "[", "]", "{", "}", ","),
)

_OFFSET_LIMIT = timedelta(hours=24) - timedelta(microseconds=1)


def awkward_characters() -> st.SearchStrategy[str]:
    """Single characters from the whole of Unicode, lone surrogates included, often from AWKWARD_CHARACTERS."""
    return st.sampled_from(AWKWARD_CHARACTERS) | st.characters(exclude_categories=())


def unicode_texts(*, min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    """Strings over the whole of Unicode: surrogates, NUL and other controls, combining marks, invisible and
    astral characters. Most are not valid where the engine wants an identifier; some are not valid anywhere."""
    return st.text(awkward_characters(), min_size=min_size, max_size=max_size)


def long_texts(*, lengths: Sequence[int]) -> st.SearchStrategy[str]:
    """Strings of exactly one of ``lengths`` characters, of a character that takes 1 to 4 bytes in UTF-8 (so
    the same length can be 4 times as many bytes), repeated: cheap to draw however long."""
    characters = st.sampled_from(["x", "é", "\u20ac", "\U0001f600", "\u200b"])
    return st.builds(lambda character, length: character * length, characters, st.sampled_from(list(lengths)))


def around(limit: int) -> tuple[int, ...]:
    """The lengths a limit's edge is tested at: just below, at, and just above it."""
    return (limit - 1, limit, limit + 1)


def extreme_datetimes(*, naive: bool = False) -> st.SearchStrategy[datetime]:
    """Datetimes at the edges of what Python holds (years 1 and 9999) with offsets up to a microsecond short of
    24 hours either way, so that some have no UTC form; ordinary ones with any fixed offset; ones in the time
    zones of the tz database (folds and gaps included); and, with ``naive``, naive ones too."""
    offsets = st.sampled_from(
        [
            timedelta(0),
            _OFFSET_LIMIT,
            -_OFFSET_LIMIT,
            timedelta(hours=23, minutes=59),
            -timedelta(hours=23, minutes=59),
            timedelta(hours=14),
            timedelta(hours=5, minutes=30, seconds=15, microseconds=1),
        ]
    ) | st.timedeltas(min_value=-_OFFSET_LIMIT, max_value=_OFFSET_LIMIT)
    edges = (
        st.datetimes(max_value=datetime(1, 1, 2, 1))
        | st.datetimes(min_value=datetime(9999, 12, 30, 23))
        | st.sampled_from([datetime.min, datetime.max, datetime(1970, 1, 1), datetime(2026, 3, 2, 9)])
        | st.datetimes()
    )
    fixed = st.builds(lambda moment, offset: moment.replace(tzinfo=timezone(offset)), edges, offsets)
    zoned = st.datetimes(timezones=st.timezones())
    chosen = fixed | zoned | st.datetimes(timezones=st.just(UTC))
    return chosen | edges if naive else chosen


def timestamp_texts() -> st.SearchStrategy[str]:
    """ISO-8601 texts of :func:`extreme_datetimes` (naive ones included), and texts that are no time at all."""
    return st.one_of(
        extreme_datetimes(naive=True).map(lambda moment: moment.isoformat()),
        st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "2026-03-02T09:00:00Z", ""]),
        unicode_texts(max_size=30),
    )


def json_values(*, max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any value decoded JSON can hold, at its extremes: huge integers (beyond 4,300 digits), NaN and
    infinities, :func:`unicode_texts`, and nested lists and objects."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([(2, 63, -1), (2, 63, 0), (-2, 63, -1), (10, 5000, 0)]).map(_huge),
        st.floats(),
        unicode_texts(),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(unicode_texts(max_size=5), inner, max_size=3),
        max_leaves=max_leaves,
    )


def _huge(form: tuple[int, int, int]) -> int:
    """``base ** exponent + offset``: built when drawn, since Python cannot show an int of over 4,300 digits."""
    base, exponent, offset = form
    return int(base**exponent + offset)


def nested(kind: str, depth: int = 100_000) -> object:
    """A list (``kind`` ``"list"``) or a JSON object (``"object"``) nested ``depth`` levels deep."""
    value: object = "bottom"
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def deeply_nested(*, depth: int = 100_000) -> st.SearchStrategy[object]:
    """A list or a JSON object nested ``depth`` levels deep: deeper than Python's recursion limit."""
    return st.sampled_from(["list", "object"]).map(lambda kind: nested(kind, depth))


def hostile(valid: st.SearchStrategy[Any], *, lengths: Sequence[int] = ()) -> st.SearchStrategy[Any]:
    """Mostly ``valid`` values (so that a body with many fields is often accepted, and stored), else
    :func:`unicode_texts`, :func:`long_texts` of ``lengths`` or :func:`json_values`."""
    awkward = [unicode_texts(), json_values(max_leaves=3)]
    if lengths:
        awkward.append(long_texts(lengths=lengths))
    return st.one_of([valid] * 8 + awkward)


def identifier_bodies(*, types: Sequence[IdentifierType] = tuple(IdentifierType)) -> st.SearchStrategy[Any]:
    """HubSpot ``{type, value}`` bodies: a valid spelling, a value over the whole of Unicode, or one at the
    length limits; now and then not an object at all."""
    valid = identifier_spellings(types=tuple(types)).map(lambda pair: {"type": pair[0].value, "value": pair[1]})
    awkward = st.builds(
        lambda kind, value: {"type": kind.value, "value": value},
        st.sampled_from(list(types)),
        unicode_texts(min_size=1, max_size=12) | long_texts(lengths=(64, 65, 254, 255, 256, 257)),
    )
    return st.one_of(valid, valid, valid, awkward, json_values(max_leaves=2))


def participant_bodies(*, types: Sequence[IdentifierType] = tuple(IdentifierType)) -> st.SearchStrategy[Any]:
    """``{deliveryIdentifier, name?}`` bodies with :func:`identifier_bodies` and names of any text or length."""
    names = st.none() | st.just("Ana") | unicode_texts(max_size=8) | long_texts(lengths=around(MAX_NAME_LENGTH))
    return st.builds(
        lambda identifier, name: (
            {"deliveryIdentifier": identifier} if name is None else {"deliveryIdentifier": identifier, "name": name}
        ),
        identifier_bodies(types=types),
        names,
    )


def publish_message_bodies(
    channel_account_id: str, *, types: Sequence[IdentifierType] = tuple(IdentifierType)
) -> st.SearchStrategy[dict[str, Any]]:
    """HubSpot ``POST /messages`` bodies for ``channel_account_id`` whose every field may be valid, over the
    whole of Unicode, at its length limit's edge, an extreme time, or any JSON value (see :func:`hostile`)."""
    people = st.lists(participant_bodies(types=types), min_size=1, max_size=3)
    external_ids = hostile(st.sampled_from(["wamid.1", "conv-1", " x "]), lengths=around(MAX_EXTERNAL_ID_LENGTH))
    return st.fixed_dictionaries(
        {
            "channelAccountId": hostile(st.just(channel_account_id), lengths=around(MAX_ID_LENGTH)),
            "messageDirection": hostile(st.sampled_from(["INCOMING", "OUTGOING"])),
            "senders": hostile(people),
            "text": hostile(st.just("hello"), lengths=around(MAX_TEXT_LENGTH)),
        },
        optional={
            "recipients": hostile(people),
            "timestamp": hostile(timestamp_texts()),
            "integrationThreadId": external_ids,
            "integrationIdempotencyId": external_ids,
        },
    )


def channel_bodies(*, types: Sequence[IdentifierType] = tuple(IdentifierType)) -> st.SearchStrategy[dict[str, Any]]:
    """HubSpot ``POST /custom-channels`` bodies whose name, URLs, description and capability entries may be
    any text, at their limits, or any JSON value."""
    capabilities = st.fixed_dictionaries(
        {"deliveryIdentifierTypes": hostile(st.just([t.value for t in types]))},
        optional={
            "threadingModel": hostile(st.sampled_from(["DELIVERY_IDENTIFIER", "INTEGRATION_THREAD_ID"])),
            "allowOutgoingMessages": hostile(st.booleans()),
            "richText": hostile(st.lists(unicode_texts(max_size=5) | long_texts(lengths=(256, 257)), max_size=2)),
            "maxFileAttachmentCount": hostile(st.integers(0, 10)),
        },
    )
    urls = st.sampled_from(["https://example.com/hook", "https://[::1", "https://bücher.example/", "http://h:99999/"])
    return st.fixed_dictionaries(
        {
            "name": hostile(st.just("SMS"), lengths=around(MAX_NAME_LENGTH)),
            "capabilities": hostile(capabilities),
        },
        optional={
            "webhookUrl": hostile(urls, lengths=around(MAX_URL_LENGTH)),
            "channelLogoUrl": hostile(urls),
            "channelDescription": hostile(st.just("Text messages"), lengths=(1000, 1001)),
        },
    )


def account_bodies(*, types: Sequence[IdentifierType] = tuple(IdentifierType)) -> st.SearchStrategy[dict[str, Any]]:
    """HubSpot ``POST /channel-accounts`` bodies with hostile names, inbox ids and identifiers."""
    return st.fixed_dictionaries(
        {
            "name": hostile(st.just("Desk"), lengths=around(MAX_NAME_LENGTH)),
            "inboxId": hostile(st.sampled_from(["1", "inbox-7"]) | st.integers(), lengths=around(MAX_ID_LENGTH)),
            "deliveryIdentifier": identifier_bodies(types=types),
        },
        optional={"authorized": hostile(st.booleans()), "createsTickets": hostile(st.booleans())},
    )
