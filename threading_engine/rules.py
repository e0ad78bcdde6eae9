"""The decision logic: which thread every message belongs to (SPEC R0-R5, I1, D1-D2, V5-V6).

Theory of operation
-------------------
The engine handles one command at a time, in three pure steps and one impure one:

1. :func:`normalize` checks what can be checked without state (V1-V6's shapes, V4's canonical identifiers)
   and returns the command in canonical form. Bad input stops here, before anything is read.
2. :func:`plan` says what the command must read: a :class:`ViewQuery`. A message is keyed (R0) by its
   account plus the set of its participants' identifiers minus the account's own, so planning a message
   needs the account (immutable routing facts the engine may cache).
3. The store loads a :class:`View` in a transaction; :func:`decide` turns view, command, time and policy into
   a :class:`Decision` (or raises a typed error). No clock, no I/O, no randomness here: ``now`` and
   ``new_id`` are given.
4. The store commits the decision's changes with its events atomically; a lost race is retried from step 3.

Routing a published message, under DELIVERY_IDENTIFIER:

    idempotency record? --yes--> same payload: DUPLICATE (D1) / other payload: IDEMPOTENCY_CONFLICT (D2)
    key's open thread?  --yes--> APPENDED (R4a, R3)
    INCOMING and latest closed thread closed < window ago? --yes--> REOPENED with its ticket (R4b, R6)
    otherwise           -------> CREATED, with a ticket if the account creates tickets (R4c, R3, R6)

and under INTEGRATION_THREAD_ID the key is (account, integrationThreadId): the live thread for it gets the
message, reopened if INCOMING, THREAD_NOT_OPEN if OUTGOING to a closed one; otherwise a new thread (I1).
Agent replies need an open thread (R3); agent conversation starts go to the key's open thread or a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import attrs

from .commands import (
    Command,
    CreateChannel,
    CreateChannelAccount,
    PublishMessage,
    Reply,
    StartConversation,
    ThreadCommand,
    UpdateChannel,
    UpdateChannelAccount,
)
from .decisions import Changes, Decision, Outcome, Policy, ReopenClock, View, ViewQuery
from .errors import IdempotencyConflictError, NotAllowedError, NotFoundError, ThreadNotOpenError
from .events import Event, MessageAppended, OutgoingMessageCreated, ThreadCreated, TicketCreated
from .identifiers import DeliveryIdentifier, key_identifiers, thread_key
from .lifecycle import decide_thread_command, reopen
from .model import (
    Channel,
    ChannelAccount,
    Direction,
    Message,
    MessageOrigin,
    Participant,
    Thread,
    ThreadingModel,
    Ticket,
)
from .setup import (
    IdFactory,
    decide_create_account,
    decide_create_channel,
    decide_update_account,
    decide_update_channel,
    normalize_create_account,
    normalize_create_channel,
    normalize_update_account,
    normalize_update_channel,
)
from .validation import (
    check_authorized,
    check_aware,
    check_optional_text,
    check_participants,
    check_text,
    check_types_allowed,
    fail,
)

__all__ = ["IdFactory", "decide", "message_key", "normalize", "plan", "reopen_elapsed"]


# -- step 1: normalize ------------------------------------------------------------------------------------


def normalize(command: Command) -> Command:
    """Validate ``command`` without state and return it in canonical form (V1-V6)."""
    normalizer = _NORMALIZERS.get(type(command))
    return command if normalizer is None else normalizer(command)


def _normalize_publish(command: PublishMessage) -> PublishMessage:
    if not isinstance(command.direction, Direction):
        raise fail("messageDirection", command.direction, "is not INCOMING or OUTGOING", "V5")
    senders = check_participants(command.senders, "senders")
    if not senders:
        raise fail("senders", [], "needs at least one sender", "V5")
    normalized = PublishMessage(
        command.channel_account_id,
        command.direction,
        senders,
        check_text(command.text, "text"),
        check_participants(command.recipients, "recipients"),
        None if command.timestamp is None else check_aware(command.timestamp, "timestamp"),
        _optional_id(command.integration_thread_id, "integrationThreadId", "V6"),
        _optional_id(command.integration_idempotency_id, "integrationIdempotencyId", "D1"),
    )
    return command if normalized == command else normalized


def _optional_id(value: object, field: str, rule: str) -> str | None:
    if value is None:
        return None
    return check_optional_text(value, field, rule=rule)


def _normalize_start(command: StartConversation) -> StartConversation:
    recipients = check_participants(command.recipients, "recipients")
    if not recipients:
        raise fail("recipients", [], "needs at least one recipient", "R3")
    return attrs.evolve(command, recipients=recipients, text=check_text(command.text, "text"))


def _normalize_reply(command: Reply) -> Reply:
    return attrs.evolve(command, text=check_text(command.text, "text"))


_NORMALIZERS: dict[type, Callable[..., Command]] = {
    CreateChannel: normalize_create_channel,
    UpdateChannel: normalize_update_channel,
    CreateChannelAccount: normalize_create_account,
    UpdateChannelAccount: normalize_update_account,
    PublishMessage: _normalize_publish,
    StartConversation: _normalize_start,
    Reply: _normalize_reply,
}


# -- step 2: plan -----------------------------------------------------------------------------------------


def plan(command: Command, account: ChannelAccount | None = None, channel: Channel | None = None) -> ViewQuery:
    """What ``command`` (normalized) must read. Messages need their account and channel to compute the key."""
    if isinstance(command, UpdateChannel):
        return ViewQuery(channel_id=command.channel_id)
    if isinstance(command, CreateChannelAccount):
        return ViewQuery(channel_id=command.channel_id, account_identifier=command.delivery_identifier)
    if isinstance(command, UpdateChannelAccount):
        return ViewQuery(channel_account_id=command.channel_account_id)
    if isinstance(command, Reply | ThreadCommand):
        return ViewQuery(thread_id=command.thread_id)
    if isinstance(command, PublishMessage | StartConversation):
        account_id = command.channel_account_id
        if account is None or channel is None:
            return ViewQuery(channel_account_id=account_id)
        if isinstance(command, StartConversation):
            return ViewQuery(channel_account_id=account_id, key=message_key(account, command.recipients))
        idempotency_id = command.integration_idempotency_id
        if channel.capabilities.threading_model is ThreadingModel.INTEGRATION_THREAD_ID:
            return ViewQuery(
                channel_account_id=account_id,
                integration_thread_id=command.integration_thread_id,
                idempotency_id=idempotency_id,
            )
        key = message_key(account, (*command.senders, *_recipients(command, account)))
        return ViewQuery(channel_account_id=account_id, key=key, idempotency_id=idempotency_id)
    return ViewQuery()


def message_key(account: ChannelAccount, participants: Iterable[Participant]) -> str:
    """R0: the set of the participants' identifiers minus the account's own, as key text."""
    return thread_key(_counterparts(account, participants))


def _counterparts(account: ChannelAccount, participants: Iterable[Participant]) -> set[DeliveryIdentifier]:
    identifiers = {p.delivery_identifier for p in participants}
    identifiers.discard(account.delivery_identifier)
    return identifiers


def _recipients(command: PublishMessage, account: ChannelAccount) -> tuple[Participant, ...]:
    # An incoming message is addressed to the account unless it says otherwise (SPEC section 8).
    if command.recipients or command.direction is Direction.OUTGOING:
        return command.recipients
    return (Participant(account.delivery_identifier),)


# -- step 3: decide ---------------------------------------------------------------------------------------


def decide(view: View, command: Command, now: datetime, policy: Policy, new_id: IdFactory) -> Decision:
    """The decision for a normalized ``command`` given ``view``; raises a ThreadingError to reject it."""
    if isinstance(command, PublishMessage):
        return _decide_publish(view, command, now, policy, new_id)
    if isinstance(command, Reply):
        return _decide_reply(view, command, now, new_id)
    if isinstance(command, StartConversation):
        return _decide_start(view, command, now, new_id)
    if isinstance(command, ThreadCommand):
        return decide_thread_command(view, command, now)
    if isinstance(command, CreateChannel):
        return decide_create_channel(command, now, new_id)
    if isinstance(command, UpdateChannel):
        return decide_update_channel(view, command)
    if isinstance(command, CreateChannelAccount):
        return decide_create_account(view, command, now, new_id)
    if isinstance(command, UpdateChannelAccount):
        return decide_update_account(view, command)
    raise TypeError(f"not a command: {command!r}")


def reopen_elapsed(closed_at: datetime, now: datetime, timestamp: datetime, policy: Policy) -> timedelta:
    """R4: time since a thread closed, by the policy's clock; a clock behind ``closed_at`` counts as zero."""
    measured_at = now if policy.reopen_clock is ReopenClock.ARRIVAL else min(timestamp, now)
    return max(measured_at - closed_at, timedelta(0))


def _account_and_channel(view: View, account_id: str) -> tuple[ChannelAccount, Channel]:
    if view.account is None or view.channel is None:
        raise NotFoundError(
            f"channelAccountId {account_id!r} names no channel account",
            field="channelAccountId",
            value=account_id,
        )
    return view.account, view.channel


def _fingerprint(
    direction: Direction,
    senders: Iterable[Participant],
    recipients: Iterable[Participant],
    text: str,
    integration_thread_id: str | None,
) -> tuple[object, ...]:
    # D2: what makes two publishes "the same message"; names and timestamps may differ between retries.
    return (
        direction,
        tuple(sorted({p.delivery_identifier for p in senders})),
        tuple(sorted({p.delivery_identifier for p in recipients})),
        text,
        integration_thread_id,
    )


def _decide_publish(view: View, command: PublishMessage, now: datetime, policy: Policy, new_id: IdFactory) -> Decision:
    account, channel = _account_and_channel(view, command.channel_account_id)
    recipients = _recipients(command, account)
    if command.integration_idempotency_id is not None and view.duplicate is not None:
        return _duplicate(view, view.duplicate, command, recipients)
    check_authorized(account)
    check_types_allowed(command.senders, channel, "senders", "V5")
    check_types_allowed(recipients, channel, "recipients", "V5")
    key_set = _counterparts(account, (*command.senders, *recipients))
    by_integration = channel.capabilities.threading_model is ThreadingModel.INTEGRATION_THREAD_ID
    if by_integration and command.integration_thread_id is None:
        raise fail(
            "integrationThreadId", None, "is required: the channel's threadingModel is INTEGRATION_THREAD_ID", "V6"
        )
    if not by_integration and not key_set:
        raise fail("recipients", [], "leave an empty key: every participant is the account itself", "R0")
    message = Message(
        id=new_id("message"),
        thread_id="",
        channel_account_id=account.id,
        direction=command.direction,
        senders=command.senders,
        recipients=recipients,
        text=command.text,
        timestamp=command.timestamp or now,
        received_at=now,
        origin=MessageOrigin.INTEGRATION,
        integration_thread_id=command.integration_thread_id,
        integration_idempotency_id=command.integration_idempotency_id,
    )
    if by_integration:
        return _route_by_integration_thread(view, account, message, key_set, now, new_id)
    if view.open_thread is not None:
        return _append(view, view.open_thread, message, Outcome.APPENDED, "R4" if _incoming(message) else "R3", now)
    closed = view.latest_closed_thread
    if (
        _incoming(message)
        and closed is not None
        and closed.closed_at is not None
        and reopen_elapsed(closed.closed_at, now, message.timestamp, policy) < policy.reopen_window
    ):
        return _append(view, closed, message, Outcome.REOPENED, "R4", now)
    # The key's text is only needed for a new thread; appends (the steady state) skip building it.
    return _create(account, thread_key(key_set), None, message, "R4" if _incoming(message) else "R3", now, new_id)


def _incoming(message: Message) -> bool:
    return message.direction is Direction.INCOMING


def _duplicate(view: View, original: Message, command: PublishMessage, recipients: tuple[Participant, ...]) -> Decision:
    then = _fingerprint(
        original.direction, original.senders, original.recipients, original.text, original.integration_thread_id
    )
    now = _fingerprint(command.direction, command.senders, recipients, command.text, command.integration_thread_id)
    if then != now:
        raise IdempotencyConflictError(
            f"integrationIdempotencyId {command.integration_idempotency_id!r} was already used for message "
            f"{original.id!r} with a different payload (D2)",
            field="integrationIdempotencyId",
            value=command.integration_idempotency_id,
            rule="D2",
        )
    thread = view.duplicate_thread
    return Decision(
        Outcome.DUPLICATE,
        channel_id=view.channel.id if view.channel else None,
        channel_account_id=original.channel_account_id,
        thread_id=original.thread_id,
        ticket_id=None if thread is None else thread.ticket_id,
        message_id=original.id,
    )


def _route_by_integration_thread(
    view: View,
    account: ChannelAccount,
    message: Message,
    key_set: set[DeliveryIdentifier],
    now: datetime,
    new_id: IdFactory,
) -> Decision:
    thread = view.integration_thread
    if thread is None:
        return _create(account, thread_key(key_set), message.integration_thread_id, message, "I1", now, new_id)
    if thread.is_open:
        return _append(view, thread, message, Outcome.APPENDED, "I1", now)
    if _incoming(message):
        return _append(view, thread, message, Outcome.REOPENED, "I1", now)
    raise ThreadNotOpenError(
        f"integrationThreadId {message.integration_thread_id!r} names thread {thread.id!r}, which is closed (I1)",
        field="integrationThreadId",
        value=message.integration_thread_id,
        rule="I1",
    )


def _append(view: View, thread: Thread, message: Message, outcome: Outcome, rule: str, now: datetime) -> Decision:
    """Put ``message`` on ``thread``, reopening it (and its ticket) first when the outcome says so."""
    events: list[Event] = []
    ticket = view.ticket_of(thread)
    if outcome is Outcome.REOPENED:
        thread, ticket = reopen(thread, ticket, rule, events)
    thread = thread.touched(now)
    message = message.on_thread(thread.id)
    events.append(MessageAppended(thread.id, rule, message.id, message.direction))
    tickets = () if ticket is None or outcome is not Outcome.REOPENED else (ticket,)
    return _message_decision(outcome, thread, tickets, message, events)


def _create(
    account: ChannelAccount,
    key: str,
    integration_thread_id: str | None,
    message: Message,
    rule: str,
    now: datetime,
    new_id: IdFactory,
) -> Decision:
    thread_id = new_id("thread")
    events: list[Event] = [ThreadCreated(thread_id, rule, account.id, key, integration_thread_id)]
    tickets: tuple[Ticket, ...] = ()
    if account.creates_tickets:
        tickets = (Ticket(id=new_id("ticket"), thread_id=thread_id),)
        events.append(TicketCreated(thread_id, "R6", tickets[0].id))
    thread = Thread(
        id=thread_id,
        channel_account_id=account.id,
        key=key,
        created_at=now,
        integration_thread_id=integration_thread_id,
        ticket_id=tickets[0].id if tickets else None,
        latest_message_at=now,
    )
    message = message.on_thread(thread.id)
    events.append(MessageAppended(thread.id, rule, message.id, message.direction))
    return _message_decision(Outcome.CREATED, thread, tickets, message, events)


def _message_decision(
    outcome: Outcome, thread: Thread, tickets: tuple[Ticket, ...], message: Message, events: list[Event]
) -> Decision:
    return Decision(
        outcome,
        Changes(threads=(thread,), tickets=tickets, message=message),
        tuple(events),
        channel_account_id=thread.channel_account_id,
        thread_id=thread.id,
        ticket_id=thread.ticket_id,
        message_id=message.id,
    )


def _agent_message(
    account: ChannelAccount,
    recipients: tuple[Participant, ...],
    text: str,
    now: datetime,
    new_id: IdFactory,
    integration_thread_id: str | None,
) -> Message:
    return Message(
        id=new_id("message"),
        thread_id="",
        channel_account_id=account.id,
        direction=Direction.OUTGOING,
        senders=(Participant(account.delivery_identifier, account.name),),
        recipients=recipients,
        text=text,
        timestamp=now,
        received_at=now,
        origin=MessageOrigin.AGENT,
        integration_thread_id=integration_thread_id,
    )


def _check_outgoing_allowed(account: ChannelAccount, channel: Channel, *, conversation_start: bool) -> None:
    check_authorized(account)
    capabilities = channel.capabilities
    missing = "allowOutgoingMessages" if not capabilities.allow_outgoing_messages else None
    if conversation_start and missing is None and not capabilities.allow_conversation_start:
        missing = "allowConversationStart"
    if missing is not None:
        raise NotAllowedError(
            f"channel {channel.id!r} does not allow this: capabilities.{missing} is false (R3)",
            field=f"capabilities.{missing}",
            value=False,
            rule="R3",
        )


def _with_webhook(decision: Decision, channel: Channel, thread: Thread) -> Decision:
    """R5: an agent's message is announced to the integration with the thread id it must use."""
    message = decision.changes.message
    assert message is not None
    thread_ref = thread.integration_thread_id if thread.integration_thread_id is not None else thread.id
    webhook = OutgoingMessageCreated(channel.id, message, thread_ref)
    return attrs.evolve(decision, events=(*decision.events, webhook), channel_id=channel.id)


def _decide_reply(view: View, command: Reply, now: datetime, new_id: IdFactory) -> Decision:
    thread = view.thread
    if thread is None or view.account is None or view.channel is None:
        raise NotFoundError(
            f"threadId {command.thread_id!r} names no thread", field="threadId", value=command.thread_id
        )
    account, channel = view.account, view.channel
    _check_outgoing_allowed(account, channel, conversation_start=False)
    if not thread.is_open:
        state = "archived" if thread.archived else "closed"
        raise ThreadNotOpenError(
            f"threadId {thread.id!r} is {state}: outgoing messages go only to open threads (R3)",
            field="threadId",
            value=thread.id,
            rule="R3",
        )
    recipients = tuple(Participant(i) for i in key_identifiers(thread.key))
    message = _agent_message(account, recipients, command.text, now, new_id, thread.integration_thread_id)
    decision = _append(view, thread, message, Outcome.APPENDED, "R3", now)
    return _with_webhook(decision, channel, thread)


def _decide_start(view: View, command: StartConversation, now: datetime, new_id: IdFactory) -> Decision:
    account, channel = _account_and_channel(view, command.channel_account_id)
    if channel.capabilities.threading_model is ThreadingModel.INTEGRATION_THREAD_ID:
        raise NotAllowedError(
            f"channel {channel.id!r} uses INTEGRATION_THREAD_ID: only the integration can name a thread (I1)",
            field="capabilities.threadingModel",
            value=channel.capabilities.threading_model.value,
            rule="I1",
        )
    check_types_allowed(command.recipients, channel, "recipients", "V5")
    _check_outgoing_allowed(account, channel, conversation_start=True)
    key_set = _counterparts(account, command.recipients)
    if not key_set:
        raise fail(
            "recipients",
            [str(p.delivery_identifier) for p in command.recipients],
            "leave an empty key: every recipient is the account itself",
            "R0",
        )
    message = _agent_message(account, command.recipients, command.text, now, new_id, None)
    if view.open_thread is not None:
        decision = _append(view, view.open_thread, message, Outcome.APPENDED, "R3", now)
    else:
        decision = _create(account, thread_key(key_set), None, message, "R3", now, new_id)
    thread = decision.changes.threads[0]
    return _with_webhook(decision, channel, thread)
