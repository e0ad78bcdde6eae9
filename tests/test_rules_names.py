"""N1: participants keep the names they were last given on the thread, so an agent's reply names its
recipients as the visitor was last seen; a participant without a name has no ``name`` key, never ``null``."""

from __future__ import annotations

import pytest
from helpers import A, B, delivery_world, thread_id_of

from threading_engine import Participant, ValidationError
from threading_engine.hubspot import message_to_json


def _reply_recipients(world: object, thread_id: str) -> list[tuple[str, str | None]]:
    engine = world.engine  # type: ignore[attr-defined]
    reply = engine.reply(thread_id, "on it")
    message = engine.message(reply.message_id)
    return [(p.delivery_identifier.value, p.name) for p in message.recipients]


def test_n1_a_reply_names_its_recipients_as_the_thread_last_named_them() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(Participant(A, "Ana")))
    world.incoming(Participant(A, "Ana María"))
    assert _reply_recipients(world, thread_id) == [(A.value, "Ana María")]


def test_n1_a_later_message_without_a_name_keeps_the_earlier_one() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(Participant(A, "Ana")))
    world.incoming(A)
    assert _reply_recipients(world, thread_id) == [(A.value, "Ana")]


def test_n1_names_come_from_senders_and_recipients_alike_and_unknown_ones_stay_unnamed() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(Participant(A, "Ana"), recipients=[world.identifier, B]))
    world.outgoing(Participant(A), Participant(B, "Ben"))
    assert sorted(_reply_recipients(world, thread_id)) == [(A.value, "Ana"), (B.value, "Ben")]
    other = thread_id_of(world.incoming(B, recipients=[world.identifier]))
    assert _reply_recipients(world, other) == [(B.value, None)]
    reply = world.engine.message(world.engine.reply(other, "hello").message_id or "")
    rendered = message_to_json(reply, channel_id=world.channel_id)["recipients"]
    assert rendered == [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": B.value}}]


def test_n1_an_agent_message_names_its_agent() -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(Participant(A, "Ana")))
    named = world.engine.reply(thread_id, "on it", actor_id="A-4821")
    rendered = message_to_json(world.engine.message(named.message_id or ""), channel_id=world.channel_id)
    assert rendered["createdBy"] == "A-4821"
    assert [sender.get("actorId") for sender in rendered["senders"]] == ["A-4821"]
    unnamed = world.engine.reply(thread_id, "still on it")
    rendered = message_to_json(world.engine.message(unnamed.message_id or ""), channel_id=world.channel_id)
    assert rendered["createdBy"] == "A-0" and "actorId" not in rendered["senders"][0]


@pytest.mark.parametrize("actor_id", ["V-1", "A-", "A-x1", "a-1", "A-" + "1" * 21, 17])
def test_n1_only_an_agents_actor_id_sends_an_agents_message(actor_id: object) -> None:
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(A))
    with pytest.raises(ValidationError) as raised:
        world.engine.reply(thread_id, "on it", actor_id=actor_id)  # type: ignore[arg-type]
    assert (raised.value.field, raised.value.rule) == ("senderActorId", "N1")
