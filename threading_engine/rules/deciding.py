"""Step 3: the decision for a normalized command, given the view the store loaded for it."""

from __future__ import annotations

from datetime import datetime

from ..commands import (
    ArchiveChannel,
    ArchiveChannelAccount,
    Command,
    CompleteStagingToken,
    CreateChannel,
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
from ..decisions import Decision, Policy, View, ViewQuery
from ..lifecycle import decide_thread_command
from .agents import decide_reply, decide_start
from .channels import (
    IdFactory,
    decide_archive_account,
    decide_archive_channel,
    decide_create_account,
    decide_create_channel,
    decide_update_account,
    decide_update_channel,
)
from .normalizing import not_a_command
from .publishing import decide_publish
from .remembered import Memos
from .staging import decide_complete_token, decide_create_token
from .statuses import decide_message_status


def decide(
    view: View,
    command: Command,
    now: datetime,
    policy: Policy,
    new_id: IdFactory,
    planned: ViewQuery | None = None,
    memos: Memos | None = None,
) -> Decision:
    """The decision for a normalized ``command`` given ``view``; raises a ThreadingError to reject it.

    ``planned``, the query :func:`plan` made for this command with the same account, lets a message reuse the
    key computed there; ``memos``, an engine's, lets it reuse values built for earlier commands. Neither
    changes the decision.
    """
    if isinstance(command, PublishMessage):
        return decide_publish(view, command, now, policy, new_id, planned, memos)
    if isinstance(command, Reply):
        return decide_reply(view, command, now, new_id, memos)
    if isinstance(command, StartConversation):
        return decide_start(view, command, now, new_id, planned)
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
    if isinstance(command, UpdateMessageStatus):
        return decide_message_status(view, command)
    if isinstance(command, ArchiveChannel):
        return decide_archive_channel(view, command, now)
    if isinstance(command, ArchiveChannelAccount):
        return decide_archive_account(view, command, now)
    if isinstance(command, CreateStagingToken):
        return decide_create_token(view, command, now, new_id)
    if isinstance(command, CompleteStagingToken):
        return decide_complete_token(view, command, now, new_id)
    return not_a_command(command)
