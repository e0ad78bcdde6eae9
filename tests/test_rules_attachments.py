"""V8: attachments in HubSpot's seven shapes are checked, kept as given and rendered back; an agent's are held
to the channel's capabilities; none ever changes where a message lands."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import OWN, A, new_engine, thread_id_of

from threading_engine import (
    Capabilities,
    Direction,
    Engine,
    IdempotencyConflictError,
    IdentifierType,
    NotAllowedError,
    Outcome,
    ThreadingModel,
    ValidationError,
)
from threading_engine.attachments import AttachmentType, check_attachments, parse_attachment
from threading_engine.hubspot import message_to_json, parse_publish_message, parse_reply

EXAMPLES: dict[str, dict[str, Any]] = {
    "FILE": {"type": "FILE", "fileId": "176453", "fileUsageType": "IMAGE"},
    "LOCATION": {"type": "LOCATION", "latitude": 47.61, "longitude": -122.33, "name": "Pike Place"},
    "CONTACT": {
        "type": "CONTACT",
        "contactProfile": {
            "addresses": [{"city": "Seattle", "type": "WORK"}],
            "emails": [{"email": "ana@example.com"}],
            "phones": [{"phone": "+12065550142", "type": "CELL"}],
            "urls": [],
            "name": {"firstName": "Ana"},
        },
    },
    "UNSUPPORTED_CONTENT": {"type": "UNSUPPORTED_CONTENT"},
    "MESSAGE_HEADER": {"type": "MESSAGE_HEADER", "text": "Order 1234", "fileId": 42},
    "QUICK_REPLIES": {"type": "QUICK_REPLIES", "quickReplies": [{"value": "yes", "valueType": "TEXT", "label": "Yes"}]},
    "SOCIAL_MEDIA_METADATA": {"type": "SOCIAL_MEDIA_METADATA", "socialMetadata": {"mediaType": "PHOTO", "id": "p1"}},
}


def test_v8_every_type_of_hubspots_publish_schema_is_accepted() -> None:
    assert set(EXAMPLES) == {t.value for t in AttachmentType}
    for name, body in EXAMPLES.items():
        assert parse_attachment(body, "attachments[0]").type.value == name


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "STICKER"}, "attachments[0].type"),
        ({"fileId": "1"}, "attachments[0].type"),
        ({"type": "FILE"}, "attachments[0].fileId"),
        ({"type": "FILE", "fileId": 176453}, "attachments[0].fileId"),
        ({"type": "FILE", "fileId": "1", "mimeType": "image/png"}, "attachments[0].mimeType"),
        ({"type": "LOCATION", "latitude": 91, "longitude": 0}, "attachments[0].latitude"),
        ({"type": "LOCATION", "latitude": True, "longitude": 0}, "attachments[0].latitude"),
        ({"type": "MESSAGE_HEADER", "fileId": 2**64}, "attachments[0].fileId"),
        ({"type": "QUICK_REPLIES", "quickReplies": [{"valueType": "TEXT"}]}, "attachments[0].quickReplies[0].value"),
        ({"type": "CONTACT", "contactProfile": {"emails": []}}, "attachments[0].contactProfile.addresses"),
        ({"type": "SOCIAL_MEDIA_METADATA", "socialMetadata": {"mediaType": "TAPE"}}, None),
        ({"type": "FILE", "fileId": "\ud800"}, "attachments[0].fileId"),
        ("FILE", "attachments[0]"),
    ],
)
def test_v8_a_malformed_attachment_is_a_validation_error(body: object, field: str | None) -> None:
    with pytest.raises(ValidationError) as raised:
        check_attachments([body])
    assert raised.value.rule == "V8"
    if field is not None:
        assert raised.value.field == field


def _world(*, allow_outgoing_messages: bool = True) -> tuple[Engine, str, str]:
    """A channel whose agents may send up to two files and nothing else."""
    engine = new_engine()
    capabilities = Capabilities(
        (IdentifierType.HS_PHONE_NUMBER,),
        ThreadingModel.DELIVERY_IDENTIFIER,
        allow_outgoing_messages=allow_outgoing_messages,
        outgoing_attachment_types=("FILE",),
        max_file_attachment_count=2,
    )
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    account_id = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", delivery_identifier=OWN
    ).channel_account_id
    assert account_id is not None
    return engine, channel_id, account_id


def _incoming(engine: Engine, account_id: str, attachments: list[dict[str, Any]], **extra: Any) -> Any:
    body = {
        "channelAccountId": account_id,
        "messageDirection": "INCOMING",
        "senders": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": A.value}}],
        "text": "see attached",
        "attachments": attachments,
    }
    return engine.execute(parse_publish_message(body | extra))


def test_v8_attachments_are_kept_as_given_and_rendered_in_hubspots_shapes() -> None:
    engine, channel_id, account_id = _world()
    result = _incoming(engine, account_id, list(EXAMPLES.values()))
    assert result.message_id is not None
    rendered = message_to_json(engine.message(result.message_id), channel_id=channel_id)["attachments"]
    assert [a["type"] for a in rendered] == list(EXAMPLES)
    assert rendered[0] == EXAMPLES["FILE"]
    assert rendered[5] == EXAMPLES["QUICK_REPLIES"] | {"allowMultiSelect": False, "allowUserInput": False}


def test_v8_a_published_message_is_checked_for_shape_only_and_lands_where_it_would_without() -> None:
    engine, _, account_id = _world(allow_outgoing_messages=False)
    plain = engine.publish_message(account_id, direction=Direction.INCOMING, senders=[A], text="hi")
    with_files = _incoming(engine, account_id, [EXAMPLES["FILE"]] * 5)
    assert (with_files.outcome, with_files.thread_id) == (Outcome.APPENDED, plain.thread_id)


def test_v8_d2_a_retry_with_other_attachments_is_a_conflict() -> None:
    engine, _, account_id = _world()
    first = _incoming(engine, account_id, [EXAMPLES["FILE"]], integrationIdempotencyId="m-1")
    again = _incoming(engine, account_id, [EXAMPLES["FILE"]], integrationIdempotencyId="m-1")
    assert (again.outcome, again.message_id) == (Outcome.DUPLICATE, first.message_id)
    with pytest.raises(IdempotencyConflictError):
        _incoming(engine, account_id, [EXAMPLES["LOCATION"]], integrationIdempotencyId="m-1")


def test_v8_an_agent_sends_only_the_types_the_channel_allows() -> None:
    engine, channel_id, account_id = _world()  # outgoingAttachmentTypes ["FILE"], at most 2 files
    thread_id = thread_id_of(engine.publish_message(account_id, direction=Direction.INCOMING, senders=[A], text="hi"))
    reply = engine.execute(parse_reply(thread_id, {"text": "here", "attachments": [EXAMPLES["FILE"]]}))
    assert reply.message_id is not None
    webhook_message = reply.events[-1].event.message  # type: ignore[attr-defined]
    assert [a.type for a in webhook_message.attachments] == [AttachmentType.FILE]
    with pytest.raises(NotAllowedError) as raised:
        engine.execute(parse_reply(thread_id, {"text": "here", "attachments": [EXAMPLES["LOCATION"]]}))
    assert (raised.value.field, raised.value.rule) == ("attachments[0].type", "V8")
    with pytest.raises(NotAllowedError) as too_many:
        engine.execute(parse_reply(thread_id, {"text": "here", "attachments": [EXAMPLES["FILE"]] * 3}))
    assert (too_many.value.field, too_many.value.value, too_many.value.rule) == ("attachments", 3, "V8")
    rendered = message_to_json(engine.message(reply.message_id), channel_id=channel_id)["attachments"]
    assert rendered == [EXAMPLES["FILE"]]
