"""HubSpot's JSON at the edge: request bodies parsed into commands, values and events rendered (the hubspot package)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from threading_engine import (
    UNSET,
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Participant,
    SequentialIds,
    ThreadingModel,
    ValidationError,
)
from threading_engine import hubspot as hs
from threading_engine.events import EVENT_TYPES
from threading_engine.replay import TraceClock

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
PHONE_TYPES: dict[str, Any] = {"deliveryIdentifierTypes": ["HS_PHONE_NUMBER"]}


def phone(value: str, name: str | None = None) -> dict[str, Any]:
    participant: dict[str, Any] = {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": value}}
    if name is not None:
        participant["name"] = name
    return participant


def rejected(call: Any, *args: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call(*args)
    return caught.value


# -- capabilities (V1) ---------------------------------------------------------------------------------------


def test_v1_delivery_identifier_types_is_required() -> None:
    error = rejected(hs.parse_capabilities, {"allowOutgoingMessages": True})
    assert error.field == "capabilities.deliveryIdentifierTypes"
    assert error.rule == "V1"
    assert "required" in error.message


def test_v1_identifier_objects_are_called_a_common_mistake() -> None:
    error = rejected(
        hs.parse_capabilities, {"deliveryIdentifierTypes": [{"type": "HS_PHONE_NUMBER", "value": "+15550100"}]}
    )
    assert error.field == "capabilities.deliveryIdentifierTypes"
    assert error.rule == "V1"
    assert "common mistake" in error.message
    assert '"HS_PHONE_NUMBER"' in error.message
    assert "did you mean ['HS_PHONE_NUMBER']" in error.message


@pytest.mark.parametrize("value", [[], None, "HS_PHONE_NUMBER", {"type": "HS_PHONE_NUMBER"}])
def test_v1_delivery_identifier_types_must_be_a_non_empty_list(value: object) -> None:
    error = rejected(hs.parse_capabilities, {"deliveryIdentifierTypes": value})
    assert error.field == "capabilities.deliveryIdentifierTypes"
    assert "non-empty list" in error.message


def test_v1_identifier_objects_with_odd_types_get_no_suggestion() -> None:
    error = rejected(hs.parse_capabilities, {"deliveryIdentifierTypes": [{"type": ["HS_PHONE_NUMBER"]}]})
    assert "common mistake" in error.message
    assert "did you mean" not in error.message


def test_v1_unknown_type_name_names_the_item() -> None:
    error = rejected(hs.parse_capabilities, {"deliveryIdentifierTypes": ["HS_PHONE_NUMBER", "EMAIL"]})
    assert error.field == "capabilities.deliveryIdentifierTypes[1]"
    assert error.value == "EMAIL"
    assert "HS_EMAIL_ADDRESS" in error.message


def test_v1_wrong_json_type_names_the_camel_case_path_value_and_rule() -> None:
    error = rejected(hs.parse_capabilities, {**PHONE_TYPES, "allowOutgoingMessages": "yes"})
    assert error.field == "capabilities.allowOutgoingMessages"
    assert error.value == "yes"
    assert error.message == "capabilities.allowOutgoingMessages 'yes' is not a boolean (V1)"


@pytest.mark.parametrize(
    ("key", "value"),
    [("richText", "BOLD"), ("maxFileAttachmentCount", -1), ("maxFileAttachmentSizeBytes", True)],
)
def test_v1_other_capability_keys_are_type_checked(key: str, value: object) -> None:
    assert rejected(hs.parse_capabilities, {**PHONE_TYPES, key: value}).field == f"capabilities.{key}"


@pytest.mark.parametrize(
    ("key", "entries", "bad_index", "rule"),
    [
        ("outgoingAttachmentTypes", ["FILE", "STICKER"], 1, "V8"),
        ("outgoingAttachmentTypes", ["FILE", "LOCATION", "FILE"], 2, "V1"),
        ("richText", ["BOLD", "BOLD"], 1, "V1"),
        ("allowedFileAttachmentMimeTypes", ["image/*", "png"], 1, "V1"),
        ("allowedFileAttachmentMimeTypes", ["image/png", "image/png"], 1, "V1"),
        ("deliveryIdentifierTypes", ["HS_PHONE_NUMBER", "HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER"], 2, "V1"),
    ],
)
def test_v1_capability_lists_hold_values_of_hubspot_schema_once(
    key: str, entries: list[str], bad_index: int, rule: str
) -> None:
    error = rejected(hs.parse_capabilities, {**PHONE_TYPES, key: entries})
    assert (error.field, error.value, error.rule) == (f"capabilities.{key}[{bad_index}]", entries[bad_index], rule)


def test_v1_capability_lists_of_hubspot_values_are_kept() -> None:
    lists = {
        "outgoingAttachmentTypes": ["FILE", "QUICK_REPLIES"],
        "richText": ["BOLD", "HYPERLINK"],
        "allowedFileAttachmentMimeTypes": ["image/*", "application/pdf"],
    }
    capabilities = hs.parse_capabilities({**PHONE_TYPES, **lists})
    assert capabilities.outgoing_attachment_types == ("FILE", "QUICK_REPLIES")
    assert capabilities.rich_text == ("BOLD", "HYPERLINK")
    assert capabilities.allowed_file_attachment_mime_types == ("image/*", "application/pdf")


def test_v1_unknown_capability_key_is_rejected() -> None:
    error = rejected(hs.parse_capabilities, {**PHONE_TYPES, "allowOutgoingMessage": True})
    assert error.field == "capabilities.allowOutgoingMessage"
    assert "not a field of capabilities" in error.message


def test_v1_unknown_threading_model_is_rejected() -> None:
    error = rejected(hs.parse_capabilities, {**PHONE_TYPES, "threadingModel": "BY_CONTACT"})
    assert error.field == "capabilities.threadingModel"


def test_capabilities_default_to_integration_thread_id_and_false() -> None:
    capabilities = hs.parse_capabilities({**PHONE_TYPES, "threadingModel": None})
    assert capabilities == Capabilities((IdentifierType.HS_PHONE_NUMBER,))
    assert capabilities.threading_model is ThreadingModel.INTEGRATION_THREAD_ID


def test_capabilities_render_and_parse_back_equal() -> None:
    capabilities = Capabilities(
        (IdentifierType.HS_EMAIL_ADDRESS, IdentifierType.HS_PHONE_NUMBER),
        threading_model=ThreadingModel.DELIVERY_IDENTIFIER,
        allow_outgoing_messages=True,
        rich_text=("HYPERLINK", "BLOCKQUOTE"),
        outgoing_attachment_types=("FILE",),
        allowed_file_attachment_mime_types=("image/png",),
        max_file_attachment_count=1,
        max_file_attachment_size_bytes=1_500_000,
    )
    rendered = hs.capabilities_to_json(capabilities)
    assert rendered["threadingModel"] == "DELIVERY_IDENTIFIER"
    assert "maxTotalFileAttachmentSizeBytes" not in rendered  # a limit not set is left out, never null
    assert hs.parse_capabilities(rendered) == capabilities


# -- channels (V3) ---------------------------------------------------------------------------------------------


def test_create_channel_reads_every_field() -> None:
    command = hs.parse_create_channel(
        {
            "name": "SMS",
            "capabilities": PHONE_TYPES,
            "webhookUrl": "https://bridge.example/hook",
            "channelLogoUrl": "https://cdn.example/logo.png",
            "channelDescription": "Texts",
            "channelAccountConnectionRedirectUrl": "https://bridge.example/connect",
        }
    )
    assert command.name == "SMS"
    assert command.capabilities.delivery_identifier_types == (IdentifierType.HS_PHONE_NUMBER,)
    assert (command.webhook_url, command.channel_logo_url, command.channel_description) == (
        "https://bridge.example/hook",
        "https://cdn.example/logo.png",
        "Texts",
    )
    assert command.channel_account_connection_redirect_url == "https://bridge.example/connect"


def test_v3_the_account_connection_redirect_is_kept_rendered_and_checked() -> None:
    engine = Engine(ids=SequentialIds())
    body = {"name": "SMS", "capabilities": PHONE_TYPES, "channelAccountConnectionRedirectUrl": "https://b.example/c"}
    channel_id = engine.execute(hs.parse_create_channel(body)).channel_id
    assert channel_id is not None
    rendered = hs.channel_to_json(engine.channel(channel_id))
    assert rendered["channelAccountConnectionRedirectUrl"] == "https://b.example/c"
    engine.execute(hs.parse_update_channel(channel_id, {"channelAccountConnectionRedirectUrl": None}))
    assert "channelAccountConnectionRedirectUrl" not in hs.channel_to_json(engine.channel(channel_id))
    error = rejected(hs.parse_update_channel, channel_id, {"channelAccountConnectionRedirectUrl": "ftp://x.example"})
    assert (error.field, error.rule) == ("channelAccountConnectionRedirectUrl", "V3")


@pytest.mark.parametrize("missing", ["name", "capabilities"])
def test_create_channel_names_a_missing_field(missing: str) -> None:
    body = {"name": "SMS", "capabilities": PHONE_TYPES}
    del body[missing]
    error = rejected(hs.parse_create_channel, body)
    assert error.field == missing
    assert "required" in error.message


def test_create_channel_rejects_unknown_keys_and_non_objects() -> None:
    assert rejected(hs.parse_create_channel, {"name": "x", "capabilities": PHONE_TYPES, "logo": "y"}).field == "logo"
    assert rejected(hs.parse_create_channel, ["name"]).field is None
    assert rejected(hs.parse_create_channel, {"name": "x", "capabilities": []}).field == "capabilities"


def test_v3_logo_url_must_be_absolute_https() -> None:
    error = rejected(
        hs.parse_create_channel, {"name": "x", "capabilities": PHONE_TYPES, "channelLogoUrl": "http://cdn/x.png"}
    )
    assert (error.field, error.rule) == ("channelLogoUrl", "V3")


def test_v3_update_channel_changes_only_given_keys_and_null_clears() -> None:
    command = hs.parse_update_channel("channel-1", {"channelDescription": None, "name": "Texts"})
    assert command.channel_id == "channel-1"
    assert command.name == "Texts"
    assert command.channel_description is None
    assert command.channel_logo_url is UNSET
    assert command.webhook_url is UNSET


def test_v7_update_channel_takes_capabilities_as_a_whole() -> None:
    command = hs.parse_update_channel("channel-1", {"capabilities": PHONE_TYPES})
    assert command.capabilities == hs.parse_capabilities(PHONE_TYPES)
    error = rejected(hs.parse_update_channel, "channel-1", {"capabilities": {"deliveryIdentifierTypes": []}})
    assert (error.field, error.rule) == ("capabilities.deliveryIdentifierTypes", "V1")


def test_v3_description_longer_than_1000_characters_is_rejected() -> None:
    assert rejected(hs.parse_update_channel, "c", {"channelDescription": "x" * 1001}).field == "channelDescription"


# -- accounts (V2) --------------------------------------------------------------------------------------------


ACCOUNT: dict[str, Any] = {
    "name": "Help desk",
    "inboxId": 417,
    "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+1 (206) 555-0100"},
}


def test_create_account_converts_inbox_id_and_canonicalises_the_identifier() -> None:
    command = hs.parse_create_account("channel-1", ACCOUNT)
    assert command.channel_id == "channel-1"
    assert command.inbox_id == "417"
    assert command.delivery_identifier == DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, "+12065550100")
    assert (command.authorized, command.creates_tickets) == (True, False)
    assert hs.parse_create_account("c", {**ACCOUNT, "inboxId": "inbox-9", "createsTickets": True}).creates_tickets


@pytest.mark.parametrize("inbox_id", [True, 4.5, ["417"]])
def test_create_account_rejects_an_inbox_id_that_is_no_string_or_integer(inbox_id: object) -> None:
    assert rejected(hs.parse_create_account, "c", {**ACCOUNT, "inboxId": inbox_id}).field == "inboxId"


def test_v2_delivery_identifier_is_required() -> None:
    body = {k: v for k, v in ACCOUNT.items() if k != "deliveryIdentifier"}
    error = rejected(hs.parse_create_account, "c", body)
    assert (error.field, error.rule) == ("deliveryIdentifier", "V2")


def test_v4_bad_identifier_value_names_its_path() -> None:
    body = {**ACCOUNT, "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "555"}}
    error = rejected(hs.parse_create_account, "c", body)
    assert (error.field, error.rule) == ("deliveryIdentifier.value", "V4")


def test_v2_create_account_checks_booleans_and_keys() -> None:
    assert rejected(hs.parse_create_account, "c", {**ACCOUNT, "createsTickets": "yes"}).field == "createsTickets"
    assert rejected(hs.parse_create_account, "c", {**ACCOUNT, "active": True}).field == "active"


def test_update_account_takes_name_and_authorized_only() -> None:
    command = hs.parse_update_account("account-1", {"authorized": False})
    assert command.authorized is False
    assert command.name is UNSET
    assert rejected(hs.parse_update_account, "a", {"inboxId": "2"}).field == "inboxId"
    assert rejected(hs.parse_update_account, "a", {"authorized": "no"}).field == "authorized"


# -- messages (V5, V6, D1) ------------------------------------------------------------------------------------


MESSAGE: dict[str, Any] = {
    "channelAccountId": "account-1",
    "messageDirection": "INCOMING",
    "senders": [phone("+1 206 555 0142", "Alice")],
    "recipients": [phone("+12065550100")],
    "text": "Hello",
    "timestamp": "2026-01-01T10:00:00+01:00",
    "integrationThreadId": "t-1",
    "integrationIdempotencyId": "m-1",
    "attachments": [],
    "richText": "<p>Hello</p>",
}


def test_publish_message_reads_every_field_and_ignores_attachments() -> None:
    command = hs.parse_publish_message(MESSAGE)
    assert command.channel_account_id == "account-1"
    assert command.direction is Direction.INCOMING
    assert command.senders == (
        Participant(DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, "+12065550142"), "Alice"),
    )
    assert command.recipients == (Participant(DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, "+12065550100")),)
    assert command.text == "Hello"
    assert command.timestamp == T0
    assert (command.integration_thread_id, command.integration_idempotency_id) == ("t-1", "m-1")


def test_publish_message_optional_fields_may_be_null_or_absent() -> None:
    body = {**MESSAGE, "recipients": None, "integrationThreadId": None}
    del body["timestamp"]
    command = hs.parse_publish_message(body)
    assert (command.recipients, command.timestamp, command.integration_thread_id) == ((), None, None)


def test_v5_naive_timestamp_is_rejected() -> None:
    error = rejected(hs.parse_publish_message, {**MESSAGE, "timestamp": "2026-01-01T09:00:00"})
    assert (error.field, error.rule) == ("timestamp", "V5")
    assert "timezone" in error.message


@pytest.mark.parametrize("timestamp", ["yesterday", 1767258000000])
def test_v5_timestamp_must_be_an_iso_string(timestamp: object) -> None:
    assert rejected(hs.parse_publish_message, {**MESSAGE, "timestamp": timestamp}).field == "timestamp"


def test_v5_message_needs_a_sender() -> None:
    assert rejected(hs.parse_publish_message, {**MESSAGE, "senders": []}).field == "senders"
    body = {k: v for k, v in MESSAGE.items() if k != "senders"}
    assert rejected(hs.parse_publish_message, body).message == "senders is required (V5)"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"messageDirection": "SIDEWAYS"}, "messageDirection"),
        ({"messageDirection": ["INCOMING"]}, "messageDirection"),
        ({"senders": [{"name": "no identifier"}]}, "senders[0].deliveryIdentifier"),
        ({"senders": [phone("12")]}, "senders[0].deliveryIdentifier.value"),
        (
            {"recipients": [{"deliveryIdentifier": {"type": "FAX", "value": "1"}}]},
            "recipients[0].deliveryIdentifier.type",
        ),
        ({"senders": [{**phone("+15550142"), "actorId": "V-1"}]}, "senders[0].actorId"),
        ({"senders": "+15550142"}, "senders"),
        ({"subject": "Hi"}, "subject"),
        ({"text": None}, "text"),
        ({"text": 5}, "text"),
    ],
)
def test_message_errors_name_the_camel_case_path(change: dict[str, Any], field: str) -> None:
    assert rejected(hs.parse_publish_message, {**MESSAGE, **change}).field == field


def test_reply_and_conversation_start_bodies() -> None:
    assert hs.parse_reply("thread-1", {"text": "Hi"}).thread_id == "thread-1"
    start = hs.parse_start_conversation("account-1", {"recipients": [phone("+15550142")], "text": "Hi"})
    assert start.recipients[0].delivery_identifier.value == "+15550142"
    assert rejected(hs.parse_reply, "t", {"text": "Hi", "to": "x"}).field == "to"
    assert rejected(hs.parse_start_conversation, "a", {"recipients": [], "text": "Hi"}).field == "recipients"


# -- rendering ------------------------------------------------------------------------------------------------


def test_timestamps_are_utc_with_z_and_keep_microseconds() -> None:
    assert hs.format_timestamp(T0) == "2026-01-01T09:00:00Z"
    assert hs.format_timestamp(T0.replace(microsecond=500)) == "2026-01-01T09:00:00.000500Z"
    assert hs.format_timestamp(datetime(2026, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-01-01T09:00:00Z"
    )
    with pytest.raises(ValueError, match="timezone"):
        hs.format_timestamp(datetime(2026, 1, 1))
    assert hs.parse_timestamp("2026-01-01T09:00:00Z") == T0


def sms_engine() -> tuple[Engine, TraceClock, str]:
    """An engine with an SMS channel under DELIVERY_IDENTIFIER and a ticket-creating account."""
    clock = TraceClock(T0)
    engine = Engine(clock=clock, ids=SequentialIds())
    capabilities = {**PHONE_TYPES, "threadingModel": "DELIVERY_IDENTIFIER", "allowOutgoingMessages": True}
    channel = engine.execute(hs.parse_create_channel({"name": "SMS", "capabilities": capabilities}))
    assert channel.channel_id is not None
    account = engine.execute(hs.parse_create_account(channel.channel_id, {**ACCOUNT, "createsTickets": True}))
    assert account.channel_account_id is not None
    return engine, clock, account.channel_account_id


def test_account_and_channel_render_as_hubspot_shows_them() -> None:
    engine, _, account_id = sms_engine()
    account = hs.account_to_json(engine.channel_account(account_id))
    assert account == {
        "id": "account-1",
        "channelId": "channel-1",
        "inboxId": "417",
        "name": "Help desk",
        "authorized": True,
        "active": True,
        "archived": False,
        "createdAt": "2026-01-01T09:00:00Z",
        "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+12065550100"},
        "threadingEngine": {"portalId": "0", "createsTickets": True},  # P1: the default portal
    }
    channel = hs.channel_to_json(engine.channel("channel-1"))
    assert channel["capabilities"]["threadingModel"] == "DELIVERY_IDENTIFIER"
    assert channel["createdAt"] == "2026-01-01T09:00:00Z"


def test_message_thread_and_ticket_render() -> None:
    engine, clock, account_id = sms_engine()
    clock.now = T0 + timedelta(minutes=1, microseconds=5)
    result = engine.execute(hs.parse_publish_message({**MESSAGE, "channelAccountId": account_id}))
    assert result.message_id is not None and result.thread_id is not None and result.ticket_id is not None
    message = hs.message_to_json(engine.message(result.message_id), channel_id="channel-1")
    assert message["type"] == "MESSAGE"
    assert message["conversationsThreadId"] == result.thread_id
    assert message["senders"] == [
        {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+12065550142"}, "name": "Alice"}
    ]
    assert message["createdAt"] == "2026-01-01T09:01:00.000005Z"  # received, by the engine's clock
    assert message["client"] == {"clientType": "INTEGRATION"}
    assert (message["channelId"], message["createdBy"], message["archived"]) == ("channel-1", "I-channel-1", False)
    assert message["threadingEngine"] == {
        "timestamp": "2026-01-01T09:00:00Z",  # the provider's time
        "integrationThreadId": "t-1",
        "integrationIdempotencyId": "m-1",
    }
    thread = hs.thread_to_json(engine.thread(result.thread_id), account=engine.channel_account(account_id))
    assert thread["status"] == "OPEN"
    assert "closedAt" not in thread  # present only while closed
    assert thread["threadAssociations"] == {"associatedTicketId": result.ticket_id}
    assert (thread["inboxId"], thread["originalChannelId"], thread["originalChannelAccountId"]) == (
        "417",
        "channel-1",
        account_id,
    )
    assert thread["threadingEngine"]["deliveryIdentifiers"] == [{"type": "HS_PHONE_NUMBER", "value": "+12065550142"}]
    assert hs.ticket_to_json(engine.ticket(result.ticket_id)) == {
        "id": result.ticket_id,
        "threadId": result.thread_id,
        "status": "OPEN",
    }


def test_e1_account_events_carry_the_account() -> None:
    engine, clock, account_id = sms_engine()
    clock.now = T0 + timedelta(hours=1)
    created = hs.event_to_json(engine.repository.read_events()[1])
    updated = hs.event_to_json(engine.execute(hs.parse_update_account(account_id, {"authorized": False})).events[0])
    assert created["type"] == "CHANNEL_ACCOUNT_CREATED"
    assert updated["type"] == "CHANNEL_ACCOUNT_UPDATED"
    for event in (created, updated):
        # P1: HubSpot's envelope, with the portal; no outbox sequence and no engine facts in a webhook body
        assert list(event)[:5] == ["type", "portalId", "channelId", "eventId", "eventTimestamp"]
        assert (event["portalId"], event["channelId"], event["channelAccountId"]) == ("0", "channel-1", account_id)
        assert event["channelAccount"]["id"] == account_id
        assert "threadingEngine" not in event["channelAccount"] and "sequence" not in event
    assert updated["channelAccount"]["authorized"] is False
    assert updated["eventTimestamp"] == "2026-01-01T10:00:00Z"


def test_r5_outgoing_event_carries_the_engine_thread_id_under_delivery_identifier() -> None:
    engine, _, account_id = sms_engine()
    body = {k: v for k, v in MESSAGE.items() if k != "integrationThreadId"}
    thread_id = engine.execute(hs.parse_publish_message({**body, "channelAccountId": account_id})).thread_id
    assert thread_id is not None
    events = [hs.event_to_json(r) for r in engine.execute(hs.parse_reply(thread_id, {"text": "Hi"})).events]
    webhook = events[-1]
    assert webhook["type"] == "OUTGOING_CHANNEL_MESSAGE_CREATED"
    assert webhook["channelId"] == "channel-1"
    assert webhook["channelIntegrationThreadId"] == thread_id
    assert webhook["channelIntegrationThreadIds"] == [thread_id]
    assert webhook["message"]["text"] == "Hi"
    assert webhook["message"]["direction"] == "OUTGOING"
    assert webhook["message"]["client"] == {"clientType": "HUBSPOT"}


def test_r5_outgoing_event_carries_the_integration_thread_id_under_integration_thread_id() -> None:
    engine = Engine(clock=TraceClock(T0), ids=SequentialIds())
    capabilities = {"deliveryIdentifierTypes": ["CHANNEL_SPECIFIC_OPAQUE_ID"], "allowOutgoingMessages": True}
    channel_id = engine.execute(hs.parse_create_channel({"name": "Chat", "capabilities": capabilities})).channel_id
    assert channel_id is not None
    identifier = {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "widget"}
    account_id = engine.execute(
        hs.parse_create_account(channel_id, {"name": "W", "inboxId": "1", "deliveryIdentifier": identifier})
    ).channel_account_id
    visitor = {"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "visitor-1"}}
    body = {
        "channelAccountId": account_id,
        "messageDirection": "INCOMING",
        "senders": [visitor],
        "text": "Hi",
        "integrationThreadId": "conv-9",
    }
    thread_id = engine.execute(hs.parse_publish_message(body)).thread_id
    assert thread_id is not None
    webhook = hs.event_to_json(engine.execute(hs.parse_reply(thread_id, {"text": "Hello"})).events[-1])
    assert webhook["channelIntegrationThreadId"] == "conv-9"
    assert webhook["channelIntegrationThreadIds"] == ["conv-9"]
    assert webhook["message"]["conversationsThreadId"] == thread_id


def test_e2_domain_events_name_their_rule_with_camel_case_fields() -> None:
    engine, _, account_id = sms_engine()
    body = {**MESSAGE, "channelAccountId": account_id}
    events = [hs.event_to_json(r) for r in engine.execute(hs.parse_publish_message(body)).events]
    created, ticket, appended = events
    assert created == {
        "type": "THREAD_CREATED",
        "domainEvent": True,
        "eventId": "event-3",
        "sequence": 3,
        "eventTimestamp": "2026-01-01T09:00:00Z",
        "rule": "R4",
        "threadId": "thread-1",
        "channelAccountId": account_id,
        "key": [{"type": "HS_PHONE_NUMBER", "value": "+12065550142"}],
    }  # no integrationThreadId: a DELIVERY_IDENTIFIER thread has none, and an unset field is left out, not null
    assert ticket == {
        "type": "TICKET_CREATED",
        "domainEvent": True,
        "eventId": "event-4",
        "sequence": 4,
        "eventTimestamp": "2026-01-01T09:00:00Z",
        "rule": "R6",
        "threadId": "thread-1",
        "ticketId": "ticket-1",
    }
    assert (appended["messageId"], appended["direction"]) == ("message-1", "INCOMING")


WEBHOOK_TYPES = {"OUTGOING_CHANNEL_MESSAGE_CREATED", "CHANNEL_ACCOUNT_CREATED", "CHANNEL_ACCOUNT_UPDATED"}
DOMAIN_TYPES = set(EVENT_TYPES) - WEBHOOK_TYPES


def test_every_event_has_type_id_and_time_and_domain_events_their_sequence() -> None:
    engine, _, account_id = sms_engine()
    result = engine.execute(hs.parse_publish_message({**MESSAGE, "channelAccountId": account_id}))
    assert result.thread_id is not None
    engine.execute(hs.parse_reply(result.thread_id, {"text": "Hi"}))
    engine.close_thread(result.thread_id)
    engine.update_channel("channel-1", name="Texts")
    records = engine.repository.read_events()
    rendered = [hs.event_to_json(record) for record in records]
    domain = [event for event in rendered if event.get("domainEvent")]
    assert [event["sequence"] for event in domain] == [r.sequence for r in records if r.event.type in DOMAIN_TYPES]
    for event in rendered:
        assert {"type", "eventId", "eventTimestamp"} <= set(event)
        # E1's webhooks are HubSpot's envelopes; every other event is the engine's own, marked as such
        assert ("portalId" in event) is (event["type"] in WEBHOOK_TYPES) is not event.get("domainEvent", False)
    assert {event["type"] for event in rendered} >= {"CHANNEL_CREATED", "CHANNEL_UPDATED", "THREAD_CLOSED"}


def test_rich_text_and_in_reply_to_id_are_kept_and_rendered_back() -> None:
    """HubSpot's ``richText`` (the text as HTML) and ``inReplyToId`` are kept as given; never part of where the
    message lands, and left out when unset."""
    engine, _, account_id = sms_engine()
    base = {key: value for key, value in MESSAGE.items() if key not in ("richText", "integrationIdempotencyId")}
    plain = engine.execute(hs.parse_publish_message({**base, "channelAccountId": account_id}))
    body = {**base, "channelAccountId": account_id, "richText": "<p>Hi <b>there</b></p>"}
    rich = engine.execute(hs.parse_publish_message({**body, "inReplyToId": plain.message_id}))
    assert rich.thread_id == plain.thread_id and rich.message_id is not None and plain.message_id is not None
    rendered = hs.message_to_json(engine.message(rich.message_id), channel_id="c")
    assert (rendered["richText"], rendered["inReplyToId"]) == ("<p>Hi <b>there</b></p>", plain.message_id)
    assert "richText" not in hs.message_to_json(engine.message(plain.message_id), channel_id="c")
    error = rejected(hs.parse_publish_message, {**body, "richText": 7})
    assert (error.field, error.rule) == ("richText", "V5")


def test_an_agents_reply_carries_its_rich_text_to_the_webhook() -> None:
    engine, _, account_id = sms_engine()
    thread_id = engine.execute(hs.parse_publish_message({**MESSAGE, "channelAccountId": account_id})).thread_id
    assert thread_id is not None
    reply = engine.execute(hs.parse_reply(thread_id, {"text": "Hi", "richText": "<p>Hi</p>"}))
    webhook = hs.event_to_json(reply.events[-1])
    assert (webhook["message"]["text"], webhook["message"]["richText"]) == ("Hi", "<p>Hi</p>")
    assert rejected(hs.parse_reply, thread_id, {"text": "Hi", "richText": ["<p>"]}).field == "richText"
