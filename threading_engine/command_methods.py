"""The engine's methods named for its commands: each builds its command and hands it to ``execute``.

Kept apart from ``engine`` so that the engine's module holds what it does with a command, and this one the
vocabulary a caller writes in and the :class:`Result` each command returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

import attrs

from .attachments import Attachment
from .commands import (
    UNSET,
    ArchiveChannel,
    ArchiveChannelAccount,
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    CompleteStagingToken,
    CreateChannel,
    CreateChannelAccount,
    CreateStagingToken,
    PublishMessageByPosition,
    ReopenThread,
    Reply,
    RestoreThread,
    StartConversation,
    Unset,
    UpdateChannel,
    UpdateChannelAccount,
    UpdateMessageStatus,
)
from .decisions import Outcome
from .events import EventRecord, StagingTokenCreated
from .identifiers import DeliveryIdentifier
from .model import DEFAULT_PORTAL_ID, Capabilities, Direction, MessageStatus, Participant, StagingToken

ParticipantLike = Participant | DeliveryIdentifier


@attrs.frozen(slots=False)  # made for every command: see the note above ``decisions.ViewQuery``
class Result:
    """What a command did: its outcome, the ids it touched (``None`` where they do not apply), its events."""

    outcome: Outcome
    channel_id: str | None = None
    channel_account_id: str | None = None
    thread_id: str | None = None
    ticket_id: str | None = None
    message_id: str | None = None
    events: tuple[EventRecord, ...] = ()


class CommandMethods:
    """One method per command; :class:`~threading_engine.engine.Engine` provides ``execute``."""

    def execute(self, command: Command) -> Result:
        raise NotImplementedError

    # -- channels and accounts -----------------------------------------------------------------------------

    def create_channel(
        self,
        name: str,
        capabilities: Capabilities,
        *,
        webhook_url: str | None = None,
        channel_logo_url: str | None = None,
        channel_description: str | None = None,
        channel_account_connection_redirect_url: str | None = None,
    ) -> Result:
        return self.execute(
            CreateChannel(
                name=name,
                capabilities=capabilities,
                webhook_url=webhook_url,
                channel_logo_url=channel_logo_url,
                channel_description=channel_description,
                channel_account_connection_redirect_url=channel_account_connection_redirect_url,
            )
        )

    def update_channel(
        self,
        channel_id: str,
        *,
        name: str | Unset = UNSET,
        webhook_url: str | Unset | None = UNSET,
        channel_logo_url: str | Unset | None = UNSET,
        channel_description: str | Unset | None = UNSET,
        capabilities: Capabilities | Unset = UNSET,
        channel_account_connection_redirect_url: str | Unset | None = UNSET,
    ) -> Result:
        """Change what is given; new ``capabilities`` replace the old ones within what accounts allow (V7)."""
        return self.execute(
            UpdateChannel(
                channel_id=channel_id,
                name=name,
                webhook_url=webhook_url,
                channel_logo_url=channel_logo_url,
                channel_description=channel_description,
                capabilities=capabilities,
                channel_account_connection_redirect_url=channel_account_connection_redirect_url,
            )
        )

    def create_channel_account(
        self,
        channel_id: str,
        *,
        name: str,
        inbox_id: str,
        delivery_identifier: DeliveryIdentifier,
        authorized: bool = True,
        creates_tickets: bool = False,
        portal_id: str = DEFAULT_PORTAL_ID,
    ) -> Result:
        """Connect an account of ``portal_id``'s (P1) with its own delivery identifier (V2)."""
        return self.execute(
            CreateChannelAccount(
                channel_id=channel_id,
                name=name,
                inbox_id=inbox_id,
                delivery_identifier=delivery_identifier,
                authorized=authorized,
                creates_tickets=creates_tickets,
                portal_id=portal_id,
            )
        )

    def create_staging_token(
        self, channel_id: str, *, inbox_id: str, portal_id: str = DEFAULT_PORTAL_ID, user_id: str = "0"
    ) -> StagingToken:
        """What HubSpot's inbox does when user ``user_id`` of ``portal_id`` clicks "connect" on the channel in
        inbox ``inbox_id`` (T1): a new single-use staging token. ``execute`` of the command answers a
        :class:`Result` whose STAGING_TOKEN_CREATED event holds the token."""
        result = self.execute(
            CreateStagingToken(channel_id=channel_id, inbox_id=inbox_id, portal_id=portal_id, user_id=user_id)
        )
        return next(r.event.token for r in result.events if isinstance(r.event, StagingTokenCreated))

    def complete_staging_token(
        self, channel_id: str, account_token: str, *, account_name: str, delivery_identifier: DeliveryIdentifier
    ) -> Result:
        """HubSpot's staging-token PATCH (T1): the token's account is created in its portal and inbox, as
        :meth:`create_channel_account` creates one (V2, CHANNEL_ACCOUNT_CREATED); a token is used once."""
        return self.execute(
            CompleteStagingToken(
                channel_id=channel_id,
                account_token=account_token,
                account_name=account_name,
                delivery_identifier=delivery_identifier,
            )
        )

    def update_channel_account(
        self, channel_account_id: str, *, name: str | Unset = UNSET, authorized: bool | Unset = UNSET
    ) -> Result:
        return self.execute(
            UpdateChannelAccount(channel_account_id=channel_account_id, name=name, authorized=authorized)
        )

    def archive_channel(self, channel_id: str) -> Result:
        """Archive a channel (HubSpot's DELETE): its accounts take no more messages (A1)."""
        return self.execute(ArchiveChannel(channel_id))

    def archive_channel_account(self, channel_account_id: str) -> Result:
        """Archive one account: it takes no more messages; its threads stay readable (A1)."""
        return self.execute(ArchiveChannelAccount(channel_account_id))

    # -- messages ------------------------------------------------------------------------------------------

    def publish_message(
        self,
        channel_account_id: str,
        *,
        direction: Direction,
        senders: Iterable[ParticipantLike],
        text: str,
        recipients: Iterable[ParticipantLike] = (),
        timestamp: datetime | None = None,
        integration_thread_id: str | None = None,
        integration_idempotency_id: str | None = None,
        actor_id: str | None = None,
    ) -> Result:
        """Publish a message the integration received (INCOMING) or mirrors (OUTGOING): R3, R4, I1, D1; sent
        by HubSpot actor ``actor_id`` (its senders' ``senderActorId``, ``A-…``, N1) when one is named."""
        command = PublishMessageByPosition(
            channel_account_id,
            direction,
            _participants(senders),
            text,
            _participants(recipients),
            timestamp,
            integration_thread_id,
            integration_idempotency_id,
        )
        return self.execute(command if actor_id is None else attrs.evolve(command, actor_id=actor_id))

    def reply(
        self,
        thread_id: str,
        text: str,
        *,
        attachments: Iterable[Attachment] = (),
        actor_id: str | None = None,
        rich_text: str | None = None,
    ) -> Result:
        """An agent's reply on an open thread (R3), announced by an OUTGOING_CHANNEL_MESSAGE_CREATED (R5); with
        ``attachments`` the channel allows its agents (V8), sent by agent ``actor_id`` (``A-…``, N1), with the
        text as HTML in ``rich_text``."""
        command = Reply(
            thread_id=thread_id, text=text, attachments=tuple(attachments), actor_id=actor_id, rich_text=rich_text
        )
        return self.execute(command)

    def start_conversation(
        self,
        channel_account_id: str,
        *,
        recipients: Iterable[ParticipantLike],
        text: str,
        attachments: Iterable[Attachment] = (),
        actor_id: str | None = None,
        rich_text: str | None = None,
    ) -> Result:
        """An agent's message addressed by recipients (R3): to the key's open thread, or a new one; with the
        text as HTML in ``rich_text``, as a reply takes it."""
        return self.execute(
            StartConversation(
                channel_account_id=channel_account_id,
                recipients=_participants(recipients),
                text=text,
                attachments=tuple(attachments),
                actor_id=actor_id,
                rich_text=rich_text,
            )
        )

    def update_message_status(
        self, channel_id: str, message_id: str, status: MessageStatus, *, error_message: str | None = None
    ) -> Result:
        """The integration reports a message's delivery status: SENT, FAILED (with ``error_message``) or READ
        (S1); the message stays where it is."""
        return self.execute(
            UpdateMessageStatus(
                channel_id=channel_id, message_id=message_id, status=status, error_message=error_message
            )
        )

    # -- thread lifecycle ----------------------------------------------------------------------------------

    def close_thread(self, thread_id: str) -> Result:
        return self.execute(CloseThread(thread_id))

    def archive_thread(self, thread_id: str) -> Result:
        return self.execute(ArchiveThread(thread_id))

    def restore_thread(self, thread_id: str) -> Result:
        return self.execute(RestoreThread(thread_id))

    def reopen_thread(self, thread_id: str) -> Result:
        return self.execute(ReopenThread(thread_id))

    def close_ticket(self, thread_id: str) -> Result:
        return self.execute(CloseTicket(thread_id))


def _participants(items: Iterable[ParticipantLike]) -> tuple[Participant, ...]:
    if isinstance(items, str) or not isinstance(items, Iterable):
        # Not a list (``senders=None``, one identifier): pass it on so that V5's check names the field.
        return cast(tuple[Participant, ...], items)
    return tuple(p if isinstance(p, Participant) else Participant(p) for p in items)
