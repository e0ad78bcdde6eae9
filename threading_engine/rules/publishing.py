"""Messages the integration publishes: idempotency (D1-D2), then the key's thread (R4) or the integration's
thread (I1). See the package's docstring for the routing as a picture."""

from __future__ import annotations

from datetime import datetime

import attrs

from ..commands import PublishMessage
from ..decisions import APPENDED, DUPLICATE, NO_CHANGES, REOPENED, Decision, Policy, View, ViewQuery
from ..errors import IdempotencyConflictError, ThreadNotOpenError
from ..identifiers import KEY_PREFIXES, key_part
from ..model import (
    BY_INTEGRATION_THREAD_ID,
    FROM_INTEGRATION,
    INCOMING,
    ChannelAccount,
    Direction,
    Message,
    MessageByPosition,
    Participant,
)
from ..validation import check_takes_messages, check_types_allowed, fail
from .channels import IdFactory
from .placing import (
    DecisionByPosition,
    MessageAppendedByPosition,
    Placement,
    append,
    create,
    message_decision,
    no_account,
    reopen_elapsed,
)
from .planning import message_key
from .remembered import Memos


def _own_recipients(account: ChannelAccount, memos: Memos | None) -> tuple[Participant, ...]:
    # An incoming message is addressed to the account unless it says otherwise (SPEC section 8).
    identifier = account.delivery_identifier
    if memos is None:
        return (Participant(identifier),)
    # One tuple per account, shared by its messages, rather than one each.
    remembered = memos.own_recipients.get(account.id)
    # By identity: a store may reuse an account id, and then the identifier object is another one.
    if remembered is not None and remembered[0] is identifier:
        return remembered[1]
    recipients = (Participant(identifier),)
    memos.own_recipients.remember(account.id, (identifier, recipients))
    return recipients


def _same_payload(original: Message, command: PublishMessage, recipients: tuple[Participant, ...]) -> bool:
    """D2: what makes two publishes "the same message"; names and timestamps may differ between retries."""
    return (
        original.direction is command.direction
        and original.text == command.text
        and original.integration_thread_id == command.integration_thread_id
        and original.attachments == command.attachments
        and original.rich_text == command.rich_text
        and _same_identifiers(original.senders, command.senders)
        and _same_identifiers(original.recipients, recipients)
    )


def _same_identifiers(these: tuple[Participant, ...], those: tuple[Participant, ...]) -> bool:
    """Whether two lists of participants name the same set of identifiers (by their key parts)."""
    if these is those:  # the account's own recipients, one tuple per account (``_own_recipients``)
        return True
    if len(these) == 1 and len(those) == 1:  # nearly every retry: no sets to build
        # ``key_part`` written out, twice: a call cost more than its body, and this runs for every retry.
        this, that = these[0].delivery_identifier, those[0].delivery_identifier
        return KEY_PREFIXES[this.type] + this.value == KEY_PREFIXES[that.type] + that.value
    return {key_part(p.delivery_identifier) for p in these} == {key_part(p.delivery_identifier) for p in those}


def decide_publish(
    view: View,
    command: PublishMessage,
    now: datetime,
    policy: Policy,
    new_id: IdFactory,
    planned: ViewQuery | None,
    memos: Memos | None,
) -> Decision:
    account, channel = view.account, view.channel
    if account is None or channel is None:
        raise no_account(command.channel_account_id, "V5")
    recipients = command.recipients
    if not recipients and command.direction is INCOMING:  # the account's own (written out: nearly every message)
        # The memo's hit written out, without a call; ``_own_recipients`` looks again and builds on a miss.
        remembered = None if memos is None else memos.own_recipients.get(account.id)
        if remembered is not None and remembered[0] is account.delivery_identifier:
            recipients = remembered[1]
        else:
            recipients = _own_recipients(account, memos)
    if command.integration_idempotency_id is not None and view.duplicate is not None:
        return _duplicate(view, view.duplicate, command, recipients)
    # The checks are called only when they would fail, so that a message that passes them (nearly every one)
    # makes no call: each call cost more than its test under callgrind.
    if channel.archived or account.archived or not account.authorized:
        check_takes_messages(account, channel)
    allowed = channel.capabilities.delivery_identifier_types
    for sender in command.senders:
        if sender.delivery_identifier.type not in allowed:
            check_types_allowed(command.senders, channel, "senders", "V5")
    for recipient in recipients:
        if recipient.delivery_identifier.type not in allowed:
            check_types_allowed(recipients, channel, "recipients", "V5")
    by_integration = channel.capabilities.threading_model is BY_INTEGRATION_THREAD_ID
    if by_integration and command.integration_thread_id is None:
        raise fail(
            "integrationThreadId", None, "is required: the channel's threadingModel is INTEGRATION_THREAD_ID", "V6"
        )
    # Under INTEGRATION_THREAD_ID the key is only needed for a new thread, and computed then.
    key = ""
    if not by_integration:
        key = (planned.key if planned is not None else None) or message_key(account, (*command.senders, *recipients))
    if not by_integration and not key:
        raise fail("recipients", [], "leave an empty key: every participant is the account itself", "R0")
    message_id = new_id("message")
    timestamp = command.timestamp or now
    if by_integration:
        placement = _place_by_integration_thread(view, account, command, recipients, message_id, now, new_id)
    else:
        placement = _place_by_key(view, account, key, command.direction, message_id, timestamp, now, policy, new_id)
    outcome, thread, tickets, events = placement
    message = MessageByPosition(
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
    if (
        command.attachments
        or command.rich_text is not None
        or command.in_reply_to_id is not None
        or command.actor_id is not None
    ):
        # Kept as given (attachments checked for shape only, V8); never a part of where the message lands.
        message = attrs.evolve(
            message,
            attachments=command.attachments,
            rich_text=command.rich_text,
            in_reply_to_id=command.in_reply_to_id,
            actor_id=command.actor_id,
        )
    return message_decision(outcome, thread, tickets, message, events)


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
) -> Placement:
    """R4 (R3 for OUTGOING): the key's open thread, else a recently closed one for INCOMING, else a new one."""
    incoming = direction is INCOMING
    rule = "R4" if incoming else "R3"
    if view.open_thread is not None:
        # ``append`` written out for the plain append, the most common placement: one call fewer.
        thread = view.open_thread.touched(now)
        return APPENDED, thread, (), [MessageAppendedByPosition(thread.id, rule, message_id, direction)]
    closed = view.latest_closed_thread
    if (
        incoming
        and closed is not None
        and closed.closed_at is not None
        and reopen_elapsed(closed.closed_at, now, timestamp, policy) < policy.reopen_window
    ):
        return append(view, closed, REOPENED, "R4", now, message_id, direction)
    return create(account, key, None, rule, now, new_id, message_id, direction)


def _duplicate(view: View, original: Message, command: PublishMessage, recipients: tuple[Participant, ...]) -> Decision:
    if not _same_payload(original, command, recipients):
        raise IdempotencyConflictError(
            f"integrationIdempotencyId {command.integration_idempotency_id!r} was already used for message "
            f"{original.id!r} with a different payload (D2)",
            field="integrationIdempotencyId",
            value=command.integration_idempotency_id,
            rule="D2",
        )
    thread = view.duplicate_thread
    return DecisionByPosition(
        DUPLICATE,
        NO_CHANGES,
        (),
        view.channel.id if view.channel else None,
        original.channel_account_id,
        original.thread_id,
        None if thread is None else thread.ticket_id,
        original.id,
    )


def _place_by_integration_thread(
    view: View,
    account: ChannelAccount,
    command: PublishMessage,
    recipients: tuple[Participant, ...],
    message_id: str,
    now: datetime,
    new_id: IdFactory,
) -> Placement:
    """I1: the live thread of the integration thread id (reopened for INCOMING), else a new one."""
    thread = view.integration_thread
    direction = command.direction
    if thread is None:
        key = message_key(account, (*command.senders, *recipients))
        return create(account, key, command.integration_thread_id, "I1", now, new_id, message_id, direction)
    if thread.is_open:
        return append(view, thread, APPENDED, "I1", now, message_id, direction)
    if direction is INCOMING:
        return append(view, thread, REOPENED, "I1", now, message_id, direction)
    raise ThreadNotOpenError(
        f"integrationThreadId {command.integration_thread_id!r} names thread {thread.id!r}, which is closed (I1)",
        field="integrationThreadId",
        value=command.integration_thread_id,
        rule="I1",
    )
