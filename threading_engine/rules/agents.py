"""Agents' messages: replies on open threads and conversation starts (R3), announced to the integration (R5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from ..attachments import Attachment, check_agent_attachments
from ..commands import Reply, StartConversation
from ..decisions import APPENDED, Decision, View, ViewQuery
from ..errors import NotAllowedError, ThreadNotOpenError
from ..events import OutgoingMessageCreated
from ..identifiers import key_identifiers, key_part
from ..model import (
    BY_INTEGRATION_THREAD_ID,
    FROM_AGENT,
    OUTGOING,
    Channel,
    ChannelAccount,
    MessageByPosition,
    Participant,
)
from ..positional import by_position
from ..validation import check_takes_messages, check_types_allowed, fail, not_found
from .channels import IdFactory
from .placing import Placement, account_and_channel, append, create, message_decision, planned_key
from .planning import message_key
from .remembered import Memos

# Built for every agent's message: by position (see ``positional``).
_OutgoingMessageCreated = by_position(
    OutgoingMessageCreated, "channel_id", "message", "channel_integration_thread_id", "portal_id"
)


def _agent_decision(
    placement: Placement,
    account: ChannelAccount,
    channel: Channel,
    message_id: str,
    recipients: tuple[Participant, ...],
    text: str,
    now: datetime,
    integration_thread_id: str | None,
    attachments: tuple[Attachment, ...],
    actor_id: str | None,
    rich_text: str | None = None,
) -> Decision:
    """An agent's message on its placed thread, announced to the integration (R5) with the thread id it must use."""
    outcome, thread, tickets, events = placement
    sender = Participant(account.delivery_identifier, name=account.name)
    message = MessageByPosition(
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
    if attachments or actor_id is not None or rich_text is not None:
        message = attrs.evolve(message, attachments=attachments, actor_id=actor_id, rich_text=rich_text)
    thread_ref = thread.integration_thread_id if thread.integration_thread_id is not None else thread.id
    events.append(_OutgoingMessageCreated(channel.id, message, thread_ref, account.portal_id))
    return message_decision(outcome, thread, tickets, message, events, channel.id)


def _check_outgoing_allowed(account: ChannelAccount, channel: Channel, *, conversation_start: bool) -> None:
    check_takes_messages(account, channel)
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


def _key_participants(key: str, memos: Memos | None) -> tuple[Participant, ...]:
    """The participants a key stands for: a reply's recipients. Remembered, as agents reply on the same threads."""
    if memos is None:
        return _participants_of(key)
    participants = memos.key_participants.get(key)
    if participants is None:
        participants = memos.key_participants.remember(key, _participants_of(key))
    return participants


def _named(participants: tuple[Participant, ...], names: Mapping[str, str] | None) -> tuple[Participant, ...]:
    """N1: each participant with the name the thread last gave it, if any."""
    if not names:
        return participants
    return tuple(
        Participant(delivery_identifier=p.delivery_identifier, name=names.get(key_part(p.delivery_identifier), p.name))
        for p in participants
    )


def _participants_of(key: str) -> tuple[Participant, ...]:
    return tuple(Participant(identifier) for identifier in key_identifiers(key))


def decide_reply(view: View, command: Reply, now: datetime, new_id: IdFactory, memos: Memos | None) -> Decision:
    thread = view.thread
    if thread is None or view.account is None or view.channel is None:
        raise not_found("threadId", command.thread_id, "thread", "R3")
    account, channel = view.account, view.channel
    _check_outgoing_allowed(account, channel, conversation_start=False)
    check_agent_attachments(command.attachments, channel.capabilities)
    if not thread.is_open:
        state = "archived" if thread.archived else "closed"
        raise ThreadNotOpenError(
            f"threadId {thread.id!r} is {state}: outgoing messages go only to open threads (R3)",
            field="threadId",
            value=thread.id,
            rule="R3",
        )
    recipients = _named(_key_participants(thread.key, memos), view.participant_names)
    message_id = new_id("message")
    placement = append(view, thread, APPENDED, "R3", now, message_id, OUTGOING)
    return _agent_decision(
        placement,
        account,
        channel,
        message_id,
        recipients,
        command.text,
        now,
        thread.integration_thread_id,
        command.attachments,
        command.actor_id,
        command.rich_text,
    )


def decide_start(
    view: View, command: StartConversation, now: datetime, new_id: IdFactory, planned: ViewQuery | None
) -> Decision:
    account, channel = account_and_channel(view, command.channel_account_id)
    if channel.capabilities.threading_model is BY_INTEGRATION_THREAD_ID:
        raise NotAllowedError(
            f"channel {channel.id!r} uses INTEGRATION_THREAD_ID: only the integration can name a thread (I1)",
            field="capabilities.threadingModel",
            value=channel.capabilities.threading_model.value,
            rule="I1",
        )
    check_types_allowed(command.recipients, channel, "recipients", "V5")
    _check_outgoing_allowed(account, channel, conversation_start=True)
    check_agent_attachments(command.attachments, channel.capabilities)
    key = planned_key(planned) or message_key(account, command.recipients)
    if not key:
        raise fail(
            "recipients",
            [str(p.delivery_identifier) for p in command.recipients],
            "leave an empty key: every recipient is the account itself",
            "R0",
        )
    message_id = new_id("message")
    if view.open_thread is not None:
        placement = append(view, view.open_thread, APPENDED, "R3", now, message_id, OUTGOING)
    else:
        placement = create(account, key, None, "R3", now, new_id, message_id, OUTGOING)
    return _agent_decision(
        placement,
        account,
        channel,
        message_id,
        command.recipients,
        command.text,
        now,
        None,
        command.attachments,
        command.actor_id,
        command.rich_text,
    )
