"""V7: a channel's capabilities can change, except where that would strand data its accounts and threads hold;
existing threads are never re-keyed."""

from __future__ import annotations

import attrs
import pytest
from helpers import A, delivery_world, email, integration_world, snapshot, thread_id_of

from threading_engine import (
    Capabilities,
    Engine,
    IdentifierType,
    Outcome,
    SequentialIds,
    ThreadingModel,
    ValidationError,
)

PHONE, EMAIL = IdentifierType.HS_PHONE_NUMBER, IdentifierType.HS_EMAIL_ADDRESS


def test_v7_capabilities_change_with_a_channel_updated_event() -> None:
    world = delivery_world()
    channel = world.engine.repository.get_channel(world.channel_id)
    assert channel is not None
    wider = attrs.evolve(channel.capabilities, allow_inline_images=True, max_file_attachment_count=3)
    result = world.engine.update_channel(world.channel_id, capabilities=wider)
    assert result.outcome is Outcome.CHANGED
    assert [record.event.type for record in result.events] == ["CHANNEL_UPDATED"]
    stored = world.engine.repository.get_channel(world.channel_id)
    assert stored is not None and stored.capabilities == wider
    assert world.engine.update_channel(world.channel_id, capabilities=wider).outcome is Outcome.UNCHANGED


def test_v7_the_threading_model_cannot_change_while_the_channel_has_accounts() -> None:
    world = integration_world()
    channel = world.engine.repository.get_channel(world.channel_id)
    assert channel is not None
    before = snapshot(world.engine)
    by_identifier = attrs.evolve(channel.capabilities, threading_model=ThreadingModel.DELIVERY_IDENTIFIER)
    with pytest.raises(ValidationError) as raised:
        world.engine.update_channel(world.channel_id, capabilities=by_identifier)
    error = raised.value
    assert (error.field, error.value, error.rule) == ("capabilities.threadingModel", "DELIVERY_IDENTIFIER", "V7")
    assert "while the channel has accounts" in str(error)
    assert snapshot(world.engine) == before


def test_v7_a_channel_without_accounts_may_change_anything() -> None:
    engine = Engine(ids=SequentialIds())
    created = engine.create_channel("SMS", Capabilities((PHONE,), ThreadingModel.INTEGRATION_THREAD_ID))
    assert created.channel_id is not None
    changed = Capabilities((EMAIL,), ThreadingModel.DELIVERY_IDENTIFIER)
    assert engine.update_channel(created.channel_id, capabilities=changed).outcome is Outcome.CHANGED


def test_v7_an_identifier_type_an_account_uses_cannot_be_dropped() -> None:
    world = delivery_world()  # its account's identifier is a phone number
    channel = world.engine.repository.get_channel(world.channel_id)
    assert channel is not None
    with pytest.raises(ValidationError) as raised:
        world.engine.update_channel(
            world.channel_id, capabilities=attrs.evolve(channel.capabilities, delivery_identifier_types=(EMAIL,))
        )
    error = raised.value
    assert (error.field, error.value, error.rule) == (
        "capabilities.deliveryIdentifierTypes",
        ["HS_EMAIL_ADDRESS"],
        "V7",
    )
    assert "HS_PHONE_NUMBER" in str(error)


def test_v7_a_type_no_account_uses_can_be_dropped_and_threads_keep_their_key() -> None:
    """Dropping e-mail leaves a thread keyed by an e-mail address as it was: it is never re-keyed; new
    messages naming that type are refused by V5 as for any type the channel does not allow."""
    world = delivery_world()
    thread_id = thread_id_of(world.incoming(email("ana@example.com")))
    key = world.thread(thread_id).key
    channel = world.engine.repository.get_channel(world.channel_id)
    assert channel is not None
    phones_only = attrs.evolve(channel.capabilities, delivery_identifier_types=(PHONE,))
    assert world.engine.update_channel(world.channel_id, capabilities=phones_only).outcome is Outcome.CHANGED
    assert world.thread(thread_id).key == key
    with pytest.raises(ValidationError) as raised:
        world.incoming(email("ana@example.com"))
    assert raised.value.rule == "V5"
    assert world.incoming(A).outcome is Outcome.CREATED
