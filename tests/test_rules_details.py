"""Details of R0, R3-R6, I1, D1, V1, V4 and the engine's results that the scenario tests leave open.

Each test pins one observable detail: the rule an event names (E2), the ids a result carries, the times and
origin stored on new threads and messages, the boundaries of V1 and V4, and what :func:`rules.plan` and
:func:`rules.decide` do with views the engine itself never builds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import (
    OWN,
    A,
    B,
    Clock,
    delivery_world,
    email,
    event_rules,
    integration_world,
    phone,
    thread_id_of,
)

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Message,
    NotFoundError,
    Outcome,
    Participant,
    Policy,
    PublishMessage,
    SequentialIds,
    StartConversation,
    ThreadingModel,
    ValidationError,
    rules,
)
from threading_engine.decisions import View, ViewQuery
from threading_engine.events import MessageAppended
from threading_engine.model import MessageOrigin

# -- R3, R4, E2: the rule each event names ---------------------------------------------------------------


def test_r3_a_mirrored_outgoing_message_that_creates_a_thread_names_r3() -> None:
    world = delivery_world()
    created = world.outgoing(A)
    assert created.outcome is Outcome.CREATED
    assert event_rules(created.events) == [
        ("THREAD_CREATED", "R3"),
        ("TICKET_CREATED", "R6"),
        ("MESSAGE_APPENDED", "R3"),
    ]


def test_r4_an_incoming_message_that_creates_a_thread_names_r4() -> None:
    world = delivery_world()
    created = world.incoming(A)
    assert event_rules(created.events) == [
        ("THREAD_CREATED", "R4"),
        ("TICKET_CREATED", "R6"),
        ("MESSAGE_APPENDED", "R4"),
    ]


def test_r3_a_conversation_start_on_the_keys_open_thread_names_r3() -> None:
    world = delivery_world()
    thread = thread_id_of(world.incoming(A))
    started = world.engine.start_conversation(world.account_id, recipients=[A], text="following up")
    assert (started.outcome, started.thread_id) == (Outcome.APPENDED, thread)
    assert event_rules(started.events) == [("MESSAGE_APPENDED", "R3"), ("OUTGOING_CHANNEL_MESSAGE_CREATED", None)]


def test_r3_a_conversation_start_on_the_keys_open_thread_appends_its_outgoing_message() -> None:
    world = delivery_world()
    thread = thread_id_of(world.incoming(A))
    started = world.engine.start_conversation(world.account_id, recipients=[A], text="following up")
    assert started.message_id is not None
    assert started.events[0].event == MessageAppended(thread, "R3", started.message_id, Direction.OUTGOING)


# -- what new threads and messages hold ------------------------------------------------------------------


def test_r3_a_conversation_start_creates_its_thread_now() -> None:
    world = delivery_world()
    world.clock.advance(timedelta(minutes=5))
    started = world.engine.start_conversation(world.account_id, recipients=[A], text="hello")
    thread = world.thread(started.thread_id)
    assert (thread.created_at, thread.latest_message_at) == (world.clock.now, world.clock.now)
    assert world.message(started).origin is MessageOrigin.AGENT


def test_r4_a_created_thread_holds_its_creation_time_as_latest_message_time() -> None:
    world = delivery_world()
    world.clock.advance(timedelta(minutes=5))
    created = world.incoming(A, timestamp=Clock().now)
    thread = world.thread(created.thread_id)
    assert (thread.created_at, thread.latest_message_at) == (world.clock.now, world.clock.now)


def test_i1_a_new_integration_thread_is_created_now() -> None:
    world = integration_world()
    world.clock.advance(timedelta(minutes=5))
    created = world.incoming(A, integration_thread_id="conv-1")
    thread = world.thread(created.thread_id)
    assert (thread.created_at, thread.latest_message_at) == (world.clock.now, world.clock.now)
    assert thread.integration_thread_id == "conv-1"


def test_a_published_message_comes_from_the_integration() -> None:
    world = delivery_world()
    assert world.message(world.incoming(A)).origin is MessageOrigin.INTEGRATION
    assert world.message(world.outgoing(A)).origin is MessageOrigin.INTEGRATION


def test_v4_a_participant_keeps_its_name_when_its_identifier_is_canonicalised() -> None:
    world = delivery_world()
    spelled = DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, "+1 (555) 010-0001")
    published = world.incoming(Participant(spelled, "Ana"), recipients=[Participant(OWN, "Support")])
    message = world.message(published)
    assert message.senders == (Participant(A, "Ana"),)
    assert message.recipients == (Participant(OWN, "Support"),)


def test_r0_a_conversation_start_to_another_spelling_lands_on_the_keys_thread() -> None:
    world = delivery_world()
    thread = thread_id_of(world.incoming(A))
    spelled = DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, "+1 555 010 0001")
    started = world.engine.start_conversation(world.account_id, recipients=[spelled], text="following up")
    assert (started.outcome, started.thread_id) == (Outcome.APPENDED, thread)
    assert world.message(started).recipients == (Participant(A),)


def test_r5_a_reply_goes_back_to_identifiers_holding_a_colon_and_a_space() -> None:
    world = delivery_world()
    odd = DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", "user 7:team a")
    plain = DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", "zed")
    thread = thread_id_of(world.incoming(odd, recipients=[OWN, plain]))
    reply = world.engine.reply(thread, "hi")
    assert set(world.message(reply).recipients) == {Participant(odd), Participant(plain)}


# -- the ids a result carries ----------------------------------------------------------------------------


def test_message_results_name_their_account_channel_thread_and_ticket() -> None:
    world = delivery_world()
    published = world.incoming(A, idempotency_id="wamid-1")
    assert published.channel_account_id == world.account_id
    thread = world.thread(published.thread_id)
    assert published.ticket_id == thread.ticket_id is not None
    duplicate = world.incoming(A, idempotency_id="wamid-1")
    assert duplicate.outcome is Outcome.DUPLICATE
    assert (duplicate.channel_id, duplicate.channel_account_id) == (world.channel_id, world.account_id)
    assert (duplicate.thread_id, duplicate.ticket_id, duplicate.message_id) == (
        published.thread_id,
        published.ticket_id,
        published.message_id,
    )
    reply = world.engine.reply(thread.id, "hi")
    started = world.engine.start_conversation(world.account_id, recipients=[B], text="hello")
    for result in (reply, started):
        assert (result.channel_id, result.channel_account_id) == (world.channel_id, world.account_id)


def test_d1_a_duplicate_on_an_account_without_tickets_names_no_ticket() -> None:
    world = delivery_world(creates_tickets=False)
    first = world.incoming(A, idempotency_id="wamid-1")
    again = world.incoming(A, idempotency_id="wamid-1")
    assert (again.outcome, again.thread_id, again.ticket_id) == (Outcome.DUPLICATE, first.thread_id, None)


def test_thread_command_results_name_the_account_and_ticket() -> None:
    world = delivery_world()
    thread = world.thread(world.incoming(A).thread_id)
    for result in (world.engine.close_thread(thread.id), world.engine.close_thread(thread.id)):
        assert (result.channel_account_id, result.thread_id, result.ticket_id) == (
            world.account_id,
            thread.id,
            thread.ticket_id,
        )


def test_setup_results_name_the_channel_and_account() -> None:
    world = delivery_world()
    for result in (
        world.engine.update_channel(world.channel_id, name="Renamed"),
        world.engine.update_channel(world.channel_id, name="Renamed"),
    ):
        assert result.channel_id == world.channel_id
    for result in (
        world.engine.update_channel_account(world.account_id, name="Desk"),
        world.engine.update_channel_account(world.account_id, name="Desk"),
    ):
        assert (result.channel_id, result.channel_account_id) == (world.channel_id, world.account_id)
    created = world.engine.create_channel_account(
        world.channel_id, name="Sales", inbox_id="inbox-2", delivery_identifier=phone("+15550108888")
    )
    assert created.channel_account_id is not None
    assert created.channel_id == world.channel_id
    assert world.engine.channel_account(created.channel_account_id).channel_id == world.channel_id


def test_threads_can_be_listed_per_account() -> None:
    world = delivery_world()
    other = world.engine.create_channel_account(
        world.channel_id, name="Sales", inbox_id="inbox-2", delivery_identifier=phone("+15550108888")
    )
    assert other.channel_account_id is not None
    mine = thread_id_of(world.incoming(A))
    theirs = thread_id_of(
        world.engine.publish_message(other.channel_account_id, direction=Direction.INCOMING, senders=[A], text="hi")
    )
    assert [t.id for t in world.engine.threads(world.account_id)] == [mine]
    assert [t.id for t in world.engine.threads(other.channel_account_id)] == [theirs]
    assert {t.id for t in world.engine.threads()} == {mine, theirs}


# -- V1 and V4 boundaries --------------------------------------------------------------------------------


def test_v1_lists_are_stored_as_tuples_and_zero_counts_are_allowed() -> None:
    world = delivery_world()
    capabilities = Capabilities(
        delivery_identifier_types=["HS_PHONE_NUMBER"],  # type: ignore[arg-type]
        threading_model="DELIVERY_IDENTIFIER",  # type: ignore[arg-type]
        rich_text=["BOLD"],  # type: ignore[arg-type]
        outgoing_attachment_types=["IMAGE"],  # type: ignore[arg-type]
        allowed_file_attachment_mime_types=["image/png"],  # type: ignore[arg-type]
        max_file_attachment_count=0,
        max_file_attachment_size_bytes=0,
        max_total_file_attachment_size_bytes=0,
    )
    created = world.engine.create_channel("Chat", capabilities)
    assert created.channel_id is not None
    stored = world.engine.channel(created.channel_id).capabilities
    assert stored == Capabilities(
        (IdentifierType.HS_PHONE_NUMBER,),
        ThreadingModel.DELIVERY_IDENTIFIER,
        rich_text=("BOLD",),
        outgoing_attachment_types=("IMAGE",),
        allowed_file_attachment_mime_types=("image/png",),
        max_file_attachment_count=0,
        max_file_attachment_size_bytes=0,
        max_total_file_attachment_size_bytes=0,
    )
    assert type(stored.outgoing_attachment_types) is tuple
    assert type(stored.allowed_file_attachment_mime_types) is tuple


@pytest.mark.parametrize(
    "identifier",
    [
        ("CHANNEL_SPECIFIC_OPAQUE_ID", "x" * 256),
        ("HS_EMAIL_ADDRESS", "a@" + "b" * 248 + ".com"),
        ("HS_EMAIL_ADDRESS", "a" * 64 + "@example.com"),
    ],
)
def test_v4_values_at_the_length_limits_are_accepted(identifier: tuple[str, str]) -> None:
    kind, value = identifier
    world = delivery_world()
    assert len(value) in (256, 254) or len(value.split("@")[0]) == 64
    published = world.incoming(DeliveryIdentifier(IdentifierType(kind), value))
    assert world.message(published).senders[0].delivery_identifier.value == value


def test_v5_a_message_may_have_empty_text() -> None:
    """V5 asks for a sender, allowed identifier types and an aware timestamp; the text may be empty."""
    world = delivery_world()
    published = world.incoming(A, text="")
    assert published.outcome is Outcome.CREATED
    assert world.message(published).text == ""
    reply = world.engine.reply(thread_id_of(published), "")
    assert world.message(reply).text == ""


# -- rules.plan and rules.decide on their own ------------------------------------------------------------


def test_plan_without_the_account_or_channel_asks_for_them() -> None:
    world = delivery_world()
    account = world.engine.channel_account(world.account_id)
    channel = world.engine.channel(world.channel_id)
    command = PublishMessage(world.account_id, Direction.INCOMING, (Participant(A),), "hi")
    wanted = ViewQuery(channel_account_id=world.account_id)
    assert rules.plan(command) == wanted
    assert rules.plan(command, account, None) == wanted
    assert rules.plan(command, None, channel) == wanted
    assert rules.plan(command, account, channel).key == rules.message_key(account, [Participant(A)])


def test_decide_without_the_account_or_channel_is_not_found() -> None:
    world = delivery_world()
    account = world.engine.channel_account(world.account_id)
    commands = [
        PublishMessage(world.account_id, Direction.INCOMING, (Participant(A),), "hi"),
        StartConversation(world.account_id, (Participant(A),), "hi"),
    ]
    for command in commands:
        for view in (View(), View(account=account)):
            with pytest.raises(NotFoundError) as caught:
                rules.decide(view, command, Clock().now, Policy(), SequentialIds())
            assert (caught.value.field, caught.value.value) == ("channelAccountId", world.account_id)
            rule = "V5" if isinstance(command, PublishMessage) else "R3"
            assert caught.value.rule == rule
            assert caught.value.message == f"channelAccountId {world.account_id!r} names no channel account ({rule})"


def test_r0_decide_without_the_plan_keys_a_message_itself() -> None:
    world = delivery_world()
    account = world.engine.channel_account(world.account_id)
    channel = world.engine.channel(world.channel_id)
    key = rules.message_key(account, [Participant(A)])
    commands = [
        PublishMessage(world.account_id, Direction.INCOMING, (Participant(A),), "hi"),
        StartConversation(world.account_id, (Participant(A),), "hi"),
    ]
    for command in commands:
        decision = rules.decide(View(channel, account), command, Clock().now, Policy(), SequentialIds())
        assert decision.outcome is Outcome.CREATED
        assert [thread.key for thread in decision.changes.threads] == [key]


def test_decide_refuses_what_is_not_a_command() -> None:
    message = Message(
        id="message-1",
        thread_id="thread-1",
        channel_account_id="account-1",
        direction=Direction.INCOMING,
        senders=(Participant(A),),
        recipients=(Participant(email("b@example.com")),),
        text="hi",
        timestamp=Clock().now,
        received_at=Clock().now,
    )
    with pytest.raises(ValidationError, match=r"^command Message\(.* is not a command the engine knows$") as caught:
        rules.decide(View(), message, Clock().now, Policy(), SequentialIds())  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.value) == ("command", message)
    with pytest.raises(ValidationError, match="is not a command the engine knows"):
        Engine().execute(message)  # type: ignore[arg-type]
