"""The shipped JSON Schemas of HubSpot's documents (``threading_engine.hubspot.schemas``) and their loader."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hubspot_examples import (
    ACCOUNT,
    ACCOUNT_WEBHOOKS,
    CAPABILITIES,
    CHANNEL,
    MESSAGE,
    OUTGOING_WEBHOOK,
    PUBLISH,
    STAGING_TOKEN,
    THREAD,
    VALID,
    Json,
)
from jsonschema import Draft202012Validator, FormatChecker

from threading_engine import NotFoundError
from threading_engine.hubspot import schemas

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = FormatChecker(formats=("uuid",))


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339, as HubSpot's ``format: date-time`` means (jsonschema checks it only with an extra package)."""
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return _RFC3339.match(value) is not None


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.bundled(name), format_checker=FORMATS)


def problems(name: str, document: object) -> list[str]:
    """Every error, with the path it concerns; each leaf of a ``oneOf`` too."""

    def leaves(errors: Any) -> Iterator[str]:
        for error in errors:
            if error.context:
                yield from leaves(error.context)
            yield f"{'/'.join(map(str, error.absolute_path))}: {error.message}"

    return list(leaves(validator(name).iter_errors(document)))


def subschemas(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from subschemas(item)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            yield from subschemas(value)


# -- the schemas themselves ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", schemas.names())
def test_every_shipped_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = schemas.schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT_2020_12
    assert schema["$id"] == f"{schemas.SCHEMA_BASE}{name}.json"
    assert schema["title"] and schema["description"]


@pytest.mark.parametrize("name", schemas.names())
def test_every_reference_names_a_shipped_schema_and_bundles(name: str) -> None:
    shipped = set(schemas.names())
    targets = {node["$ref"] for node in subschemas(schemas.schema(name)) if "$ref" in node}
    assert {target.removesuffix(".json") for target in targets} <= shipped
    bundle = schemas.bundled(name)
    Draft202012Validator.check_schema(bundle)
    embedded = bundle.get("$defs", {})
    assert {target.removesuffix(".json") for target in targets} - {name} <= set(embedded)
    assert all(embedded[other]["$id"] == f"{schemas.SCHEMA_BASE}{other}.json" for other in embedded)


# Every type of domain event adds fields of its own beside the common ones.
OPEN_SCHEMAS = {"DomainEvent"}


@pytest.mark.parametrize("name", schemas.names())
def test_objects_are_closed_and_require_only_what_they_list(name: str) -> None:
    for node in subschemas(schemas.schema(name)):
        if node.get("type") == "object" and "properties" in node:
            open_on_purpose = name in OPEN_SCHEMAS and "$id" in node
            assert (node.get("additionalProperties") is False) is not open_on_purpose, node.get("title", node)
            assert set(node.get("required", [])) <= set(node["properties"])


def test_names_lists_the_documents_of_both_apis_and_the_webhooks() -> None:
    names = schemas.names()
    assert list(names) == sorted(names)
    assert {
        "PublicConversationsMessage",
        "PublicChannelAccount",
        "PublicChannelIntegrationChannel",
        "PublicThread",
        "Error",
        "ChannelIntegrationMessageEgg",
        "CollectionResponsePublicThreadForwardPaging",
        "OutgoingChannelMessageCreatedWebhook",
        "ChannelAccountCreatedWebhook",
        "ChannelAccountUpdatedWebhook",
        "DomainEvent",
    } <= set(names)


def test_schema_returns_a_new_copy_each_time() -> None:
    first = schemas.schema("PublicThread")
    first["required"].clear()
    assert "status" in schemas.schema("PublicThread")["required"]


@pytest.mark.parametrize("name", ["NoSuchSchema", "../schemas/__init__", "PublicThread.json", ""])
def test_an_unknown_name_is_not_found_naming_it(name: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        schemas.schema(name)
    assert caught.value.field == "name"
    assert caught.value.value == name
    assert repr(name) in caught.value.message


# -- HubSpot's documented examples ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "document"), VALID, ids=[f"{i}-{name}" for i, (name, _) in enumerate(VALID)])
def test_examples_from_hubspots_documentation_validate(name: str, document: Json) -> None:
    assert problems(name, document) == []


def test_every_attachment_type_of_the_publish_schema_has_an_example() -> None:
    published = {item["type"] for item in PUBLISH["attachments"]}
    rendered = {item["type"] for item in MESSAGE["attachments"]}
    seven = {"FILE", "LOCATION", "CONTACT", "UNSUPPORTED_CONTENT", "MESSAGE_HEADER", "QUICK_REPLIES"}
    assert published == seven | {"SOCIAL_MEDIA_METADATA"}
    assert rendered == published | {"WHATSAPP_TEMPLATE_METADATA"}


# -- what the schemas refuse ---------------------------------------------------------------------------------


def without(document: Json, key: str) -> Json:
    return {k: v for k, v in document.items() if k != key}


@pytest.mark.parametrize(
    "key",
    ["archived", "attachments", "channelId", "createdBy", "truncationStatus", "client", "conversationsThreadId"],
)
def test_a_message_lacking_a_field_hubspot_requires_is_refused(key: str) -> None:
    assert problems("PublicConversationsMessage", without(MESSAGE, key)) == [f": '{key}' is a required property"]


def test_n1_a_participant_name_is_a_string_or_absent_never_null() -> None:
    nameless = copy.deepcopy(MESSAGE)
    nameless["recipients"][0]["name"] = None
    assert problems("PublicConversationsMessage", nameless) == ["recipients/0/name: None is not of type 'string'"]
    del nameless["recipients"][0]["name"]
    assert problems("PublicConversationsMessage", nameless) == []


def test_an_account_needs_active_and_archived() -> None:
    assert problems("PublicChannelAccount", without(ACCOUNT, "active")) == [": 'active' is a required property"]
    assert problems("PublicChannelAccount", without(ACCOUNT, "archived")) == [": 'archived' is a required property"]


def test_optional_text_is_absent_rather_than_null() -> None:
    assert problems("PublicChannelIntegrationChannel", {**CHANNEL, "channelLogoUrl": None}) == [
        "channelLogoUrl: None is not of type 'string'"
    ]
    assert problems("PublicChannelIntegrationChannel", without(CHANNEL, "channelLogoUrl")) == []


def test_a_key_hubspot_does_not_list_is_refused() -> None:
    found = problems("PublicConversationsMessage", {**MESSAGE, "integrationThreadId": "conv-5521"})
    assert found == [": Additional properties are not allowed ('integrationThreadId' was unexpected)"]


def test_the_engines_own_facts_go_under_threading_engine_on_accounts_messages_and_threads() -> None:
    assert problems("PublicChannelAccount", {**ACCOUNT, "threadingEngine": {"portalId": "42"}}) == []
    extended = {**MESSAGE, "threadingEngine": {"timestamp": "2023-11-07T05:31:55Z", "integrationThreadId": "c-1"}}
    assert problems("PublicConversationsMessage", extended) == []
    assert problems("PublicThread", {**THREAD, "threadingEngine": {"deliveryIdentifiers": []}}) == []
    assert problems("PublicChannelAccount", {**ACCOUNT, "threadingEngine": {"portal": "42"}}) == [
        "threadingEngine: Additional properties are not allowed ('portal' was unexpected)"
    ]
    # A channel has engine facts only once archived (A1): then both, and nothing else.
    archived = {"archived": True, "archivedAt": "2026-03-02T09:00:00Z"}
    assert problems("PublicChannelIntegrationChannel", {**CHANNEL, "threadingEngine": archived}) == []
    assert problems("PublicChannelIntegrationChannel", {**CHANNEL, "threadingEngine": {}}) == [
        "threadingEngine: 'archived' is a required property",
        "threadingEngine: 'archivedAt' is a required property",
    ]


def test_p1_a_webhook_carries_a_portal_and_no_engine_facts() -> None:
    assert problems("OutgoingChannelMessageCreatedWebhook", without(OUTGOING_WEBHOOK, "portalId")) == [
        ": 'portalId' is a required property"
    ]
    assert problems("OutgoingChannelMessageCreatedWebhook", {**OUTGOING_WEBHOOK, "portalId": "portal-1"}) != []
    marked = {**OUTGOING_WEBHOOK, "message": {**OUTGOING_WEBHOOK["message"], "threadingEngine": {}}}
    assert [problem.split(": ")[0] for problem in problems("OutgoingChannelMessageCreatedWebhook", marked)] == [
        "message"
    ]
    account_event = ACCOUNT_WEBHOOKS[0]
    marked_account = {**account_event, "channelAccount": {**ACCOUNT, "threadingEngine": {"portalId": "1"}}}
    assert problems("ChannelAccountCreatedWebhook", marked_account) != []
    assert problems("ChannelAccountCreatedWebhook", {**account_event, "sequence": 3}) == [
        ": Additional properties are not allowed ('sequence' was unexpected)"
    ]


def test_r5_the_outgoing_webhook_names_at_least_one_thread_id() -> None:
    empty = {**OUTGOING_WEBHOOK, "channelIntegrationThreadIds": []}
    assert problems("OutgoingChannelMessageCreatedWebhook", empty) == [
        "channelIntegrationThreadIds: [] should be non-empty"
    ]
    singular = {**OUTGOING_WEBHOOK, "channelIntegrationThreadId": "conv-5521"}
    assert problems("OutgoingChannelMessageCreatedWebhook", singular) == []


def test_domain_events_are_marked_and_never_take_a_webhooks_type() -> None:
    event = {
        "type": "THREAD_CREATED",
        "domainEvent": True,
        "eventId": "event-3",
        "eventTimestamp": "2026-03-02T09:00:02Z",
        "sequence": 3,
        "rule": "R4",
        "threadId": "thread-1",
    }
    assert problems("DomainEvent", event) == []
    assert problems("DomainEvent", without(event, "domainEvent")) == [": 'domainEvent' is a required property"]
    assert problems("DomainEvent", {**event, "type": "CHANNEL_ACCOUNT_UPDATED"}) != []


def test_v1_delivery_identifier_types_are_names_not_identifier_objects() -> None:
    objects = {**CAPABILITIES, "deliveryIdentifierTypes": [{"type": "HS_PHONE_NUMBER", "value": "+12065550100"}]}
    assert (
        "deliveryIdentifierTypes/0: {'type': 'HS_PHONE_NUMBER', 'value': '+12065550100'} is not of type 'string'"
        in (problems("Capabilities", objects))
    )
    assert problems("Capabilities", {**CAPABILITIES, "threadingModel": "BY_THREAD"}) != []
    assert problems("Capabilities", {**CAPABILITIES, "maxFileAttachmentCount": -1}) != []
    assert problems("Capabilities", {**CAPABILITIES, "allowedFileAttachmentMimeTypes": ["png"]}) != []
    assert problems("Capabilities", {**CAPABILITIES, "maxPersonNameLength": 50}) != []


def test_v8_an_attachment_is_one_of_the_published_types_with_its_fields() -> None:
    for attachment in ({"type": "STICKER"}, {"type": "FILE"}, {"type": "LOCATION", "latitude": 1.0}):
        assert problems("ChannelIntegrationMessageEgg", {**PUBLISH, "attachments": [attachment]}) != []
    header = {"type": "MESSAGE_HEADER", "fileId": "183466113498"}
    assert "attachments/0/fileId: '183466113498' is not of type 'integer'" in problems(
        "ChannelIntegrationMessageEgg", {**PUBLISH, "attachments": [header]}
    )
    # HubSpot renders a file's usage type always, and quick replies' two flags.
    assert problems("PublicFile", {"type": "FILE", "fileId": "1"}) == [": 'fileUsageType' is a required property"]


def test_s1_an_integration_sets_only_sent_failed_or_read() -> None:
    assert problems("PublicChannelIntegrationMessageUpdateRequest", {"statusType": "RECEIVED"}) != []
    assert problems("PublicChannelIntegrationMessageUpdateRequest", {"errorMessage": "x"}) == [
        ": 'statusType' is a required property"
    ]


def test_formats_dates_ids_and_integer_ranges() -> None:
    assert problems("PublicThread", {**THREAD, "createdAt": "2023-11-07 05:31:56"}) != []
    assert problems("PublicThread", {**THREAD, "createdAt": "2023-11-07T05:31:56"}) != []
    # The staging token's ids are int64 here (T1: the engine's HubSpot-shaped ids), int32 in HubSpot's file.
    assert problems("PublicChannelAccountStagingToken", {**STAGING_TOKEN, "genericChannelId": 2**63}) != []
    error = {"category": "VALIDATION_ERROR", "message": "bad", "correlationId": "not-a-uuid"}
    assert problems("Error", error) != []
