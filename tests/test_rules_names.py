"""N1: participants keep the names they were last given on the thread, so an agent's reply names its
recipients as the visitor was last seen; a participant without a name has no ``name`` key, never ``null``."""

from __future__ import annotations

from helpers import A, B, delivery_world, thread_id_of

from threading_engine import Participant
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
