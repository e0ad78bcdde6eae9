"""Rules for channels and channel accounts: V1-V3, A1 (archiving) and E1's account webhooks.

Their normalizers take the engine's spelling memo (or ``None``) as every normalizer does (``normalizing``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from ..channel_validation import (
    check_capabilities,
    check_description,
    check_logo_url,
    check_redirect_url,
    check_webhook_url,
)
from ..commands import (
    UNSET,
    ArchiveChannel,
    ArchiveChannelAccount,
    CreateChannel,
    CreateChannelAccount,
    UpdateChannel,
    UpdateChannelAccount,
)
from ..decisions import Changes, Decision, Outcome, View
from ..errors import NotAllowedError
from ..events import ChannelAccountCreated, ChannelAccountUpdated, ChannelCreated, ChannelUpdated
from ..identifiers import IdentifierType, KnownSpellings
from ..model import Capabilities, Channel, ChannelAccount
from ..storable import MAX_NAME_LENGTH, shown
from ..validation import check_id, check_identifier, check_portal_id, check_reference, check_text, fail, not_found

IdFactory = Callable[[str], str]


def _name(value: object, rule: str) -> str:
    return check_text(value, "name", rule=rule, allow_empty=False, limit=MAX_NAME_LENGTH)


def normalize_create_channel(command: CreateChannel, spellings: KnownSpellings | None = None) -> CreateChannel:
    return CreateChannel(
        name=_name(command.name, "V3"),
        capabilities=check_capabilities(command.capabilities),
        webhook_url=check_webhook_url(command.webhook_url),
        channel_logo_url=check_logo_url(command.channel_logo_url),
        channel_account_connection_redirect_url=check_redirect_url(command.channel_account_connection_redirect_url),
        channel_description=check_description(command.channel_description),
    )


def normalize_update_channel(command: UpdateChannel, spellings: KnownSpellings | None = None) -> UpdateChannel:
    check_reference(command.channel_id, "channelId", "channel", "V3")
    return attrs.evolve(
        command,
        name=command.name if command.name is UNSET else _name(command.name, "V3"),
        webhook_url=command.webhook_url if command.webhook_url is UNSET else check_webhook_url(command.webhook_url),
        channel_logo_url=command.channel_logo_url
        if command.channel_logo_url is UNSET
        else check_logo_url(command.channel_logo_url),
        channel_description=command.channel_description
        if command.channel_description is UNSET
        else check_description(command.channel_description),
        capabilities=command.capabilities
        if command.capabilities is UNSET
        else check_capabilities(command.capabilities),
        channel_account_connection_redirect_url=command.channel_account_connection_redirect_url
        if command.channel_account_connection_redirect_url is UNSET
        else check_redirect_url(command.channel_account_connection_redirect_url),
    )


def normalize_create_account(
    command: CreateChannelAccount, spellings: KnownSpellings | None = None
) -> CreateChannelAccount:
    check_reference(command.channel_id, "channelId", "channel", "V2")
    if command.delivery_identifier is None:
        raise fail("deliveryIdentifier", None, "is required when creating a channel account", "V2")
    for name in ("authorized", "creates_tickets"):
        value = getattr(command, name)
        if not isinstance(value, bool):
            field = "createsTickets" if name == "creates_tickets" else name
            raise fail(field, value, "is not a boolean", "V2")
    return attrs.evolve(
        command,
        name=_name(command.name, "V2"),
        inbox_id=check_id(command.inbox_id, "inboxId", rule="V2"),
        delivery_identifier=check_identifier(command.delivery_identifier, "deliveryIdentifier", spellings),
        portal_id=check_portal_id(command.portal_id),
    )


def normalize_update_account(
    command: UpdateChannelAccount, spellings: KnownSpellings | None = None
) -> UpdateChannelAccount:
    check_reference(command.channel_account_id, "channelAccountId", "channel account", "V2")
    if command.name is not UNSET:
        _name(command.name, "V2")
    if command.authorized is not UNSET and not isinstance(command.authorized, bool):
        raise fail("authorized", command.authorized, "is not a boolean", "V2")
    return command


def normalize_archive_channel(command: ArchiveChannel, spellings: KnownSpellings | None = None) -> ArchiveChannel:
    check_reference(command.channel_id, "channelId", "channel", "A1")
    return command


def normalize_archive_account(
    command: ArchiveChannelAccount, spellings: KnownSpellings | None = None
) -> ArchiveChannelAccount:
    check_reference(command.channel_account_id, "channelAccountId", "channel account", "A1")
    return command


def ensure_not_archived(what: str, value_id: str, archived: bool, field: str) -> None:
    """A1: an archived channel or account is kept as it was archived (its threads stay readable)."""
    if archived:
        raise NotAllowedError(
            f"{what} {shown(value_id)} is archived and can no longer be changed (A1)",
            field=field,
            value=value_id,
            rule="A1",
        )


def decide_create_channel(command: CreateChannel, now: datetime, new_id: IdFactory) -> Decision:
    channel = Channel(
        id=new_id("channel"),
        name=command.name,
        capabilities=command.capabilities,
        created_at=now,
        webhook_url=command.webhook_url,
        channel_logo_url=command.channel_logo_url,
        channel_account_connection_redirect_url=command.channel_account_connection_redirect_url,
        channel_description=command.channel_description,
    )
    return Decision(
        outcome=Outcome.CHANGED,
        changes=Changes(channel=channel),
        events=(ChannelCreated(channel),),
        channel_id=channel.id,
    )


def decide_update_channel(view: View, command: UpdateChannel) -> Decision:
    channel = view.channel
    if channel is None:
        raise not_found("channelId", command.channel_id, "channel", "V3")
    ensure_not_archived("channel", channel.id, channel.archived, "channelId")
    if command.capabilities is not UNSET:
        _check_capabilities_suit_accounts(channel, command.capabilities, view.channel_identifier_types)
    mentioned = (
        "name",
        "webhook_url",
        "channel_logo_url",
        "channel_description",
        "capabilities",
        "channel_account_connection_redirect_url",
    )
    updated = attrs.evolve(channel, **_mentioned(command, mentioned))
    if updated == channel:
        return Decision(Outcome.UNCHANGED, channel_id=channel.id)
    return Decision(
        outcome=Outcome.CHANGED,
        changes=Changes(channel=updated),
        events=(ChannelUpdated(updated),),
        channel_id=channel.id,
    )


def _check_capabilities_suit_accounts(
    channel: Channel, capabilities: Capabilities, in_use: frozenset[IdentifierType] | None
) -> None:
    """V7: new capabilities may not strand existing data. While the channel has accounts, its threading model
    stays (their threads were placed under it); an identifier type stays while an account uses it. Existing
    threads are never re-keyed."""
    assert in_use is not None, "the view of a capability update holds the identifier types in use"
    old_model, new_model = channel.capabilities.threading_model, capabilities.threading_model
    if in_use and new_model is not old_model:
        raise fail(
            "capabilities.threadingModel",
            new_model.value,
            f"cannot change from {old_model.value} while the channel has accounts: their threads were placed under it",
            "V7",
        )
    dropped = sorted(t.value for t in in_use - set(capabilities.delivery_identifier_types))
    if dropped:
        raise fail(
            "capabilities.deliveryIdentifierTypes",
            [t.value for t in capabilities.delivery_identifier_types],
            f"drops {dropped}, which accounts of this channel use",
            "V7",
        )


def decide_create_account(view: View, command: CreateChannelAccount, now: datetime, new_id: IdFactory) -> Decision:
    channel = view.channel
    if channel is None:
        raise not_found("channelId", command.channel_id, "channel", "V2")
    ensure_not_archived("channel", channel.id, channel.archived, "channelId")
    identifier = command.delivery_identifier
    allowed = channel.capabilities.delivery_identifier_types
    if identifier.type not in allowed:
        raise fail(
            "deliveryIdentifier.type",
            identifier.type.value,
            f"is not one of the channel's deliveryIdentifierTypes {[t.value for t in allowed]}",
            "V2",
        )
    holder = view.account_with_identifier
    if holder is not None:
        # Another portal's account is named by its portal only: its id is not this portal's to learn (P1).
        owner = f"account {holder.id!r}" if holder.portal_id == command.portal_id else "an account of another portal"
        raise fail("deliveryIdentifier", str(identifier), f"already belongs to {owner} of this channel", "V2")
    account = ChannelAccount(
        id=new_id("account"),
        channel_id=channel.id,
        name=command.name,
        inbox_id=command.inbox_id,
        delivery_identifier=identifier,
        created_at=now,
        authorized=command.authorized,
        creates_tickets=command.creates_tickets,
        portal_id=command.portal_id,
    )
    return Decision(
        outcome=Outcome.CHANGED,
        changes=Changes(account=account),
        events=(ChannelAccountCreated(account),),
        channel_id=channel.id,
        channel_account_id=account.id,
    )


def decide_update_account(view: View, command: UpdateChannelAccount) -> Decision:
    account = view.account
    if account is None:
        raise not_found("channelAccountId", command.channel_account_id, "channel account", "V2")
    ensure_not_archived("channel account", account.id, account.archived, "channelAccountId")
    updated = attrs.evolve(account, **_mentioned(command, ("name", "authorized")))
    unchanged = Decision(Outcome.UNCHANGED, channel_id=account.channel_id, channel_account_id=account.id)
    if updated == account:
        return unchanged
    return attrs.evolve(
        unchanged, outcome=Outcome.CHANGED, changes=Changes(account=updated), events=(ChannelAccountUpdated(updated),)
    )


def decide_archive_channel(view: View, command: ArchiveChannel, now: datetime) -> Decision:
    """A1: the channel archived at ``now``; archiving it again changes nothing."""
    channel = view.channel
    if channel is None:
        raise not_found("channelId", command.channel_id, "channel", "A1")
    if channel.archived:
        return Decision(Outcome.UNCHANGED, channel_id=channel.id)
    archived = attrs.evolve(channel, archived=True, archived_at=now)
    return Decision(
        outcome=Outcome.CHANGED,
        changes=Changes(channel=archived),
        events=(ChannelUpdated(archived),),
        channel_id=channel.id,
    )


def decide_archive_account(view: View, command: ArchiveChannelAccount, now: datetime) -> Decision:
    """A1: the account archived at ``now`` (a CHANNEL_ACCOUNT_UPDATED webhook); archiving it again changes nothing."""
    account = view.account
    if account is None:
        raise not_found("channelAccountId", command.channel_account_id, "channel account", "A1")
    unchanged = Decision(Outcome.UNCHANGED, channel_id=account.channel_id, channel_account_id=account.id)
    if account.archived:
        return unchanged
    archived = attrs.evolve(account, archived=True, archived_at=now)
    return attrs.evolve(
        unchanged,
        outcome=Outcome.CHANGED,
        changes=Changes(account=archived),
        events=(ChannelAccountUpdated(archived),),
    )


def _mentioned(command: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(command, name) for name in names if getattr(command, name) is not UNSET}
