"""Every kind of bad input gets the right typed error, naming the field, and leaves the store as it was (V1-V6
and SPEC section 7's NOT_FOUND)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import attrs
from helpers import OWN, A, B, World, connect, delivery_world, email, snapshot, thread_id_of
from hypothesis import given
from hypothesis import strategies as st

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    NotFoundError,
    Participant,
    ThreadingError,
    ThreadingModel,
    ValidationError,
)
from threading_engine.testing.strategies import invalid_identifier_spellings


@dataclass(frozen=True)
class Store:
    """A store with something in it: two channels, open, closed and archived threads, tickets and events."""

    world: World
    open_thread: str

    @property
    def engine(self) -> Engine:
        return self.world.engine


def populated() -> Store:
    world = delivery_world()
    open_thread = thread_id_of(world.incoming(A))
    closed_thread = thread_id_of(world.incoming(B))
    world.engine.close_thread(closed_thread)
    archived_thread = thread_id_of(world.incoming(A, B, recipients=(OWN,)))
    world.engine.archive_thread(archived_thread)
    _, chat_account = connect(world.engine, ThreadingModel.INTEGRATION_THREAD_ID)
    world.engine.publish_message(
        chat_account, direction=Direction.INCOMING, senders=[A], text="hi", integration_thread_id="conv-1"
    )
    return Store(world, open_thread)


@dataclass(frozen=True)
class Invalid:
    """A command that must be rejected with ``error`` naming ``field``."""

    what: str
    run: Callable[[Store], object]
    error: type[ThreadingError]
    field: str


def assert_rejected(case: Invalid) -> None:
    store = populated()
    before = snapshot(store.engine)
    try:
        case.run(store)
    except ThreadingError as error:
        assert type(error) is case.error, (case.what, error)
        assert error.code == case.error.code
        assert error.field == case.field, (case.what, error)
        if isinstance(error, ValidationError):
            assert case.field in error.message
            assert error.rule is not None and error.message.endswith(f"({error.rule})")
    else:
        raise AssertionError(f"accepted: {case.what}")
    assert snapshot(store.engine) == before, case.what


def raw_identifier(identifier_type: object, value: object) -> DeliveryIdentifier:
    """An identifier built without V4's checks, as a careless caller would."""
    return DeliveryIdentifier(cast(Any, identifier_type), cast(Any, value))


def publish_to(store: Store, account_id: Any, **overrides: Any) -> object:
    fields: dict[str, Any] = {"direction": Direction.INCOMING, "senders": [A], "text": "hello"}
    fields.update(overrides)
    return store.engine.publish_message(account_id, **fields)


def publish(store: Store, **overrides: Any) -> object:
    return publish_to(store, store.world.account_id, **overrides)


# -- bad identifiers, in the spellings people type ---------------------------------------------------------

_TYPED_BY_PEOPLE: dict[IdentifierType, list[str]] = {
    IdentifierType.HS_PHONE_NUMBER: [
        "555-0100", "(555) 010-0000", "1 555 010 0000", "+1 555 010 0000 ext. 12", "+1-800-FLOWERS", "tel:+15550100",
        "+1_555_0100", "+1/555/0100", "+1 555 010 0000 12345", "+0 20 7946 0000", "++44 20 7946 0000", "+",
    ],
    IdentifierType.HS_EMAIL_ADDRESS: [
        "ana(at)example.com", "Ana <ana@example.com>", "ana@example,com", "ana@example..com", "ana@example.com.",
        "ana@ example.com", "ana.example.com", "ana@localhost", "ana@exa\tmple.com",
    ],
    IdentifierType.HS_SHORT_CODE: ["12-34", "#1234", "1234567890", "12", "123 45", "SHORT", "١٢٣٤٥"],
    IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID: ["", " \t ", "a\x00b", "line\nbreak", "x" * 300, "bell\x07"],
}  # fmt: skip


def bad_identifiers() -> st.SearchStrategy[tuple[DeliveryIdentifier, str]]:
    """An unvalidated identifier V4 rejects, and the part of it the error names (``type`` or ``value``)."""
    typed = st.sampled_from([(t, v) for t, values in _TYPED_BY_PEOPLE.items() for v in values])
    bad_values = (typed | invalid_identifier_spellings()).map(lambda pair: (raw_identifier(*pair), "value"))
    not_strings = st.tuples(
        st.sampled_from(list(IdentifierType)), st.none() | st.integers() | st.binary() | st.lists(st.text(), max_size=2)
    ).map(lambda pair: (raw_identifier(*pair), "value"))
    bad_types = st.tuples(
        st.sampled_from(["PHONE", "phone", "EMAIL", "hs_email_address", "", "SHORT_CODE"]) | st.none() | st.integers(),
        st.just("+15550100001"),
    ).map(lambda pair: (raw_identifier(*pair), "type"))
    return st.one_of(bad_values, not_strings, bad_types)


@st.composite
def misplaced_identifiers(draw: st.DrawFn) -> Invalid:
    """A bad identifier where an account, a sender or a recipient names one."""
    identifier, part = draw(bad_identifiers())
    index = draw(st.integers(0, 2))
    where = draw(st.sampled_from(["account", "sender", "recipient", "conversation start"]))
    if where == "account":
        return Invalid(
            f"account identifier {identifier!r}",
            lambda s: s.engine.create_channel_account(
                s.world.channel_id, name="Sales", inbox_id="inbox-9", delivery_identifier=identifier
            ),
            ValidationError,
            f"deliveryIdentifier.{part}",
        )
    people = [*[A, B, email("c@example.com")][:index], identifier]
    if where == "sender":
        return Invalid(
            f"senders {people!r}",
            lambda s: publish(s, senders=people),
            ValidationError,
            f"senders[{index}].deliveryIdentifier.{part}",
        )
    if where == "recipient":
        return Invalid(
            f"recipients {people!r}",
            lambda s: publish(s, recipients=people),
            ValidationError,
            f"recipients[{index}].deliveryIdentifier.{part}",
        )
    return Invalid(
        f"conversation start to {people!r}",
        lambda s: s.engine.start_conversation(s.world.account_id, recipients=people, text="hi"),
        ValidationError,
        f"recipients[{index}].deliveryIdentifier.{part}",
    )


@given(misplaced_identifiers())
def test_v4_bad_identifiers_are_rejected_wherever_they_appear(case: Invalid) -> None:
    assert_rejected(case)


@given(st.sampled_from(["+1 555 010 9999", "+1 (555) 010-9999", " +1.555.010.9999 ", "+15550109999"]))
def test_v2_another_spelling_of_a_taken_identifier_is_rejected(spelling: str) -> None:
    assert_rejected(
        Invalid(
            f"second account for {spelling!r}",
            lambda s: s.engine.create_channel_account(
                s.world.channel_id,
                name="Sales",
                inbox_id="inbox-9",
                delivery_identifier=raw_identifier(IdentifierType.HS_PHONE_NUMBER, spelling),
            ),
            ValidationError,
            "deliveryIdentifier",
        )
    )


# -- messages: timestamps, senders, types ------------------------------------------------------------------

_NOT_TEXT = st.none() | st.integers() | st.binary() | st.lists(st.text(), max_size=2)


def _publishing(field: str, **overrides: Any) -> Invalid:
    return Invalid(f"publish {overrides!r}", lambda s: publish(s, **overrides), ValidationError, field)


def bad_messages() -> st.SearchStrategy[Invalid]:
    not_times = st.text() | st.integers() | st.floats(allow_nan=False)
    not_directions = st.text() | st.none() | st.sampled_from(["INCOMING", "OUTGOING", "incoming"])
    raw_participants = st.lists(st.text() | st.dictionaries(st.text(), st.text()), min_size=1, max_size=3)
    reply_texts = _NOT_TEXT.map(
        lambda text: Invalid(
            f"reply text {text!r}", lambda s: s.engine.reply(s.open_thread, cast(Any, text)), ValidationError, "text"
        )
    )
    return st.one_of(
        st.datetimes().map(lambda naive: _publishing("timestamp", timestamp=naive)),
        not_times.map(lambda value: _publishing("timestamp", timestamp=value)),
        st.sampled_from([[], (), None, A, Participant(A)]).map(lambda value: _publishing("senders", senders=value)),
        raw_participants.map(lambda value: _publishing("senders[0].deliveryIdentifier", senders=value)),
        (st.integers() | st.sampled_from(["", "   "])).map(
            lambda name: _publishing("senders[0].name", senders=[Participant(A, cast(Any, name))])
        ),
        not_directions.map(lambda value: _publishing("messageDirection", direction=value)),
        _NOT_TEXT.map(lambda value: _publishing("text", text=value)),
        reply_texts,
    )


@given(bad_messages())
def test_v5_bad_messages_are_rejected(case: Invalid) -> None:
    assert_rejected(case)


# -- unknown ids -------------------------------------------------------------------------------------------

_MISSING_IDS = st.text(max_size=20).map(lambda text: f"missing-{text}") | st.none() | st.integers()


@st.composite
def unknown_ids(draw: st.DrawFn) -> Invalid:
    missing: Any = draw(_MISSING_IDS)
    calls: dict[str, tuple[Callable[[Store], object], str]] = {
        "publish": (lambda s: publish_to(s, missing), "channelAccountId"),
        "start conversation": (
            lambda s: s.engine.start_conversation(missing, recipients=[A], text="hi"),
            "channelAccountId",
        ),
        "update account": (lambda s: s.engine.update_channel_account(missing, name="x"), "channelAccountId"),
        "create account": (
            lambda s: s.engine.create_channel_account(missing, name="x", inbox_id="1", delivery_identifier=B),
            "channelId",
        ),
        "update channel": (lambda s: s.engine.update_channel(missing, name="x"), "channelId"),
        "reply": (lambda s: s.engine.reply(missing, "hi"), "threadId"),
        "close": (lambda s: s.engine.close_thread(missing), "threadId"),
        "archive": (lambda s: s.engine.archive_thread(missing), "threadId"),
        "restore": (lambda s: s.engine.restore_thread(missing), "threadId"),
        "reopen": (lambda s: s.engine.reopen_thread(missing), "threadId"),
        "close ticket": (lambda s: s.engine.close_ticket(missing), "threadId"),
        "create staging token": (lambda s: s.engine.create_staging_token(missing, inbox_id="1"), "channelId"),
        "complete staging token": (
            lambda s: s.engine.complete_staging_token(
                s.world.channel_id, missing, account_name="x", delivery_identifier=B
            ),
            "accountToken",
        ),
        "staging token": (lambda s: s.engine.staging_token(missing), "accountToken"),
        "messages page": (lambda s: s.engine.messages_page(missing), "threadId"),
    }
    name = draw(st.sampled_from(sorted(calls)))
    run, field = calls[name]
    return Invalid(f"{name} {missing!r}", run, NotFoundError, field)


@given(unknown_ids())
def test_unknown_ids_are_not_found(case: Invalid) -> None:
    """SPEC section 7: NOT_FOUND names the id's field; V5's account lookup and R8's thread lookups alike."""
    assert_rejected(case)


# -- channels: URLs, descriptions, capabilities; accounts --------------------------------------------------

_GOOD = Capabilities(
    delivery_identifier_types=(IdentifierType.HS_PHONE_NUMBER,), threading_model=ThreadingModel.DELIVERY_IDENTIFIER
)
_NOT_BOOL = st.integers() | st.text() | st.none()


_HOSTS = st.from_regex(r"[a-z]{1,10}\.(com|io|example)", fullmatch=True)


def bad_logo_urls() -> st.SearchStrategy[object]:
    return st.one_of(
        _HOSTS.map(lambda h: f"http://{h}/logo.png"),
        _HOSTS.map(lambda h: f"{h}/logo.png"),
        _HOSTS.map(lambda h: f"//{h}/logo.png"),
        _HOSTS.map(lambda h: f"ftp://{h}/logo.png"),
        _HOSTS.map(lambda h: f"https://{h}/my logo.png"),
        _HOSTS.map(lambda h: f" https://{h}/logo.png"),
        st.sampled_from(["", "https://", "https:///logo.png", "javascript:alert(1)", "data:image/png;base64,AA"]),
        st.integers(),
        st.binary(),
    )


def bad_webhook_urls() -> st.SearchStrategy[object]:
    return st.one_of(
        _HOSTS.map(lambda h: f"ws://{h}/hook"),
        _HOSTS.map(lambda h: f"{h}:8080/hook"),
        _HOSTS.map(lambda h: f"mailto:hook@{h}"),
        st.sampled_from(["", "http://", "localhost"]),
        st.integers(),
    )


_CHANNEL_FIELDS: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    "channel_logo_url": ("channelLogoUrl", bad_logo_urls()),
    "webhook_url": ("webhookUrl", bad_webhook_urls()),
    "channel_description": ("channelDescription", st.text(min_size=1001, max_size=1100) | st.integers()),
    "name": ("name", st.sampled_from(["", "   "]) | st.integers() | st.none()),
}


@st.composite
def bad_channel_fields(draw: st.DrawFn) -> Invalid:
    keyword = draw(st.sampled_from(sorted(_CHANNEL_FIELDS)))
    field, values = _CHANNEL_FIELDS[keyword]
    value = draw(values)
    if draw(st.booleans()):
        options: dict[str, Any] = {"name": "SMS", "capabilities": _GOOD, keyword: value}
        return Invalid(f"create {options!r}", lambda s: s.engine.create_channel(**options), ValidationError, field)
    update = {keyword: value}
    return Invalid(
        f"update {update!r}", lambda s: s.engine.update_channel(s.world.channel_id, **update), ValidationError, field
    )


@given(bad_channel_fields())
def test_v3_bad_urls_descriptions_and_names_are_rejected(case: Invalid) -> None:
    assert_rejected(case)


def _capabilities(**changes: Any) -> Any:
    """Good capabilities with ``changes`` made without any checks."""
    return attrs.evolve(_GOOD, **changes)


_CAPABILITY_KEYS: dict[str, st.SearchStrategy[Any]] = {
    "threading_model": st.text().filter(lambda t: t not in ("DELIVERY_IDENTIFIER", "INTEGRATION_THREAD_ID"))
    | st.none(),
    **dict.fromkeys(
        ["allow_outgoing_messages", "allow_conversation_start", "allow_multiple_recipients", "allow_inline_images"],
        _NOT_BOOL,
    ),
    **dict.fromkeys(
        ["rich_text", "outgoing_attachment_types", "allowed_file_attachment_mime_types"],
        st.text(min_size=1) | st.tuples(st.text(), st.integers()) | st.lists(st.integers(), min_size=1, max_size=2),
    ),
    **dict.fromkeys(
        ["max_file_attachment_count", "max_file_attachment_size_bytes", "max_total_file_attachment_size_bytes"],
        st.integers(max_value=-1) | st.floats() | st.booleans() | st.text(),
    ),
}


@st.composite
def bad_capabilities(draw: st.DrawFn) -> tuple[Any, str]:
    """A capabilities value V1 rejects, and the field the error names."""
    types_field = "capabilities.deliveryIdentifierTypes"
    choice = draw(st.sampled_from(["types", "type item", "other key", "not capabilities"]))
    value: Any
    if choice == "types":
        value = draw(st.sampled_from([(), [], None, "HS_PHONE_NUMBER", {}]))
        return _capabilities(delivery_identifier_types=value), types_field
    if choice == "type item":
        value = draw(st.sampled_from(["hs_phone_number", "PHONE", A, {"type": "HS_PHONE_NUMBER", "value": "+1"}, None]))
        return _capabilities(delivery_identifier_types=(IdentifierType.HS_EMAIL_ADDRESS, value)), types_field
    if choice == "other key":
        key = draw(st.sampled_from(sorted(_CAPABILITY_KEYS)))
        head, *rest = key.split("_")
        camel = head + "".join(word.title() for word in rest)
        return _capabilities(**{key: draw(_CAPABILITY_KEYS[key])}), f"capabilities.{camel}"
    return draw(st.sampled_from([None, {"deliveryIdentifierTypes": ["HS_PHONE_NUMBER"]}, "SMS"])), "capabilities"


@given(bad_capabilities())
def test_v1_bad_capabilities_are_rejected(case: tuple[Any, str]) -> None:
    capabilities, field = case
    assert_rejected(
        Invalid(
            f"capabilities {capabilities!r}",
            lambda s: s.engine.create_channel("SMS", capabilities),
            ValidationError,
            field,
        )
    )


_ACCOUNT_FIELDS: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    "name": ("name", st.sampled_from(["", " "]) | st.integers() | st.none()),
    "inbox_id": ("inboxId", st.sampled_from(["", "\t"]) | st.integers()),
    "authorized": ("authorized", _NOT_BOOL),
    "creates_tickets": ("createsTickets", _NOT_BOOL),
    "delivery_identifier": ("deliveryIdentifier", st.none() | st.text()),
}


@st.composite
def bad_account_fields(draw: st.DrawFn) -> Invalid:
    keyword = draw(st.sampled_from(sorted(_ACCOUNT_FIELDS)))
    field, values = _ACCOUNT_FIELDS[keyword]
    change = {keyword: draw(values)}
    if keyword in ("name", "authorized") and draw(st.booleans()):
        return Invalid(
            f"update account {change!r}",
            lambda s: s.engine.update_channel_account(s.world.account_id, **change),
            ValidationError,
            field,
        )
    options: dict[str, Any] = {"name": "Sales", "inbox_id": "inbox-9", "delivery_identifier": B, **change}
    return Invalid(
        f"create account {options!r}",
        lambda s: s.engine.create_channel_account(s.world.channel_id, **options),
        ValidationError,
        field,
    )


@given(bad_account_fields())
def test_v2_bad_account_fields_are_rejected(case: Invalid) -> None:
    assert_rejected(case)


def test_store_snapshot_sees_changes() -> None:
    """The snapshot the properties compare would notice a change, so "unchanged" means something."""
    store = populated()
    before = snapshot(store.engine)
    store.engine.update_channel_account(store.world.account_id, name="Renamed")
    assert snapshot(store.engine) != before
    assert before[2] and before[3] and before[4] and before[5]
