"""Step 2: what a command must read, and R0's key of a message."""

from __future__ import annotations

from collections.abc import Sequence

from ..commands import (
    UNSET,
    ArchiveChannel,
    ArchiveChannelAccount,
    Command,
    CompleteStagingToken,
    CreateChannelAccount,
    CreateStagingToken,
    PublishMessage,
    Reply,
    StartConversation,
    ThreadCommand,
    UpdateChannel,
    UpdateChannelAccount,
    UpdateMessageStatus,
)
from ..decisions import ViewQuery
from ..identifiers import KEY_PREFIXES, KEY_SEPARATOR, key_part
from ..model import BY_INTEGRATION_THREAD_ID, Channel, ChannelAccount, Participant
from ..positional import by_position

# Built for every message: by position (see ``positional``).
MessageViewQueryByPosition = by_position(
    ViewQuery, "channel_id", "channel_account_id", "thread_id", "key", "integration_thread_id", "idempotency_id"
)

# Commands that carry a message, as a tuple: a union written in the test would be built again on every call.
_MESSAGES = (PublishMessage, StartConversation)


def plan(command: Command, account: ChannelAccount | None = None, channel: Channel | None = None) -> ViewQuery:
    """What ``command`` (normalized) must read. Messages need their account and channel to compute the key."""
    if isinstance(command, _MESSAGES):
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
        recipients = command.recipients
        key = message_key(account, (*command.senders, *recipients) if recipients else command.senders)
        return MessageViewQueryByPosition(None, account_id, None, key, None, idempotency_id)
    if isinstance(command, Reply):  # a reply names its recipients as the thread last named them (N1)
        return ViewQuery(thread_id=command.thread_id, participant_names=True)
    if isinstance(command, ThreadCommand):
        return ViewQuery(thread_id=command.thread_id)
    if isinstance(command, UpdateMessageStatus):
        return ViewQuery(channel_id=command.channel_id, message_id=command.message_id)
    if isinstance(command, UpdateChannel):  # new capabilities must suit the accounts (V7)
        return ViewQuery(channel_id=command.channel_id, channel_identifier_types=command.capabilities is not UNSET)
    if isinstance(command, ArchiveChannel):
        return ViewQuery(channel_id=command.channel_id)
    if isinstance(command, CreateChannelAccount):
        return ViewQuery(channel_id=command.channel_id, account_identifier=command.delivery_identifier)
    if isinstance(command, CreateStagingToken):
        return ViewQuery(channel_id=command.channel_id)
    if isinstance(command, CompleteStagingToken):  # what an account creation reads (V2); the engine adds the token
        return ViewQuery(channel_id=command.channel_id, account_identifier=command.delivery_identifier)
    if isinstance(command, UpdateChannelAccount | ArchiveChannelAccount):
        return ViewQuery(channel_account_id=command.channel_account_id)
    return ViewQuery()


def message_key(account: ChannelAccount, participants: Sequence[Participant]) -> str:
    """R0: the set of the participants' identifiers minus the account's own, as key text (see ``thread_key``)."""
    if len(participants) == 1:  # most messages: one customer writing to the account, no set to build or sort
        # ``key_part`` written out, twice: this runs for every message, and each call cost more than its body.
        identifier, own = participants[0].delivery_identifier, account.delivery_identifier
        part = KEY_PREFIXES[identifier.type] + identifier.value
        return "" if part == KEY_PREFIXES[own.type] + own.value else part
    # Built from each identifier's part of the text: strings hash and sort without calling back into Python.
    parts = set()
    for participant in participants:
        parts.add(key_part(participant.delivery_identifier))
    parts.discard(key_part(account.delivery_identifier))
    return KEY_SEPARATOR.join(sorted(parts))
