"""P1: every channel account belongs to one portal (the HubSpot account that connected it); it is kept on every
store, and the webhooks and rendered documents about the account carry it."""

from __future__ import annotations

import pytest
from helpers import OWN, A, new_engine, phone, thread_id_of

from threading_engine import Capabilities, Direction, Engine, IdentifierType, ThreadingModel, ValidationError
from threading_engine.hubspot import account_to_json, event_to_json


def _portal_world(portal_id: str) -> tuple[Engine, str]:
    engine = new_engine()
    capabilities = Capabilities(
        (IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER, allow_outgoing_messages=True
    )
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    created = engine.create_channel_account(
        channel_id, name="Desk", inbox_id="1", delivery_identifier=OWN, portal_id=portal_id
    )
    assert created.channel_account_id is not None
    assert event_to_json(created.events[0])["portalId"] == portal_id
    return engine, created.channel_account_id


def test_p1_an_account_keeps_its_portal_and_its_webhooks_carry_it() -> None:
    engine, account_id = _portal_world("4210")
    account = engine.repository.get_account(account_id)
    assert account is not None and account.portal_id == "4210"
    assert account_to_json(account)["threadingEngine"]["portalId"] == "4210"
    published = engine.publish_message(account_id, direction=Direction.INCOMING, senders=[A], text="hi")
    reply = engine.reply(thread_id_of(published), "hello")
    webhook = event_to_json(reply.events[-1])
    assert (webhook["type"], webhook["portalId"]) == ("OUTGOING_CHANNEL_MESSAGE_CREATED", "4210")
    assert event_to_json(reply.events[-1], portal_id="77")["portalId"] == "77"  # a caller may still say


@pytest.mark.parametrize("portal_id", ["", "portal-1", "12a", "1" * 21, " 42", 42])
def test_p1_a_portal_id_is_one_to_twenty_digits(portal_id: object) -> None:
    engine = new_engine()
    channel_id = engine.create_channel("SMS", Capabilities((IdentifierType.HS_PHONE_NUMBER,))).channel_id
    assert channel_id is not None
    with pytest.raises(ValidationError) as raised:
        engine.create_channel_account(
            channel_id,
            name="Desk",
            inbox_id="1",
            delivery_identifier=phone("+15550100"),
            portal_id=portal_id,  # type: ignore[arg-type]
        )
    assert (raised.value.field, raised.value.rule) == ("portalId", "P1")
