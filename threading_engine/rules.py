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

import functools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import attrs

from .commands import (
    Command,
    CreateChannel,
    CreateChannelAccount,
    PublishMessage,
    Reply,
    StartConversation,
    ThreadAction,
    ThreadCommand,
    UpdateChannel,
    UpdateChannelAccount,
)
from .decisions import APPENDED, CREATED, REOPENED, Changes, Decision, Outcome, Policy, ReopenClock, View, ViewQuery
from .errors import IdempotencyConflictError, NotAllowedError, NotFoundError, ThreadNotOpenError, ValidationError
from .events import Event, MessageAppended, OutgoingMessageCreated, ThreadCreated, TicketCreated
from .identifiers import KEY_SEPARATOR, DeliveryIdentifier, key_identifiers, key_part
from .lifecycle import THREAD_COMMAND_RULES, decide_thread_command, reopen
from .model import (
    BY_INTEGRATION_THREAD_ID,
    FROM_AGENT,
    FROM_INTEGRATION,
    INCOMING,
    OUTGOING,
    THREAD_OPEN,
    Channel,
    ChannelAccount,
    Direction,
    Message,
    Participant,
    Thread,
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
from .storable import (
    MAX_EXTERNAL_ID_LENGTH,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    has_surrogate,
    is_plain_id,
    shown,
)
from .validation import (
    are_known_canonical,
    check_authorized,
    check_id,
    check_moment,
    check_participants,
    check_reference,
    check_text,
    check_types_allowed,
    fail,
    not_found,
)

__all__ = ["IdFactory", "decide", "message_key", "normalize", "plan", "reopen_elapsed"]


# -- step 1: normalize ------------------------------------------------------------------------------------


def normalize(command: Command) -> Command:
    """Validate ``command`` without state and return it in canonical form (V1-V6, and ``storable``'s limits)."""
    if type(command) is PublishMessage and _is_canonical_publish(command):
        return command
    normalizer = _NORMALIZERS.get(type(command))
    if normalizer is None:
        normalizer = _normalizer_for(type(command))
    return normalizer(command)


def _normalizer_for(kind: type) -> Callable[..., Command]:
    """The normalizer of a class the table does not list: a subclass of a command takes its parent's, so that a
    subclass is validated as fully as its parent; anything else is not a command."""
    for parent in kind.__mro__[1:]:
        normalizer = _NORMALIZERS.get(parent)
        if normalizer is not None:
            return normalizer
    return _not_a_command


def _not_a_command(command: object) -> NoReturn:
    raise ValidationError(f"command {shown(command)} is not a command the engine knows", field="command", value=command)


def _normalize_publish(command: PublishMessage) -> PublishMessage:
    account_id = check_reference(command.channel_account_id, "channelAccountId", "channel account", "V5")
    if not isinstance(command.direction, Direction):
        raise fail("messageDirection", command.direction, "is not INCOMING or OUTGOING", "V5")
    senders = check_participants(command.senders, "senders")
    if not senders:
        raise fail("senders", [], "needs at least one sender", "V5")
    normalized = PublishMessage(
        account_id,
        command.direction,
        senders,
        check_text(command.text, "text", limit=MAX_TEXT_LENGTH),
        check_participants(command.recipients, "recipients"),
        None if command.timestamp is None else check_moment(command.timestamp, "timestamp"),
        _optional_id(command.integration_thread_id, "integrationThreadId", "V6"),
        _optional_id(command.integration_idempotency_id, "integrationIdempotencyId", "D1"),
    )
    # Always the rebuilt command: it may equal ``command`` and still differ, since a plain string equals its
    # IdentifierType. (A canonical command never gets here: ``normalize`` returns it as it is.)
    return normalized


def _is_canonical_publish(command: PublishMessage) -> bool:
    """Whether the checks of :func:`_normalize_publish` would pass ``command`` unchanged, as they do for nearly
    every message, decided in one go; ``False`` only means "check in full", which also names what is wrong.
    Every ``storable`` rule is decided here too: a lone surrogate or a time without a UTC form never passes.
    """
    recipients, timestamp, text = command.recipients, command.timestamp, command.text
    thread_ref, idempotency_id = command.integration_thread_id, command.integration_idempotency_id
    account_id = command.channel_account_id
    # ``storable``'s is_plain_id, is_plain_text and is_plain_moment, written out: this runs for every message,
    # and a call costs more than each check (``tests/test_storable.py`` holds these to the full checks).
    return (
        account_id.__class__ is str
        and 0 < len(account_id) <= MAX_ID_LENGTH
        and account_id.isascii()
        and account_id.isprintable()
        and not account_id.isspace()
        and isinstance(command.direction, Direction)
        and bool(command.senders)
        and are_known_canonical(command.senders)
        and (are_known_canonical(recipients) if recipients else type(recipients) is tuple)
        and isinstance(text, str)
        and len(text) <= MAX_TEXT_LENGTH
        and (text.isascii() or not has_surrogate(text))
        and (
            timestamp is None
            or (isinstance(timestamp, datetime) and timestamp.tzinfo is UTC and 1 < timestamp.year < 9999)
        )
        and (thread_ref is None or is_plain_id(thread_ref, MAX_EXTERNAL_ID_LENGTH))
        and (
            idempotency_id is None
            or (
                idempotency_id.__class__ is str
                and 0 < len(idempotency_id) <= MAX_EXTERNAL_ID_LENGTH
                and idempotency_id.isascii()
                and idempotency_id.isprintable()
                and not idempotency_id.isspace()
            )
        )
    )


def _optional_id(value: object, field: str, rule: str) -> str | None:
    if value is None:
        return None
    return check_id(value, field, rule=rule, limit=MAX_EXTERNAL_ID_LENGTH)


def _normalize_start(command: StartConversation) -> StartConversation:
    check_reference(command.channel_account_id, "channelAccountId", "channel account", "R3")
    recipients = check_participants(command.recipients, "recipients")
    if not recipients:
        raise fail("recipients", [], "needs at least one recipient", "R3")
    text = check_text(command.text, "text", limit=MAX_TEXT_LENGTH)
    # The checks hand back what they were given when it is canonical: no new command then.
    if recipients is command.recipients:
        return command
    return attrs.evolve(command, recipients=recipients, text=text)


def _normalize_reply(command: Reply) -> Reply:
    check_reference(command.thread_id, "threadId", "thread", "R3")
    check_text(command.text, "text", limit=MAX_TEXT_LENGTH)  # returns the text itself: no copy needed
    return command


def _normalize_thread_command(command: ThreadCommand) -> ThreadCommand:
    action = getattr(type(command), "action", None)
    if not isinstance(action, ThreadAction):
        _not_a_command(command)
    check_reference(command.thread_id, "threadId", "thread", THREAD_COMMAND_RULES[action])
    return command


_NORMALIZERS: dict[type, Callable[..., Command]] = {
    CreateChannel: normalize_create_channel,
    UpdateChannel: normalize_update_channel,
    CreateChannelAccount: normalize_create_account,
    UpdateChannelAccount: normalize_update_account,
    PublishMessage: _normalize_publish,
    StartConversation: _normalize_start,
    Reply: _normalize_reply,
    ThreadCommand: _normalize_thread_command,
    **{kind: _normalize_thread_command for kind in ThreadCommand.__subclasses__()},
}


# -- step 2: plan -----------------------------------------------------------------------------------------


def plan(command: Command, account: ChannelAccount | None = None, channel: Channel | None = None) -> ViewQuery:
    """What ``command`` (normalized) must read. Messages need their account and channel to compute the key."""
    if isinstance(command, PublishMessage | StartConversation):
        account_id = command.channel_account_id
        if account is None or channel is None:
            return ViewQuery(channel_account_id=account_id)
        if isinstance(command, StartConversation):
            return ViewQuery(channel_account_id=account_id, key=message_key(account, command.recipients))
        idempotency_id = command.integration_idempotency_id
        if channel.capabilities.threading_model is BY_INTEGRATION_THREAD_ID:
            return ViewQuery(
                channel_account_id=account_id,
                integration_thread_id=command.integration_thread_id,
                idempotency_id=idempotency_id,
            )
        # The recipients an incoming message defaults to (the account itself) would leave the key anyway.
        key = message_key(account, (*command.senders, *command.recipients))
        # Positional, as on every per-message path: keyword arguments cost a lookup each.
        return ViewQuery(None, account_id, None, key, None, idempotency_id)
    if isinstance(command, Reply | ThreadCommand):
        return ViewQuery(thread_id=command.thread_id)
    if isinstance(command, UpdateChannel):
        return ViewQuery(channel_id=command.channel_id)
    if isinstance(command, CreateChannelAccount):
        return ViewQuery(channel_id=command.channel_id, account_identifier=command.delivery_identifier)
    if isinstance(command, UpdateChannelAccount):
        return ViewQuery(channel_account_id=command.channel_account_id)
    return ViewQuery()


def message_key(account: ChannelAccount, participants: Iterable[Participant]) -> str:
    """R0: the set of the participants' identifiers minus the account's own, as key text (see ``thread_key``)."""
    # Built from each identifier's part of the text: strings hash and sort without calling back into Python.
    parts = set()
    for participant in participants:
        parts.add(key_part(participant.delivery_identifier))
    parts.discard(key_part(account.delivery_identifier))
    return KEY_SEPARATOR.join(sorted(parts))


def _recipients(command: PublishMessage, account: ChannelAccount) -> tuple[Participant, ...]:
    # An incoming message is addressed to the account unless it says otherwise (SPEC section 8).
    if command.recipients or command.direction is OUTGOING:
        return command.recipients
    # One tuple per account, shared by its messages, rather than one each.
    identifier = account.delivery_identifier
    remembered = _accounts_themselves.get(account.id)
    # By identity: a store may reuse an account id, and then the identifier object is another one.
    if remembered is not None and remembered[0] is identifier:
        return remembered[1]
    recipients = (Participant(identifier),)
    if len(_accounts_themselves) >= _MAX_ACCOUNTS_REMEMBERED:
        _accounts_themselves.clear()  # a crude bound: results never depend on this memo
    _accounts_themselves[account.id] = (identifier, recipients)
    return recipients


_accounts_themselves: dict[str, tuple[DeliveryIdentifier, tuple[Participant, ...]]] = {}
_MAX_ACCOUNTS_REMEMBERED = 10_000


# -- step 3: decide ---------------------------------------------------------------------------------------

# Where a message goes: the outcome, the thread as it will be stored, the tickets that change, and the events
# so far (the message's own MESSAGE_APPENDED last). The message itself is built once its thread is known.
_Placement = tuple[Outcome, Thread, tuple[Ticket, ...], list[Event]]


def decide(
    view: View, command: Command, now: datetime, policy: Policy, new_id: IdFactory, planned: ViewQuery | None = None
) -> Decision:
    """The decision for a normalized ``command`` given ``view``; raises a ThreadingError to reject it.

    ``planned``, the query :func:`plan` made for this command with the same account, lets a message reuse the
    key computed there.
    """
    if isinstance(command, PublishMessage):
        return _decide_publish(view, command, now, policy, new_id, planned)
    if isinstance(command, Reply):
        return _decide_reply(view, command, now, new_id)
    if isinstance(command, StartConversation):
        return _decide_start(view, command, now, new_id, planned)
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
    return _not_a_command(command)


def reopen_elapsed(closed_at: datetime, now: datetime, timestamp: datetime, policy: Policy) -> timedelta:
    """R4: time since a thread closed, by the policy's clock; a clock behind ``closed_at`` counts as zero."""
    measured_at = now if policy.reopen_clock is ReopenClock.ARRIVAL else min(timestamp, now)
    return max(measured_at - closed_at, timedelta(0))


def _account_and_channel(view: View, account_id: str) -> tuple[ChannelAccount, Channel]:
    if view.account is None or view.channel is None:
        raise _no_account(account_id, "R3")
    return view.account, view.channel


def _planned_key(planned: ViewQuery | None) -> str | None:
    """The key :func:`plan` computed for the message, if the caller passed the plan on."""
    return None if planned is None else planned.key


def _no_account(account_id: str, rule: str) -> NotFoundError:
    return not_found("channelAccountId", account_id, "channel account", rule)


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
        frozenset(key_part(p.delivery_identifier) for p in senders),
        frozenset(key_part(p.delivery_identifier) for p in recipients),
        text,
        integration_thread_id,
    )


def _decide_publish(
    view: View, command: PublishMessage, now: datetime, policy: Policy, new_id: IdFactory, planned: ViewQuery | None
) -> Decision:
    account, channel = view.account, view.channel
    if account is None or channel is None:
        raise _no_account(command.channel_account_id, "V5")
    recipients = _recipients(command, account)
    if command.integration_idempotency_id is not None and view.duplicate is not None:
        return _duplicate(view, view.duplicate, command, recipients)
    check_authorized(account)
    check_types_allowed(command.senders, channel, "senders", "V5")
    check_types_allowed(recipients, channel, "recipients", "V5")
    by_integration = channel.capabilities.threading_model is BY_INTEGRATION_THREAD_ID
    if by_integration and command.integration_thread_id is None:
        raise fail(
            "integrationThreadId", None, "is required: the channel's threadingModel is INTEGRATION_THREAD_ID", "V6"
        )
    # Under INTEGRATION_THREAD_ID the key is only needed for a new thread, and computed then.
    key = ""
    if not by_integration:
        key = _planned_key(planned) or message_key(account, (*command.senders, *recipients))
    if not by_integration and not key:
        raise fail("recipients", [], "leave an empty key: every participant is the account itself", "R0")
    message_id = new_id("message")
    timestamp = command.timestamp or now
    if by_integration:
        placement = _place_by_integration_thread(view, account, command, recipients, message_id, now, new_id)
    else:
        placement = _place_by_key(view, account, key, command.direction, message_id, timestamp, now, policy, new_id)
    outcome, thread, tickets, events = placement
    message = Message(
        message_id,
        thread.id,
        account.id,
        command.direction,
        command.senders,
        recipients,
        command.text,
        timestamp,
        now,  # received_at
        FROM_INTEGRATION,
        command.integration_thread_id,
        command.integration_idempotency_id,
    )
    return _message_decision(outcome, thread, tickets, message, events)


def _place_by_key(
    view: View,
    account: ChannelAccount,
    key: str,
    direction: Direction,
    message_id: str,
    timestamp: datetime,
    now: datetime,
    policy: Policy,
    new_id: IdFactory,
) -> _Placement:
    """R4 (R3 for OUTGOING): the key's open thread, else a recently closed one for INCOMING, else a new one."""
    incoming = direction is INCOMING
    rule = "R4" if incoming else "R3"
    if view.open_thread is not None:
        return _append(view, view.open_thread, APPENDED, rule, now, message_id, direction)
    closed = view.latest_closed_thread
    if (
        incoming
        and closed is not None
        and closed.closed_at is not None
        and reopen_elapsed(closed.closed_at, now, timestamp, policy) < policy.reopen_window
    ):
        return _append(view, closed, REOPENED, "R4", now, message_id, direction)
    return _create(account, key, None, rule, now, new_id, message_id, direction)


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


def _place_by_integration_thread(
    view: View,
    account: ChannelAccount,
    command: PublishMessage,
    recipients: tuple[Participant, ...],
    message_id: str,
    now: datetime,
    new_id: IdFactory,
) -> _Placement:
    """I1: the live thread of the integration thread id (reopened for INCOMING), else a new one."""
    thread = view.integration_thread
    direction = command.direction
    if thread is None:
        key = message_key(account, (*command.senders, *recipients))
        return _create(account, key, command.integration_thread_id, "I1", now, new_id, message_id, direction)
    if thread.is_open:
        return _append(view, thread, APPENDED, "I1", now, message_id, direction)
    if direction is INCOMING:
        return _append(view, thread, REOPENED, "I1", now, message_id, direction)
    raise ThreadNotOpenError(
        f"integrationThreadId {command.integration_thread_id!r} names thread {thread.id!r}, which is closed (I1)",
        field="integrationThreadId",
        value=command.integration_thread_id,
        rule="I1",
    )


def _append(
    view: View, thread: Thread, outcome: Outcome, rule: str, now: datetime, message_id: str, direction: Direction
) -> _Placement:
    """Put message ``message_id`` on ``thread``, reopening it (and its ticket) first when the outcome says so."""
    events: list[Event] = []
    tickets: tuple[Ticket, ...] = ()
    if outcome is REOPENED:
        thread, ticket = reopen(thread, view.ticket_of(thread), rule, events)
        if ticket is not None:
            tickets = (ticket,)
    thread = thread.touched(now)
    events.append(MessageAppended(thread.id, rule, message_id, direction))
    return outcome, thread, tickets, events


def _create(
    account: ChannelAccount,
    key: str,
    integration_thread_id: str | None,
    rule: str,
    now: datetime,
    new_id: IdFactory,
    message_id: str,
    direction: Direction,
) -> _Placement:
    thread_id = new_id("thread")
    events: list[Event] = [ThreadCreated(thread_id, rule, account.id, key, integration_thread_id)]
    tickets: tuple[Ticket, ...] = ()
    if account.creates_tickets:
        tickets = (Ticket(id=new_id("ticket"), thread_id=thread_id),)
        events.append(TicketCreated(thread_id, "R6", tickets[0].id))
    ticket_id = tickets[0].id if tickets else None
    # Positional (see ``plan``): OPEN, not archived, never closed, its latest message now.
    thread = Thread(thread_id, account.id, key, now, THREAD_OPEN, False, None, integration_thread_id, ticket_id, now)
    events.append(MessageAppended(thread_id, rule, message_id, direction))
    return CREATED, thread, tickets, events


def _message_decision(
    outcome: Outcome,
    thread: Thread,
    tickets: tuple[Ticket, ...],
    message: Message,
    events: list[Event],
    channel_id: str | None = None,
) -> Decision:
    return Decision(
        outcome,
        Changes(None, None, (thread,), tickets, message),
        tuple(events),
        channel_id,
        thread.channel_account_id,
        thread.id,
        thread.ticket_id,
        message.id,
    )


def _agent_decision(
    placement: _Placement,
    account: ChannelAccount,
    channel: Channel,
    message_id: str,
    recipients: tuple[Participant, ...],
    text: str,
    now: datetime,
    integration_thread_id: str | None,
) -> Decision:
    """An agent's message on its placed thread, announced to the integration (R5) with the thread id it must use."""
    outcome, thread, tickets, events = placement
    sender = Participant(account.delivery_identifier, account.name)
    message = Message(
        message_id,
        thread.id,
        account.id,
        OUTGOING,
        (sender,),
        recipients,
        text,
        now,  # timestamp: an agent's message is sent when the engine takes it
        now,  # received_at
        FROM_AGENT,
        integration_thread_id,
    )
    thread_ref = thread.integration_thread_id if thread.integration_thread_id is not None else thread.id
    events.append(OutgoingMessageCreated(channel.id, message, thread_ref))
    return _message_decision(outcome, thread, tickets, message, events, channel.id)


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


@functools.lru_cache(maxsize=4096)
def _key_participants(key: str) -> tuple[Participant, ...]:
    """The participants a key stands for: a reply's recipients. Cached, as agents reply on the same threads."""
    return tuple(Participant(identifier) for identifier in key_identifiers(key))


def _decide_reply(view: View, command: Reply, now: datetime, new_id: IdFactory) -> Decision:
    thread = view.thread
    if thread is None or view.account is None or view.channel is None:
        raise not_found("threadId", command.thread_id, "thread", "R3")
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
    recipients = _key_participants(thread.key)
    message_id = new_id("message")
    placement = _append(view, thread, APPENDED, "R3", now, message_id, OUTGOING)
    return _agent_decision(
        placement, account, channel, message_id, recipients, command.text, now, thread.integration_thread_id
    )


def _decide_start(
    view: View, command: StartConversation, now: datetime, new_id: IdFactory, planned: ViewQuery | None
) -> Decision:
    account, channel = _account_and_channel(view, command.channel_account_id)
    if channel.capabilities.threading_model is BY_INTEGRATION_THREAD_ID:
        raise NotAllowedError(
            f"channel {channel.id!r} uses INTEGRATION_THREAD_ID: only the integration can name a thread (I1)",
            field="capabilities.threadingModel",
            value=channel.capabilities.threading_model.value,
            rule="I1",
        )
    check_types_allowed(command.recipients, channel, "recipients", "V5")
    _check_outgoing_allowed(account, channel, conversation_start=True)
    key = _planned_key(planned) or message_key(account, command.recipients)
    if not key:
        raise fail(
            "recipients",
            [str(p.delivery_identifier) for p in command.recipients],
            "leave an empty key: every recipient is the account itself",
            "R0",
        )
    message_id = new_id("message")
    if view.open_thread is not None:
        placement = _append(view, view.open_thread, APPENDED, "R3", now, message_id, OUTGOING)
    else:
        placement = _create(account, key, None, "R3", now, new_id, message_id, OUTGOING)
    return _agent_decision(placement, account, channel, message_id, command.recipients, command.text, now, None)
