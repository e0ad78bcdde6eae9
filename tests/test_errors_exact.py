"""Every rejection, exactly: its error type, code, field, value, rule and message (SPEC section 7).

The replay output carries each error's code, message and field (SPEC section 8), so their text is part of what
a trace pins; the broader tests in test_invalid_input.py check the type and field of many random bad inputs,
and these examples pin one case of every kind of rejection down to the character. The store is unchanged
after each (V, E3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from helpers import OWN, A, Clock, World, delivery_world, email, integration_world, snapshot, thread_id_of

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdempotencyConflictError,
    IdentifierType,
    KeyConflictError,
    NotAllowedError,
    NotFoundError,
    Participant,
    PublishMessage,
    SequentialIds,
    StartConversation,
    ThreadingError,
    ThreadingModel,
    ThreadNotOpenError,
    ValidationError,
)
from threading_engine.identifiers import parse_identifier_type

KNOWN_TYPES = "HS_EMAIL_ADDRESS, HS_PHONE_NUMBER, HS_SHORT_CODE, CHANNEL_SPECIFIC_OPAQUE_ID"


@dataclass(frozen=True)
class Expected:
    """The error a command must raise, in every detail."""

    error: type[ThreadingError]
    field: str | None
    value: object
    rule: str | None
    message: str


def assert_exact(world: World, command: Callable[[], object], expected: Expected) -> None:
    before = snapshot(world.engine)
    with pytest.raises(ThreadingError) as caught:
        command()
    error = caught.value
    assert type(error) is expected.error
    assert error.code == expected.error.code
    assert (error.field, error.value, error.rule) == (expected.field, expected.value, expected.rule)
    assert error.message == expected.message
    assert str(error) == expected.message
    assert snapshot(world.engine) == before


def phone_only_world(**capabilities: Any) -> World:
    """A DELIVERY_IDENTIFIER channel that accepts phone numbers only, and one account on it."""
    clock = Clock()
    engine = Engine(clock=clock, ids=SequentialIds())
    options: dict[str, Any] = {
        "delivery_identifier_types": (IdentifierType.HS_PHONE_NUMBER,),
        "threading_model": ThreadingModel.DELIVERY_IDENTIFIER,
        "allow_outgoing_messages": True,
        "allow_conversation_start": True,
    }
    options.update(capabilities)
    channel = engine.create_channel("Phones", Capabilities(**options))
    assert channel.channel_id is not None
    account = engine.create_channel_account(
        channel.channel_id, name="Support", inbox_id="inbox-1", delivery_identifier=OWN
    )
    assert account.channel_account_id is not None
    return World(engine, clock, channel.channel_id, account.channel_account_id, OWN)


def raw(identifier_type: IdentifierType, value: object) -> DeliveryIdentifier:
    """An identifier built without :meth:`DeliveryIdentifier.of`, so the engine must check it (V4)."""
    return DeliveryIdentifier(identifier_type, cast(str, value))


def publish(world: World, **overrides: Any) -> Callable[[], object]:
    arguments: dict[str, Any] = {"direction": Direction.INCOMING, "senders": [A], "text": "hello"}
    arguments.update(overrides)
    return lambda: world.engine.publish_message(world.account_id, **arguments)


def capabilities(**changes: Any) -> Capabilities:
    options: dict[str, Any] = {"delivery_identifier_types": (IdentifierType.HS_PHONE_NUMBER,)}
    options.update(changes)
    return Capabilities(**options)


def create_channel(world: World, name: str = "Chat", **options: Any) -> Callable[[], object]:
    caps = options.pop("capabilities", capabilities())
    return lambda: world.engine.create_channel(name, caps, **options)


# -- V1: capabilities ------------------------------------------------------------------------------------


def test_v1_capabilities_of_the_wrong_type() -> None:
    world = delivery_world()
    assert_exact(
        world,
        create_channel(world, capabilities=cast(Capabilities, "phones")),
        Expected(
            ValidationError, "capabilities", "phones", "V1", "capabilities 'phones' is not a Capabilities value (V1)"
        ),
    )


def test_v1_empty_delivery_identifier_types() -> None:
    world = delivery_world()
    field = "capabilities.deliveryIdentifierTypes"
    assert_exact(
        world,
        create_channel(world, capabilities=capabilities(delivery_identifier_types=())),
        Expected(
            ValidationError,
            field,
            (),
            "V1",
            f"{field} () must be a non-empty list of delivery identifier type names (V1)",
        ),
    )


def test_v1_identifier_in_place_of_a_type_name_says_it_is_a_common_mistake() -> None:
    world = delivery_world()
    field = "capabilities.deliveryIdentifierTypes"
    message = (
        f"{field} {A!r} holds a {{type, value}} identifier: a common mistake. "
        'It takes type names, such as ["HS_PHONE_NUMBER"] (V1)'
    )
    assert_exact(
        world,
        create_channel(world, capabilities=capabilities(delivery_identifier_types=(A,))),
        Expected(ValidationError, field, A, "V1", message),
    )


def test_v1_unknown_type_name_lists_the_known_ones() -> None:
    world = delivery_world()
    field = "capabilities.deliveryIdentifierTypes"
    message = f"{field} 'HS_FAX' is not a delivery identifier type name (one of {KNOWN_TYPES}) (V1)"
    assert_exact(
        world,
        create_channel(world, capabilities=capabilities(delivery_identifier_types=("HS_FAX",))),
        Expected(ValidationError, field, "HS_FAX", "V1", message),
    )


def test_v1_unknown_threading_model() -> None:
    world = delivery_world()
    field = "capabilities.threadingModel"
    assert_exact(
        world,
        create_channel(world, capabilities=capabilities(threading_model="BY_SUBJECT")),
        Expected(
            ValidationError,
            field,
            "BY_SUBJECT",
            "V1",
            f"{field} 'BY_SUBJECT' is not INTEGRATION_THREAD_ID or DELIVERY_IDENTIFIER (V1)",
        ),
    )


def test_v1_boolean_list_and_count_capabilities() -> None:
    world = delivery_world()
    cases: list[tuple[dict[str, Any], str, object, str]] = [
        ({"allow_inline_images": "yes"}, "capabilities.allowInlineImages", "yes", "is not a boolean"),
        ({"rich_text": "BOLD"}, "capabilities.richText", "BOLD", "is not a list of strings"),
        ({"outgoing_attachment_types": [1]}, "capabilities.outgoingAttachmentTypes", [1], "is not a list of strings"),
        (
            {"max_file_attachment_count": -1},
            "capabilities.maxFileAttachmentCount",
            -1,
            "is not an integer from 0 to 9,223,372,036,854,775,807",
        ),
        (
            {"max_file_attachment_size_bytes": True},
            "capabilities.maxFileAttachmentSizeBytes",
            True,
            "is not an integer from 0 to 9,223,372,036,854,775,807",
        ),
        (
            {"max_total_file_attachment_size_bytes": 2**63},
            "capabilities.maxTotalFileAttachmentSizeBytes",
            2**63,
            "is not an integer from 0 to 9,223,372,036,854,775,807",
        ),
    ]
    for change, field, value, problem in cases:
        assert_exact(
            world,
            create_channel(world, capabilities=capabilities(**change)),
            Expected(ValidationError, field, value, "V1", f"{field} {value!r} {problem} (V1)"),
        )


# -- V2: channel accounts --------------------------------------------------------------------------------


def create_account(world: World, **overrides: Any) -> Callable[[], object]:
    arguments: dict[str, Any] = {
        "name": "Sales",
        "inbox_id": "inbox-2",
        "delivery_identifier": DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550108888"),
    }
    arguments.update(overrides)
    channel_id = arguments.pop("channel_id", world.channel_id)
    return lambda: world.engine.create_channel_account(channel_id, **arguments)


def test_v2_missing_delivery_identifier() -> None:
    world = delivery_world()
    message = "deliveryIdentifier None is required when creating a channel account (V2)"
    assert_exact(
        world,
        create_account(world, delivery_identifier=None),
        Expected(ValidationError, "deliveryIdentifier", None, "V2", message),
    )


def test_v2_flags_must_be_booleans() -> None:
    world = delivery_world()
    assert_exact(
        world,
        create_account(world, authorized="yes"),
        Expected(ValidationError, "authorized", "yes", "V2", "authorized 'yes' is not a boolean (V2)"),
    )
    assert_exact(
        world,
        create_account(world, creates_tickets="no"),
        Expected(ValidationError, "createsTickets", "no", "V2", "createsTickets 'no' is not a boolean (V2)"),
    )
    assert_exact(
        world,
        lambda: world.engine.update_channel_account(world.account_id, authorized=cast(bool, "yes")),
        Expected(ValidationError, "authorized", "yes", "V2", "authorized 'yes' is not a boolean (V2)"),
    )


def test_v2_names_and_inbox_must_not_be_blank() -> None:
    world = delivery_world()
    assert_exact(
        world,
        create_account(world, name=" "),
        Expected(ValidationError, "name", " ", "V2", "name ' ' is empty (V2)"),
    )
    assert_exact(
        world,
        create_account(world, inbox_id=""),
        Expected(ValidationError, "inboxId", "", "V2", "inboxId '' is empty (V2)"),
    )
    assert_exact(
        world,
        lambda: world.engine.update_channel_account(world.account_id, name=""),
        Expected(ValidationError, "name", "", "V2", "name '' is empty (V2)"),
    )
    assert_exact(
        world,
        lambda: world.engine.update_channel_account(world.account_id, name=cast(str, 7)),
        Expected(ValidationError, "name", 7, "V2", "name 7 is not a string (V2)"),
    )


def test_v2_identifier_type_the_channel_does_not_accept() -> None:
    world = phone_only_world()
    field = "deliveryIdentifier.type"
    message = f"{field} 'HS_EMAIL_ADDRESS' is not one of the channel's deliveryIdentifierTypes ['HS_PHONE_NUMBER'] (V2)"
    assert_exact(
        world,
        create_account(world, delivery_identifier=email("sales@example.com")),
        Expected(ValidationError, field, "HS_EMAIL_ADDRESS", "V2", message),
    )


def test_v2_identifier_already_taken() -> None:
    world = delivery_world()
    message = (
        "deliveryIdentifier 'HS_PHONE_NUMBER:+15550109999' "
        f"already belongs to account {world.account_id!r} of this channel (V2)"
    )
    assert_exact(
        world,
        create_account(world, delivery_identifier=OWN),
        Expected(ValidationError, "deliveryIdentifier", "HS_PHONE_NUMBER:+15550109999", "V2", message),
    )


def test_v2_identifier_taken_in_another_portal_does_not_name_that_portals_account() -> None:
    """P1: an account id of one portal is not shown to another; the error names the field, value and rule."""
    world = delivery_world()
    message = (
        "deliveryIdentifier 'HS_PHONE_NUMBER:+15550109999' "
        "already belongs to an account of another portal of this channel (V2)"
    )
    assert_exact(
        world,
        create_account(world, delivery_identifier=OWN, portal_id="99887766"),
        Expected(ValidationError, "deliveryIdentifier", "HS_PHONE_NUMBER:+15550109999", "V2", message),
    )


# -- V3: channel fields ----------------------------------------------------------------------------------


def test_v3_channel_name_must_not_be_blank_on_create_and_update() -> None:
    world = delivery_world()
    assert_exact(
        world, create_channel(world, name=""), Expected(ValidationError, "name", "", "V3", "name '' is empty (V3)")
    )
    assert_exact(
        world,
        lambda: world.engine.update_channel(world.channel_id, name="  "),
        Expected(ValidationError, "name", "  ", "V3", "name '  ' is empty (V3)"),
    )


def test_v3_urls() -> None:
    world = delivery_world()
    assert_exact(
        world,
        create_channel(world, webhook_url=5),
        Expected(ValidationError, "webhookUrl", 5, "V3", "webhookUrl 5 is not a string (V3)"),
    )
    assert_exact(
        world,
        create_channel(world, webhook_url="ftp://example.com/hook"),
        Expected(
            ValidationError,
            "webhookUrl",
            "ftp://example.com/hook",
            "V3",
            "webhookUrl 'ftp://example.com/hook' is not an absolute https or http URL (V3)",
        ),
    )
    assert_exact(
        world,
        lambda: world.engine.update_channel(world.channel_id, channel_logo_url="http://example.com/logo.png"),
        Expected(
            ValidationError,
            "channelLogoUrl",
            "http://example.com/logo.png",
            "V3",
            "channelLogoUrl 'http://example.com/logo.png' is not an absolute https URL (V3)",
        ),
    )


def test_v3_description() -> None:
    world = delivery_world()
    assert_exact(
        world,
        create_channel(world, channel_description=5),
        Expected(ValidationError, "channelDescription", 5, "V3", "channelDescription 5 is not a string (V3)"),
    )
    shown = "0123456789" * 2 + "..."
    assert_exact(
        world,
        lambda: world.engine.update_channel(world.channel_id, channel_description="0123456789" * 101),
        Expected(
            ValidationError,
            "channelDescription",
            shown,
            "V3",
            f"channelDescription {shown!r} is longer than 1000 characters (V3)",
        ),
    )


# -- V4: identifiers -------------------------------------------------------------------------------------


def test_v4_identifier_errors_name_the_field_they_came_from() -> None:
    world = delivery_world()
    field = "senders[0].deliveryIdentifier"
    assert_exact(
        world,
        publish(world, senders=[Participant(cast(DeliveryIdentifier, "+15550100001"))]),
        Expected(
            ValidationError,
            field,
            "+15550100001",
            "V4",
            f"{field} '+15550100001' is not a delivery identifier {{type, value}} (V4)",
        ),
    )
    assert_exact(
        world,
        publish(world, senders=[raw(IdentifierType.HS_PHONE_NUMBER, 15550100001)]),
        Expected(
            ValidationError, f"{field}.value", 15550100001, "V4", f"{field}.value 15550100001 is not a string (V4)"
        ),
    )
    assert_exact(
        world,
        publish(world, senders=[DeliveryIdentifier(cast(IdentifierType, "HS_FAX"), "1")]),
        Expected(
            ValidationError,
            f"{field}.type",
            "HS_FAX",
            "V4",
            f"{field}.type 'HS_FAX' is not a delivery identifier type (one of {KNOWN_TYPES}) (V4)",
        ),
    )


def test_v4_default_field_names() -> None:
    with pytest.raises(ValidationError) as bad_type:
        DeliveryIdentifier.of("HS_FAX", "1")
    assert bad_type.value.field == "deliveryIdentifier.type"
    assert bad_type.value.message.startswith("deliveryIdentifier.type 'HS_FAX' is not")
    with pytest.raises(ValidationError) as parsed:
        parse_identifier_type("HS_FAX")
    assert parsed.value.field == "deliveryIdentifier.type"
    assert (
        parsed.value.message
        == f"deliveryIdentifier.type 'HS_FAX' is not a delivery identifier type (one of {KNOWN_TYPES}) (V4)"
    )
    with pytest.raises(ValidationError) as bad_value:
        DeliveryIdentifier.of("HS_PHONE_NUMBER", 5)
    assert (bad_value.value.field, bad_value.value.value) == ("deliveryIdentifier.value", 5)
    assert bad_value.value.message == "deliveryIdentifier.value 5 is not a string (V4)"


@pytest.mark.parametrize(
    ("identifier_type", "value", "problem"),
    [
        (
            IdentifierType.HS_PHONE_NUMBER,
            "+0555",
            "is not an E.164 phone number (+, then 2-15 digits, the first not 0)",
        ),
        (IdentifierType.HS_SHORT_CODE, "12", "is not a short code (3-8 digits)"),
        (IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID, " ", "is empty"),
        (IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID, "x" * 257, "is longer than 256 characters"),
        (IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID, "a\x07b", "contains a control character"),
        (IdentifierType.HS_EMAIL_ADDRESS, "a b@example.com", "is not an e-mail address: it contains white space"),
        (IdentifierType.HS_EMAIL_ADDRESS, "a@b@example.com", "is not an e-mail address: it needs exactly one @"),
        (
            IdentifierType.HS_EMAIL_ADDRESS,
            "a@" + "b" * 249 + ".com",
            "is not an e-mail address: it is longer than 254 characters",
        ),
        (IdentifierType.HS_EMAIL_ADDRESS, "@example.com", "is not an e-mail address: the part before @ is empty"),
        (
            IdentifierType.HS_EMAIL_ADDRESS,
            "a" * 65 + "@example.com",
            "is not an e-mail address: the part before @ is longer than 64 characters",
        ),
        (
            IdentifierType.HS_EMAIL_ADDRESS,
            "a@example.",
            "is not an e-mail address: the domain needs a dot between non-empty labels",
        ),
    ],
)
def test_v4_each_bad_value_says_what_is_wrong(identifier_type: IdentifierType, value: str, problem: str) -> None:
    world = delivery_world()
    field = "recipients[0].deliveryIdentifier.value"
    assert_exact(
        world,
        publish(world, recipients=[raw(identifier_type, value)]),
        Expected(ValidationError, field, value, "V4", f"{field} {value!r} {problem} (V4)"),
    )


# -- V5: messages ----------------------------------------------------------------------------------------


def test_v5_direction_senders_and_participants() -> None:
    world = delivery_world()
    assert_exact(
        world,
        publish(world, direction="SIDEWAYS"),
        Expected(
            ValidationError,
            "messageDirection",
            "SIDEWAYS",
            "V5",
            "messageDirection 'SIDEWAYS' is not INCOMING or OUTGOING (V5)",
        ),
    )
    assert_exact(
        world,
        publish(world, senders=[]),
        Expected(ValidationError, "senders", [], "V5", "senders [] needs at least one sender (V5)"),
    )
    assert_exact(
        world,
        publish(world, senders="+15550100001"),
        Expected(
            ValidationError,
            "senders",
            "+15550100001",
            "V5",
            "senders '+15550100001' is not a list of participants (V5)",
        ),
    )
    stray = PublishMessage(world.account_id, Direction.INCOMING, (Participant(A), cast(Participant, A)), "hello")
    assert_exact(
        world,
        lambda: world.engine.execute(stray),
        Expected(
            ValidationError,
            "senders[1]",
            A,
            "V5",
            f"senders[1] {A!r} is not a participant {{deliveryIdentifier, name?}} (V5)",
        ),
    )
    assert_exact(
        world,
        publish(world, senders=[Participant(A, "")]),
        Expected(ValidationError, "senders[0].name", "", "V5", "senders[0].name '' is empty (V5)"),
    )


def test_v5_a_bare_identifier_first_among_the_senders() -> None:
    world = delivery_world()
    stray = PublishMessage(world.account_id, Direction.INCOMING, (cast(Participant, A),), "hello")
    assert_exact(
        world,
        lambda: world.engine.execute(stray),
        Expected(
            ValidationError,
            "senders[0]",
            A,
            "V5",
            f"senders[0] {A!r} is not a participant {{deliveryIdentifier, name?}} (V5)",
        ),
    )


def test_v5_recipients_that_are_not_a_list() -> None:
    world = delivery_world()
    world.incoming(A)  # A's spelling is known, so the rest of each command is canonical
    for recipients in (None, ""):
        assert_exact(
            world,
            publish(world, recipients=recipients),
            Expected(
                ValidationError,
                "recipients",
                recipients,
                "V5",
                f"recipients {recipients!r} is not a list of participants (V5)",
            ),
        )


def test_v5_text_and_timestamp() -> None:
    world = delivery_world()
    assert_exact(
        world, publish(world, text=5), Expected(ValidationError, "text", 5, "V5", "text 5 is not a string (V5)")
    )
    assert_exact(
        world,
        publish(world, timestamp="2026-03-02"),
        Expected(ValidationError, "timestamp", "2026-03-02", "V5", "timestamp '2026-03-02' is not a datetime (V5)"),
    )
    assert_exact(
        world,
        publish(world, timestamp=datetime(2026, 3, 2, 9, 0)),
        Expected(
            ValidationError,
            "timestamp",
            "2026-03-02T09:00:00",
            "V5",
            "timestamp '2026-03-02T09:00:00' has no timezone offset (V5)",
        ),
    )


def test_v5_naive_engine_clock() -> None:
    world = delivery_world()
    naive = datetime(2026, 3, 2, 9, 0)
    engine = Engine(world.engine.repository, clock=lambda: naive, ids=SequentialIds())
    assert_exact(
        world,
        lambda: engine.publish_message(world.account_id, direction=Direction.INCOMING, senders=[A], text="hi"),
        Expected(
            ValidationError,
            "clock",
            naive,
            "V5",
            "clock returned naive time 2026-03-02T09:00:00: the engine's clock must be timezone-aware (V5)",
        ),
    )


def test_v5_identifier_types_the_channel_does_not_accept() -> None:
    world = phone_only_world()
    allowed = "['HS_PHONE_NUMBER']"
    someone = email("ana@example.com")
    for field, command in [
        ("senders[0]", publish(world, senders=[someone])),
        ("recipients[1]", publish(world, direction=Direction.OUTGOING, senders=[OWN], recipients=[A, someone])),
        (
            "recipients[0]",
            lambda: world.engine.start_conversation(world.account_id, recipients=[someone], text="hi"),
        ),
    ]:
        assert_exact(
            world,
            command,
            Expected(
                ValidationError,
                f"{field}.deliveryIdentifier.type",
                "HS_EMAIL_ADDRESS",
                "V5",
                f"{field}.deliveryIdentifier.type 'HS_EMAIL_ADDRESS' is not one of the channel's "
                f"deliveryIdentifierTypes {allowed} (V5)",
            ),
        )


def test_v5_an_identifier_whose_type_is_a_plain_string() -> None:
    """Built without ``DeliveryIdentifier.of``, the type is a string; it is checked and stored as the enum."""
    world = phone_only_world()
    spelled = Participant(DeliveryIdentifier(cast(IdentifierType, "HS_EMAIL_ADDRESS"), "ana@example.com"))
    assert_exact(
        world,
        publish(world, senders=[spelled]),
        Expected(
            ValidationError,
            "senders[0].deliveryIdentifier.type",
            "HS_EMAIL_ADDRESS",
            "V5",
            "senders[0].deliveryIdentifier.type 'HS_EMAIL_ADDRESS' is not one of the channel's "
            "deliveryIdentifierTypes ['HS_PHONE_NUMBER'] (V5)",
        ),
    )
    phone = Participant(DeliveryIdentifier(cast(IdentifierType, "HS_PHONE_NUMBER"), A.value))
    published = world.engine.execute(PublishMessage(world.account_id, Direction.INCOMING, (phone,), "hello"))
    assert published.message_id is not None
    [sender] = world.engine.message(published.message_id).senders
    assert type(sender.delivery_identifier.type) is IdentifierType


def test_v5_unauthorized_account() -> None:
    world = delivery_world()
    world.engine.update_channel_account(world.account_id, authorized=False)
    expected = Expected(
        NotAllowedError,
        "channelAccountId",
        world.account_id,
        "V5",
        f"channelAccountId {world.account_id!r} is not authorized (V5)",
    )
    assert_exact(world, publish(world), expected)
    assert_exact(world, lambda: world.engine.start_conversation(world.account_id, recipients=[A], text="hi"), expected)


# -- V6 and D1: integration ids --------------------------------------------------------------------------


def test_v6_and_d1_ids_must_not_be_blank() -> None:
    world = integration_world()
    assert_exact(
        world,
        publish(world),
        Expected(
            ValidationError,
            "integrationThreadId",
            None,
            "V6",
            "integrationThreadId None is required: the channel's threadingModel is INTEGRATION_THREAD_ID (V6)",
        ),
    )
    assert_exact(
        world,
        publish(world, integration_thread_id=""),
        Expected(ValidationError, "integrationThreadId", "", "V6", "integrationThreadId '' is empty (V6)"),
    )
    assert_exact(
        world,
        publish(world, integration_thread_id="conv-1", integration_idempotency_id=" "),
        Expected(ValidationError, "integrationIdempotencyId", " ", "D1", "integrationIdempotencyId ' ' is empty (D1)"),
    )


def test_d2_conflict() -> None:
    world = delivery_world()
    first = world.incoming(A, text="one", idempotency_id="wamid-1")
    message = (
        f"integrationIdempotencyId 'wamid-1' was already used for message {first.message_id!r} "
        "with a different payload (D2)"
    )
    assert_exact(
        world,
        publish(world, text="two", integration_idempotency_id="wamid-1"),
        Expected(IdempotencyConflictError, "integrationIdempotencyId", "wamid-1", "D2", message),
    )


# -- R0, R3: keys and outgoing messages ------------------------------------------------------------------


def test_r0_a_message_among_the_account_itself_has_no_key() -> None:
    world = delivery_world()
    assert_exact(
        world,
        publish(world, senders=[OWN], recipients=[OWN]),
        Expected(
            ValidationError,
            "recipients",
            [],
            "R0",
            "recipients [] leave an empty key: every participant is the account itself (R0)",
        ),
    )
    assert_exact(
        world,
        lambda: world.engine.start_conversation(world.account_id, recipients=[OWN, OWN], text="hi"),
        Expected(
            ValidationError,
            "recipients",
            [str(OWN), str(OWN)],
            "R0",
            "recipients ['HS_PHONE_NUMBER:+15550109999', 'HS_PHONE_NUMBER:+15550109999'] leave an empty key: "
            "every recipient is the account itself (R0)",
        ),
    )


def test_r3_conversation_start_needs_recipients_and_text() -> None:
    world = delivery_world()
    assert_exact(
        world,
        lambda: world.engine.start_conversation(world.account_id, recipients=[], text="hi"),
        Expected(ValidationError, "recipients", [], "R3", "recipients [] needs at least one recipient (R3)"),
    )
    assert_exact(
        world,
        lambda: world.engine.start_conversation(world.account_id, recipients=[A], text=cast(str, None)),
        Expected(ValidationError, "text", None, "V5", "text None is not a string (V5)"),
    )
    assert_exact(
        world,
        lambda: world.engine.reply("thread-1", cast(str, 5)),
        Expected(ValidationError, "text", 5, "V5", "text 5 is not a string (V5)"),
    )


def test_r3_capabilities_that_forbid_outgoing_messages() -> None:
    quiet = phone_only_world(allow_outgoing_messages=False)
    thread = thread_id_of(quiet.incoming(A))
    assert_exact(
        quiet,
        lambda: quiet.engine.reply(thread, "hi"),
        Expected(
            NotAllowedError,
            "capabilities.allowOutgoingMessages",
            False,
            "R3",
            f"channel {quiet.channel_id!r} does not allow this: capabilities.allowOutgoingMessages is false (R3)",
        ),
    )
    no_start = phone_only_world(allow_conversation_start=False)
    assert_exact(
        no_start,
        lambda: no_start.engine.start_conversation(no_start.account_id, recipients=[A], text="hi"),
        Expected(
            NotAllowedError,
            "capabilities.allowConversationStart",
            False,
            "R3",
            f"channel {no_start.channel_id!r} does not allow this: capabilities.allowConversationStart is false (R3)",
        ),
    )


def test_r3_replies_go_only_to_open_threads() -> None:
    world = delivery_world()
    closed = thread_id_of(world.incoming(A))
    world.engine.close_thread(closed)
    archived = thread_id_of(world.incoming(A, recipients=(OWN, email("b@example.com"))))
    world.engine.archive_thread(archived)
    for thread, state in [(closed, "closed"), (archived, "archived")]:
        assert_exact(
            world,
            lambda thread=thread: world.engine.reply(thread, "hi"),  # type: ignore[misc]
            Expected(
                ThreadNotOpenError,
                "threadId",
                thread,
                "R3",
                f"threadId {thread!r} is {state}: outgoing messages go only to open threads (R3)",
            ),
        )


# -- R8 and I1: lifecycle conflicts ----------------------------------------------------------------------


def test_r8_close_ticket_of_a_thread_without_one() -> None:
    world = delivery_world(creates_tickets=False)
    thread = thread_id_of(world.incoming(A))
    assert_exact(
        world,
        lambda: world.engine.close_ticket(thread),
        Expected(NotFoundError, "threadId", thread, "R8", f"threadId {thread!r} has no ticket (R8)"),
    )


def test_r8_an_archived_thread_is_restored_before_it_reopens() -> None:
    world = delivery_world()
    thread = thread_id_of(world.incoming(A))
    world.engine.archive_thread(thread)
    assert_exact(
        world,
        lambda: world.engine.reopen_thread(thread),
        Expected(
            NotAllowedError,
            "threadId",
            thread,
            "R8",
            f"threadId {thread!r} is archived: restore it before reopening (R8)",
        ),
    )


def test_r8_reopening_beside_an_open_thread_of_the_key() -> None:
    world = delivery_world()
    old = thread_id_of(world.incoming(A))
    world.engine.close_thread(old)
    world.clock.advance(timedelta(days=2))
    new = thread_id_of(world.incoming(A))
    assert_exact(
        world,
        lambda: world.engine.reopen_thread(old),
        Expected(
            KeyConflictError,
            "threadId",
            old,
            "R8",
            f"threadId {old!r} cannot reopen: thread {new!r} is open for the same key (R8)",
        ),
    )


def test_i1_restoring_beside_a_live_thread_of_the_integration_thread_id() -> None:
    world = integration_world()
    old = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.archive_thread(old)
    live = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    assert_exact(
        world,
        lambda: world.engine.restore_thread(old),
        Expected(
            KeyConflictError,
            "threadId",
            old,
            "I1",
            f"threadId {old!r} cannot be restored: thread {live!r} is live for integrationThreadId 'conv-1' (I1)",
        ),
    )


def test_i1_outgoing_to_a_closed_integration_thread() -> None:
    world = integration_world()
    thread = thread_id_of(world.incoming(A, integration_thread_id="conv-1"))
    world.engine.close_thread(thread)
    assert_exact(
        world,
        lambda: world.outgoing(A, integration_thread_id="conv-1"),
        Expected(
            ThreadNotOpenError,
            "integrationThreadId",
            "conv-1",
            "I1",
            f"integrationThreadId 'conv-1' names thread {thread!r}, which is closed (I1)",
        ),
    )


def test_i1_only_the_integration_names_a_thread() -> None:
    world = integration_world()
    assert_exact(
        world,
        lambda: world.engine.start_conversation(world.account_id, recipients=[A], text="hi"),
        Expected(
            NotAllowedError,
            "capabilities.threadingModel",
            "INTEGRATION_THREAD_ID",
            "I1",
            f"channel {world.channel_id!r} uses INTEGRATION_THREAD_ID: only the integration can name a thread (I1)",
        ),
    )


# -- NOT_FOUND -------------------------------------------------------------------------------------------


def test_unknown_ids_in_commands() -> None:
    """NOT_FOUND names the field and the rule of the command that needed what is missing."""
    world = delivery_world()
    engine = world.engine

    def missing(field: str, names: str, rule: str) -> Expected:
        return Expected(NotFoundError, field, "nope", rule, f"{field} 'nope' names no {names} ({rule})")

    cases: list[tuple[Callable[[], object], Expected]] = [
        (
            lambda: engine.publish_message("nope", direction=Direction.INCOMING, senders=[A], text="hi"),
            missing("channelAccountId", "channel account", "V5"),
        ),
        (
            lambda: engine.start_conversation("nope", recipients=[A], text="hi"),
            missing("channelAccountId", "channel account", "R3"),
        ),
        (
            lambda: engine.update_channel_account("nope", name="Sales"),
            missing("channelAccountId", "channel account", "V2"),
        ),
        (lambda: engine.update_channel("nope", name="Chat"), missing("channelId", "channel", "V3")),
        (
            lambda: engine.create_channel_account("nope", name="S", inbox_id="i", delivery_identifier=A),
            missing("channelId", "channel", "V2"),
        ),
        (lambda: engine.reply("nope", "hi"), missing("threadId", "thread", "R3")),
        (lambda: engine.close_thread("nope"), missing("threadId", "thread", "R6")),
        (lambda: engine.close_ticket("nope"), missing("threadId", "thread", "R6")),
        (lambda: engine.archive_thread("nope"), missing("threadId", "thread", "R7")),
        (lambda: engine.restore_thread("nope"), missing("threadId", "thread", "R7")),
        (lambda: engine.reopen_thread("nope"), missing("threadId", "thread", "R8")),
    ]
    for command, expected in cases:
        assert_exact(world, command, expected)


def test_unknown_ids_in_reads() -> None:
    """A read cites no rule: it only names the field."""
    world = delivery_world()
    engine = world.engine
    reads: list[tuple[Callable[[str], object], str, str]] = [
        (engine.channel, "channelId", "channel"),
        (engine.channel_account, "channelAccountId", "channel account"),
        (engine.thread, "threadId", "thread"),
        (engine.ticket, "ticketId", "ticket"),
        (engine.message, "messageId", "message"),
        (engine.messages, "threadId", "thread"),
    ]
    for read, field, names in reads:
        assert_exact(
            world,
            lambda read=read: read("nope"),  # type: ignore[misc]
            Expected(NotFoundError, field, "nope", None, f"{field} 'nope' names no {names}"),
        )


def test_unhashable_account_id_is_not_found() -> None:
    """A value that cannot be an id names nothing, and the error says why; no store is asked about it."""
    world = delivery_world()
    account_id = cast(str, ["account-1"])
    for command, rule in (
        (lambda: world.engine.publish_message(account_id, direction=Direction.INCOMING, senders=[A], text="hi"), "V5"),
        (lambda: world.engine.execute(StartConversation(account_id, (Participant(A),), "hi")), "R3"),
    ):
        assert_exact(
            world,
            command,
            Expected(
                NotFoundError,
                "channelAccountId",
                ["account-1"],
                rule,
                f"channelAccountId ['account-1'] names no channel account: it is not a string ({rule})",
            ),
        )
