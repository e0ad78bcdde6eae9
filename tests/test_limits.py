"""Every list and string field has a limit (README "Limits"), and a value past it is a VALIDATION_ERROR naming
the field, the value (shortened) and the rule; commands of the caller's own classes are validated as fully as
the classes they extend."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from helpers import A, B, delivery_world

from threading_engine import (
    Capabilities,
    CloseThread,
    CreateChannel,
    Direction,
    Engine,
    IdentifierType,
    NotFoundError,
    Participant,
    PublishMessage,
    ThreadCommand,
    ThreadingModel,
    ValidationError,
)
from threading_engine.storable import MAX_CAPABILITY_ENTRY_LENGTH, MAX_LIST_LENGTH

SMS = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            {"delivery_identifier_types": ("HS_PHONE_NUMBER",) * (MAX_LIST_LENGTH + 1)},
            "capabilities.deliveryIdentifierTypes",
            "holds more than 1,000 entries",
        ),
        ({"rich_text": ("BOLD",) * (MAX_LIST_LENGTH + 1)}, "capabilities.richText", "holds more than 1,000 entries"),
        (
            {"allowed_file_attachment_mime_types": ("x" * (MAX_CAPABILITY_ENTRY_LENGTH + 1),)},
            "capabilities.allowedFileAttachmentMimeTypes[0]",
            "is longer than 256 characters",
        ),
        ({"outgoing_attachment_types": ("FILE\ud800",)}, "capabilities.outgoingAttachmentTypes[0]", "lone surrogate"),
    ],
)
def test_v1_capability_lists_and_entries_have_limits(change: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Engine().create_channel("SMS", attrs.evolve(SMS, **change))
    assert (raised.value.field, raised.value.rule) == (field, "V1") and problem in raised.value.message
    assert len(raised.value.message) < 700


def test_v5_a_message_has_at_most_1000_senders_and_1000_recipients() -> None:
    world = delivery_world()
    crowd = [Participant(A)] * (MAX_LIST_LENGTH + 1)
    for field, change in (("senders", {"senders": crowd}), ("recipients", {"recipients": crowd, "senders": [A]})):
        with pytest.raises(ValidationError, match="holds more than 1,000 participants") as raised:
            world.engine.publish_message(world.account_id, direction=Direction.INCOMING, text="hi", **change)
        assert (raised.value.field, raised.value.rule) == (field, "V5")
    exactly = [Participant(A)] * MAX_LIST_LENGTH
    assert world.engine.publish_message(world.account_id, direction=Direction.INCOMING, senders=exactly, text="hi")


class LoudPublish(PublishMessage):
    """A command class of a caller's own."""


class Nudge(CloseThread):
    pass


def test_a_command_of_a_callers_own_class_is_validated_as_its_parent() -> None:
    world = delivery_world()
    with pytest.raises(ValidationError, match="lone surrogate") as raised:
        world.engine.execute(LoudPublish(world.account_id, Direction.INCOMING, (Participant(B),), "\ud800"))
    assert raised.value.field == "text"
    accepted = world.engine.execute(LoudPublish(world.account_id, Direction.INCOMING, (Participant(B),), "hi"))
    assert world.engine.execute(Nudge(accepted.thread_id or "")).outcome.value == "CHANGED"
    with pytest.raises(NotFoundError):
        world.engine.execute(Nudge("thread-\x00"))


def test_a_thread_command_without_an_action_is_not_a_command() -> None:
    with pytest.raises(ValidationError, match="is not a command the engine knows") as raised:
        delivery_world().engine.execute(ThreadCommand("thread-1"))
    assert raised.value.field == "command"


@pytest.mark.parametrize("attempts", [0, -1, 1.5, "10", None])
def test_an_engine_needs_at_least_one_attempt(attempts: object) -> None:
    with pytest.raises(ValidationError, match="is not a whole number of at least 1") as raised:
        Engine(max_attempts=attempts)  # type: ignore[arg-type]
    assert raised.value.field == "max_attempts"


def test_a_create_channel_name_past_its_limit() -> None:
    with pytest.raises(ValidationError, match=r"is longer than 1,000 characters \(V3\)$"):
        Engine().execute(CreateChannel("x" * 1001, SMS))
