"""N1 for published messages: a message the integration publishes may name its sender's HubSpot actor
(``senderActorId``), kept as given and rendered as the senders' ``actorId``; and an agent's conversation start
keeps its ``richText`` as a reply does."""

from __future__ import annotations

import pytest
from helpers import A, B, delivery_world, snapshot

from threading_engine import Direction, Outcome, ValidationError
from threading_engine.events import OutgoingMessageCreated
from threading_engine.hubspot import message_to_json, parse_publish_message, parse_start_conversation
from threading_engine.hubspot.schemas import bundled

jsonschema = pytest.importorskip("jsonschema")


def _body(account_id: str, *senders: dict[str, object]) -> dict[str, object]:
    return {
        "channelAccountId": account_id,
        "messageDirection": "OUTGOING",
        "senders": list(senders),
        "recipients": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550100001"}}],
        "text": "sent from the phone app",
    }


def _sender(actor: str | None = None, phone: str = "+15550109999") -> dict[str, object]:
    sender: dict[str, object] = {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": phone}}
    if actor is not None:
        sender["senderActorId"] = actor
    return sender


def test_n1_a_published_message_keeps_its_sender_actor_and_renders_it_as_the_senders_actor_id() -> None:
    world = delivery_world()
    command = parse_publish_message(_body(world.account_id, _sender("A-42")))
    assert command.actor_id == "A-42"
    result = world.engine.execute(command)
    message = world.message(result)
    assert message.actor_id == "A-42"
    rendered = message_to_json(message, channel_id=world.channel_id)
    assert [sender["actorId"] for sender in rendered["senders"]] == ["A-42"]
    assert rendered["createdBy"] == f"I-{world.channel_id}"  # the integration still published it
    jsonschema.Draft202012Validator(bundled("PublicConversationsMessage")).validate(rendered)
    plain = world.message(world.engine.execute(parse_publish_message(_body(world.account_id, _sender()))))
    assert plain.actor_id is None
    assert "actorId" not in message_to_json(plain, channel_id=world.channel_id)["senders"][0]


def test_n1_the_engine_api_takes_the_sender_actor() -> None:
    """Every store keeps it: the conformance machine publishes with and without one (``testing.conformance``)."""
    world = delivery_world()
    result = world.engine.publish_message(
        world.account_id, direction=Direction.INCOMING, senders=[A], text="hi", actor_id="A-7"
    )
    assert world.message(result).actor_id == "A-7"
    assert message_to_json(world.message(result), channel_id=world.channel_id)["senders"][0]["actorId"] == "A-7"


@pytest.mark.parametrize(
    ("senders", "field"),
    [
        ((_sender("V-42"),), "senderActorId"),
        ((_sender("A-"),), "senderActorId"),
        ((_sender("A-1"), _sender("A-2", "+15550100003")), "senders[1].senderActorId"),
    ],
)
def test_n1_a_sender_actor_that_is_not_one_agents_id_is_refused(
    senders: tuple[dict[str, object], ...], field: str
) -> None:
    world = delivery_world()
    before = snapshot(world.engine)
    with pytest.raises(ValidationError) as refused:
        world.engine.execute(parse_publish_message(_body(world.account_id, *senders)))
    assert (refused.value.field, refused.value.rule) == (field, "N1")
    assert snapshot(world.engine) == before


def test_n1_a_recipients_sender_actor_is_not_the_senders_and_a_retry_may_name_another() -> None:
    world = delivery_world()
    body = _body(world.account_id, _sender())
    body["recipients"] = [{**_sender(phone="+15550100001"), "senderActorId": "A-5"}]
    assert parse_publish_message(body).actor_id is None
    first = world.engine.execute(
        parse_publish_message({**_body(world.account_id, _sender("A-1")), "integrationIdempotencyId": "x"})
    )
    again = world.engine.execute(
        parse_publish_message({**_body(world.account_id, _sender("A-2")), "integrationIdempotencyId": "x"})
    )
    assert (again.outcome, again.message_id) == (Outcome.DUPLICATE, first.message_id)
    assert world.message(first).actor_id == "A-1"


def test_r3_a_conversation_start_keeps_its_rich_text_as_a_reply_does() -> None:
    world = delivery_world()
    body = {"recipients": [_sender(phone="+15550100002")], "text": "Hello", "richText": "<p>Hello</p>"}
    command = parse_start_conversation(world.account_id, body)
    result = world.engine.execute(command)
    message = world.message(result)
    assert message.rich_text == "<p>Hello</p>"
    rendered = message_to_json(message, channel_id=world.channel_id)
    assert rendered["richText"] == "<p>Hello</p>"
    webhook = result.events[-1].event
    assert isinstance(webhook, OutgoingMessageCreated) and webhook.message.rich_text == "<p>Hello</p>"
    direct = world.engine.start_conversation(world.account_id, recipients=[B], text="Hi", rich_text="<b>Hi</b>")
    assert world.message(direct).rich_text == "<b>Hi</b>"
    with pytest.raises(ValidationError) as refused:
        world.engine.start_conversation(world.account_id, recipients=[B], text="Hi", rich_text=7)  # type: ignore[arg-type]
    assert refused.value.field == "richText"
