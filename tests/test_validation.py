"""Bad input gets a typed error naming the field and the rule, and changes nothing (V1-V6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import attrs
import pytest
from helpers import OWN, A, B, delivery_world, email, integration_world, new_engine, phone, snapshot, thread_id_of

from threading_engine import (
    UNSET,
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    NotAllowedError,
    NotFoundError,
    Outcome,
    ThreadingError,
    ThreadingModel,
    ValidationError,
)
from threading_engine import hubspot as hs

PHONE_ONLY = Capabilities(delivery_identifier_types=(IdentifierType.HS_PHONE_NUMBER,))


def _rejected(engine: Engine, call: Callable[[], object], error_type: type[ThreadingError]) -> ThreadingError:
    """Run ``call``, which must raise ``error_type`` and leave the store as it was."""
    before = snapshot(engine)
    with pytest.raises(error_type) as caught:
        call()
    assert snapshot(engine) == before
    return caught.value


def _field_and_rule(error: ThreadingError) -> tuple[str | None, str | None]:
    assert error.field is not None
    assert error.field in error.message
    if error.rule is not None:
        assert error.message.endswith(f"({error.rule})")
    return error.field, error.rule


# -- V1: capabilities --------------------------------------------------------------------------------------


def test_v1_default_threading_model_is_integration_thread_id() -> None:
    """SPEC section 1 (decision)."""
    engine = new_engine()
    channel = engine.channel(_channel(engine))
    assert channel.capabilities.threading_model is ThreadingModel.INTEGRATION_THREAD_ID
    assert channel.capabilities.allow_outgoing_messages is False


@pytest.mark.parametrize("types", [(), [], None, "HS_PHONE_NUMBER"])
def test_v1_identifier_types_must_be_a_non_empty_list(types: Any) -> None:
    engine = new_engine()
    error = _rejected(engine, lambda: engine.create_channel("SMS", Capabilities(types)), ValidationError)
    assert _field_and_rule(error) == ("capabilities.deliveryIdentifierTypes", "V1")


@pytest.mark.parametrize("item", ["EMAIL", phone("+15550100001"), {"type": "HS_PHONE_NUMBER", "value": "+1555"}])
def test_v1_identifier_types_must_be_type_names(item: Any) -> None:
    engine = new_engine()
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER, item))
    error = _rejected(engine, lambda: engine.create_channel("SMS", capabilities), ValidationError)
    assert _field_and_rule(error) == ("capabilities.deliveryIdentifierTypes", "V1")
    assert error.value == item


def test_v1_identifier_objects_are_called_a_common_mistake_in_json() -> None:
    with pytest.raises(ValidationError) as caught:
        hs.parse_create_channel(
            {
                "name": "SMS",
                "capabilities": {"deliveryIdentifierTypes": [{"type": "HS_PHONE_NUMBER", "value": "+15550100"}]},
            }
        )
    assert _field_and_rule(caught.value) == ("capabilities.deliveryIdentifierTypes", "V1")
    assert "common mistake" in caught.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"threading_model": "DELIVERY"}, "capabilities.threadingModel"),
        ({"allow_outgoing_messages": "yes"}, "capabilities.allowOutgoingMessages"),
        ({"allow_conversation_start": 1}, "capabilities.allowConversationStart"),
        ({"allow_multiple_recipients": None}, "capabilities.allowMultipleRecipients"),
        ({"rich_text": "HYPERLINK"}, "capabilities.richText"),
        ({"allowed_file_attachment_mime_types": ("image/png", 3)}, "capabilities.allowedFileAttachmentMimeTypes"),
        ({"max_file_attachment_count": -1}, "capabilities.maxFileAttachmentCount"),
        ({"max_file_attachment_size_bytes": True}, "capabilities.maxFileAttachmentSizeBytes"),
        ({"max_total_file_attachment_size_bytes": 1.5}, "capabilities.maxTotalFileAttachmentSizeBytes"),
    ],
)
def test_v1_other_capability_keys_are_type_checked(changes: dict[str, Any], field: str) -> None:
    engine = new_engine()
    capabilities = attrs.evolve(PHONE_ONLY, **changes)
    error = _rejected(engine, lambda: engine.create_channel("SMS", capabilities), ValidationError)
    assert _field_and_rule(error) == (field, "V1")


def test_v1_other_capability_keys_are_kept() -> None:
    engine = new_engine()
    capabilities = attrs.evolve(
        PHONE_ONLY, rich_text=("HYPERLINK",), max_file_attachment_count=3, allow_inline_images=True
    )
    channel_id = _channel(engine, capabilities)
    assert engine.channel(channel_id).capabilities == capabilities


def test_v1_capabilities_must_be_capabilities() -> None:
    engine = new_engine()
    body: Any = {"deliveryIdentifierTypes": ["HS_PHONE_NUMBER"]}
    error = _rejected(engine, lambda: engine.create_channel("SMS", body), ValidationError)
    assert _field_and_rule(error) == ("capabilities", "V1")


# -- V2: the account's delivery identifier ----------------------------------------------------------------


def _channel(engine: Engine, capabilities: Capabilities = PHONE_ONLY, **options: Any) -> str:
    channel_id = engine.create_channel("SMS", capabilities, **options).channel_id
    assert channel_id is not None
    return channel_id


def _connect(engine: Engine, channel_id: str, identifier: Any, **overrides: Any) -> str:
    fields: dict[str, Any] = {"name": "Support", "inbox_id": "inbox-1", "delivery_identifier": identifier}
    fields.update(overrides)
    account_id = engine.create_channel_account(channel_id, **fields).channel_account_id
    assert account_id is not None
    return account_id


def test_v2_account_identifier_is_stored_canonical() -> None:
    engine = new_engine()
    account_id = _connect(engine, _channel(engine), DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, "+1 555-0100"))
    assert engine.channel_account(account_id).delivery_identifier == phone("+15550100")


def test_v2_delivery_identifier_is_required() -> None:
    engine = new_engine()
    channel_id = _channel(engine)
    error = _rejected(engine, lambda: _connect(engine, channel_id, None), ValidationError)
    assert _field_and_rule(error) == ("deliveryIdentifier", "V2")


def test_v2_identifier_type_must_be_one_of_the_channels() -> None:
    engine = new_engine()
    channel_id = _channel(engine)
    error = _rejected(engine, lambda: _connect(engine, channel_id, email("ana@example.com")), ValidationError)
    assert _field_and_rule(error) == ("deliveryIdentifier.type", "V2")
    assert error.value == "HS_EMAIL_ADDRESS"


def test_v2_identifier_value_must_be_valid() -> None:
    engine = new_engine()
    channel_id = _channel(engine)
    bad = DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, "555-0100")
    error = _rejected(engine, lambda: _connect(engine, channel_id, bad), ValidationError)
    assert _field_and_rule(error) == ("deliveryIdentifier.value", "V4")


def test_v2_duplicate_identifier_on_same_channel() -> None:
    engine = new_engine()
    channel_id = _channel(engine)
    first = _connect(engine, channel_id, phone("+15550100"))
    same = DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, " +1 (555) 0100 ")
    error = _rejected(engine, lambda: _connect(engine, channel_id, same, name="Sales"), ValidationError)
    assert _field_and_rule(error) == ("deliveryIdentifier", "V2")
    assert first in error.message


def test_v2_same_identifier_on_another_channel_is_fine() -> None:
    engine = new_engine()
    first = _connect(engine, _channel(engine), phone("+15550100"))
    second = _connect(engine, _channel(engine), phone("+15550100"))
    assert first != second


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"inbox_id": "  "}, "inboxId"),
        ({"authorized": "true"}, "authorized"),
        ({"creates_tickets": 1}, "createsTickets"),
    ],
)
def test_v2_other_account_fields_are_checked(overrides: dict[str, Any], field: str) -> None:
    engine = new_engine()
    channel_id = _channel(engine)
    error = _rejected(engine, lambda: _connect(engine, channel_id, phone("+15550100"), **overrides), ValidationError)
    assert _field_and_rule(error) == (field, "V2")


def test_v2_unknown_channel_is_not_found() -> None:
    engine = new_engine()
    error = _rejected(engine, lambda: _connect(engine, "channel-404", phone("+15550100")), NotFoundError)
    assert (error.field, error.value) == ("channelId", "channel-404")


# -- V3: logo URL and description --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://cdn.example/logo.png", "cdn.example/logo.png", "/logo.png", "https://", "ftp://x.example/a", 42]
)
def test_v3_logo_url_must_be_absolute_https(url: Any) -> None:
    engine = new_engine()
    error = _rejected(engine, lambda: engine.create_channel("SMS", PHONE_ONLY, channel_logo_url=url), ValidationError)
    assert _field_and_rule(error) == ("channelLogoUrl", "V3")


def test_v3_description_of_1000_characters_is_accepted_and_1001_rejected() -> None:
    engine = new_engine()
    channel_id = _channel(engine, channel_description="d" * 1000)
    assert engine.channel(channel_id).channel_description == "d" * 1000
    error = _rejected(
        engine, lambda: engine.update_channel(channel_id, channel_description="d" * 1001), ValidationError
    )
    assert _field_and_rule(error) == ("channelDescription", "V3")


def test_v3_logo_and_description_are_read_written_updated_and_cleared() -> None:
    engine = new_engine()
    logo = "https://cdn.example/logo.png"
    channel_id = engine.create_channel("SMS", PHONE_ONLY, channel_logo_url=logo, channel_description="Texts").channel_id
    assert channel_id is not None
    channel = engine.channel(channel_id)
    assert (channel.channel_logo_url, channel.channel_description) == (logo, "Texts")
    updated = engine.update_channel(channel_id, channel_description="Text messages")
    assert updated.outcome is Outcome.CHANGED
    assert [r.event.type for r in updated.events] == ["CHANNEL_UPDATED"]
    assert engine.channel(channel_id).channel_logo_url == logo
    engine.update_channel(channel_id, channel_logo_url=None, channel_description=UNSET)
    channel = engine.channel(channel_id)
    assert (channel.channel_logo_url, channel.channel_description) == (None, "Text messages")
    engine.update_channel(channel_id, channel_description=None)
    assert engine.channel(channel_id).channel_description is None


def test_v3_update_to_the_same_values_is_unchanged() -> None:
    engine = new_engine()
    channel_id = _channel(engine, channel_description="Texts")
    result = engine.update_channel(channel_id, channel_description="Texts")
    assert (result.outcome, result.events) == (Outcome.UNCHANGED, ())


def test_v3_webhook_url_is_an_absolute_http_url() -> None:
    engine = new_engine()
    assert engine.create_channel("SMS", PHONE_ONLY, webhook_url="http://localhost:8080/hook").outcome is Outcome.CHANGED
    error = _rejected(
        engine, lambda: engine.create_channel("SMS", PHONE_ONLY, webhook_url="ws://localhost/hook"), ValidationError
    )
    assert _field_and_rule(error) == ("webhookUrl", "V3")


def test_v3_channel_name_is_required() -> None:
    engine = new_engine()
    error = _rejected(engine, lambda: engine.create_channel(" ", PHONE_ONLY), ValidationError)
    assert _field_and_rule(error) == ("name", "V3")


def test_v3_update_of_an_unknown_channel_is_not_found() -> None:
    engine = new_engine()
    error = _rejected(engine, lambda: engine.update_channel("channel-404", name="x"), NotFoundError)
    assert error.field == "channelId"


# -- V5: messages ------------------------------------------------------------------------------------------


def test_v5_message_needs_a_sender() -> None:
    world = delivery_world()
    publish = world.engine.publish_message
    error = _rejected(
        world.engine,
        lambda: publish(world.account_id, direction=Direction.INCOMING, senders=[], text="hi"),
        ValidationError,
    )
    assert _field_and_rule(error) == ("senders", "V5")


def test_v5_identifier_types_must_be_allowed_by_the_channel() -> None:
    engine = new_engine()
    channel_id = _channel(engine, attrs.evolve(PHONE_ONLY, threading_model=ThreadingModel.DELIVERY_IDENTIFIER))
    account_id = _connect(engine, channel_id, OWN)

    def publish(senders: list[DeliveryIdentifier], recipients: list[DeliveryIdentifier]) -> object:
        return engine.publish_message(
            account_id, direction=Direction.INCOMING, senders=senders, recipients=recipients, text="hi"
        )

    error = _rejected(engine, lambda: publish([email("ana@example.com")], []), ValidationError)
    assert _field_and_rule(error) == ("senders[0].deliveryIdentifier.type", "V5")
    error = _rejected(engine, lambda: publish([A], [OWN, email("ana@example.com")]), ValidationError)
    assert _field_and_rule(error) == ("recipients[1].deliveryIdentifier.type", "V5")


def test_v5_invalid_participant_identifier_names_its_place() -> None:
    world = delivery_world()
    bad = DeliveryIdentifier(IdentifierType.HS_EMAIL_ADDRESS, "ana@")
    error = _rejected(world.engine, lambda: world.incoming(A, recipients=(OWN, bad)), ValidationError)
    assert _field_and_rule(error) == ("recipients[1].deliveryIdentifier.value", "V4")


class _NoOffset(tzinfo):
    """A time zone that knows no offset: Python counts such datetimes as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


@pytest.mark.parametrize("timestamp", [datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 2, 9, 0, tzinfo=_NoOffset())])
def test_v5_naive_timestamp_rejected(timestamp: datetime) -> None:
    world = delivery_world()
    error = _rejected(world.engine, lambda: world.incoming(A, timestamp=timestamp), ValidationError)
    assert _field_and_rule(error) == ("timestamp", "V5")


def test_v5_any_offset_is_accepted() -> None:
    world = delivery_world()
    stamp = world.clock.now.astimezone(timezone(timedelta(hours=-5)))
    result = world.incoming(A, timestamp=stamp)
    assert world.message(result).timestamp == stamp


def test_v5_unauthorized_account_is_not_allowed() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    updated = world.engine.update_channel_account(world.account_id, authorized=False)
    assert [r.event.type for r in updated.events] == ["CHANNEL_ACCOUNT_UPDATED"]
    calls: list[Callable[[], object]] = [
        lambda: world.incoming(A),
        lambda: world.outgoing(A),
        lambda: world.engine.reply(thread_id, "hello"),
        lambda: world.engine.start_conversation(world.account_id, recipients=[B], text="hello"),
    ]
    for call in calls:
        error = _rejected(world.engine, call, NotAllowedError)
        assert (error.code, error.field, error.rule) == ("NOT_ALLOWED", "channelAccountId", "V5")
    world.engine.update_channel_account(world.account_id, authorized=True)
    assert world.incoming(A).outcome is Outcome.APPENDED


def test_v5_account_created_unauthorized_accepts_nothing() -> None:
    engine = new_engine()
    account_id = _connect(engine, _channel(engine), OWN, authorized=False)
    error = _rejected(
        engine,
        lambda: engine.publish_message(
            account_id, direction=Direction.INCOMING, senders=[A], text="hi", integration_thread_id="c"
        ),
        NotAllowedError,
    )
    assert error.rule == "V5"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"direction": "INCOMING"}, "messageDirection"),
        ({"text": None}, "text"),
        ({"text": b"hi"}, "text"),
        ({"senders": None}, "senders"),
        ({"senders": A}, "senders"),
        ({"senders": ["+15550100001"]}, "senders[0].deliveryIdentifier"),
    ],
)
def test_v5_wrong_types_are_validation_errors(overrides: dict[str, Any], field: str) -> None:
    world = delivery_world()
    fields: dict[str, Any] = {"direction": Direction.INCOMING, "senders": [A], "text": "hi"}
    fields.update(overrides)
    error = _rejected(world.engine, lambda: world.engine.publish_message(world.account_id, **fields), ValidationError)
    assert _field_and_rule(error)[0] == field


def test_v5_unknown_account_is_not_found() -> None:
    world = delivery_world()
    publish = world.engine.publish_message
    error = _rejected(
        world.engine,
        lambda: publish("account-404", direction=Direction.INCOMING, senders=[A], text="hi"),
        NotFoundError,
    )
    assert (error.code, error.field, error.value) == ("NOT_FOUND", "channelAccountId", "account-404")


# -- V6: integrationThreadId -------------------------------------------------------------------------------


@pytest.mark.parametrize("thread_id", [None, "", "   "])
def test_v6_integration_thread_id_is_required_under_integration_model(thread_id: str | None) -> None:
    world = integration_world()
    error = _rejected(world.engine, lambda: world.incoming(A, integration_thread_id=thread_id), ValidationError)
    assert _field_and_rule(error) == ("integrationThreadId", "V6")
    error = _rejected(world.engine, lambda: world.outgoing(A, integration_thread_id=thread_id), ValidationError)
    assert _field_and_rule(error) == ("integrationThreadId", "V6")


def test_v6_integration_thread_id_is_stored_and_ignored_under_delivery_identifier() -> None:
    world = delivery_world()
    first = world.incoming(A, integration_thread_id="conv-1")
    second = world.incoming(A, integration_thread_id="conv-2")
    assert second.thread_id == first.thread_id
    assert [world.message(r).integration_thread_id for r in (first, second)] == ["conv-1", "conv-2"]
    assert world.thread(first.thread_id).integration_thread_id is None


def test_v1_capabilities_accept_lists_and_names_as_people_write_them() -> None:
    """V1: type names as strings, lists for tuples, and repeated types are brought to canonical form."""
    written = Capabilities(
        ["HS_PHONE_NUMBER", IdentifierType.HS_EMAIL_ADDRESS, "HS_PHONE_NUMBER"],  # type: ignore[arg-type]
        "DELIVERY_IDENTIFIER",  # type: ignore[arg-type]
        rich_text=["HYPERLINK"],  # type: ignore[arg-type]
    )
    engine = Engine()
    channel = engine.create_channel("SMS", written)
    assert channel.channel_id is not None
    stored = engine.channel(channel.channel_id).capabilities
    assert stored.delivery_identifier_types == (IdentifierType.HS_PHONE_NUMBER, IdentifierType.HS_EMAIL_ADDRESS)
    assert stored.threading_model is ThreadingModel.DELIVERY_IDENTIFIER
    assert stored.rich_text == ("HYPERLINK",)


def test_v1_identifier_objects_in_types_are_named_a_common_mistake() -> None:
    """V1: a list of {type, value} objects is the usual slip, and the error says so."""
    mistaken = Capabilities((DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100"),))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="common mistake") as raised:
        Engine().create_channel("SMS", mistaken)
    assert raised.value.field == "capabilities.deliveryIdentifierTypes" and raised.value.rule == "V1"


def test_v5_a_naive_engine_clock_is_refused_before_anything_is_written() -> None:
    """V5: naive datetimes are rejected everywhere, the engine's own clock included."""
    engine = Engine(clock=lambda: datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValidationError) as raised:
        engine.create_channel("SMS", Capabilities((IdentifierType.HS_PHONE_NUMBER,)))
    assert raised.value.field == "clock" and raised.value.rule == "V5"
    assert engine.repository.list_channels() == [] and engine.repository.read_events() == []
