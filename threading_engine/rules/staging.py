"""T1: connecting a channel account through a staging token, as HubSpot's inbox and its
``channel-account-staging-tokens`` operation do.

A user of a portal clicks "connect" on a channel in an inbox: the engine makes a staging token for that
channel, portal, inbox and user (:class:`CreateStagingToken`, HubSpot's own step, which HubSpot publishes no
operation for), recorded by the domain event STAGING_TOKEN_CREATED. The integration then completes it once
with the account's name and delivery identifier (:class:`CompleteStagingToken`, HubSpot's PATCH): the account
is created in the token's portal and inbox, exactly as an account creation would create it (V2, A1, the
CHANNEL_ACCOUNT_CREATED webhook).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ..commands import CompleteStagingToken, CreateChannelAccount, CreateStagingToken
from ..decisions import Changes, Decision, Outcome, View
from ..errors import NotAllowedError, ValidationError
from ..events import StagingTokenCreated
from ..identifiers import KnownSpellings
from ..model import StagingToken
from ..storable import MAX_NAME_LENGTH, shown
from ..validation import check_id, check_identifier, check_portal_id, check_reference, check_text, fail, not_found
from .channels import IdFactory, decide_create_account, ensure_not_archived

_MAX_USER_ID_DIGITS = 20


def _check_user_id(user_id: object) -> str:
    """A HubSpot user id: a string of 1 to 20 ASCII digits, as a portal id is."""
    if not (
        isinstance(user_id, str) and 0 < len(user_id) <= _MAX_USER_ID_DIGITS and user_id.isascii() and user_id.isdigit()
    ):
        raise ValidationError(
            f"userId {shown(user_id)} is not a HubSpot user id: 1 to {_MAX_USER_ID_DIGITS} digits (T1)",
            field="userId",
            value=user_id,
            rule="T1",
        )
    return user_id


def normalize_create_token(command: CreateStagingToken, spellings: KnownSpellings | None = None) -> CreateStagingToken:
    check_reference(command.channel_id, "channelId", "channel", "T1")
    return attrs.evolve(
        command,
        inbox_id=check_id(command.inbox_id, "inboxId", rule="T1"),
        portal_id=check_portal_id(command.portal_id),
        user_id=_check_user_id(command.user_id),
    )


def normalize_complete_token(
    command: CompleteStagingToken, spellings: KnownSpellings | None = None
) -> CompleteStagingToken:
    """The account's name and identifier are checked as an account creation checks them (V2)."""
    check_reference(command.channel_id, "channelId", "channel", "T1")
    check_reference(command.account_token, "accountToken", "staging token", "T1")
    if command.delivery_identifier is None:
        raise fail("deliveryIdentifier", None, "is required to complete a staging token", "V2")
    return attrs.evolve(
        command,
        account_name=check_text(
            command.account_name, "accountName", rule="V2", allow_empty=False, limit=MAX_NAME_LENGTH
        ),
        delivery_identifier=check_identifier(command.delivery_identifier, "deliveryIdentifier", spellings),
    )


def decide_create_token(view: View, command: CreateStagingToken, now: datetime, new_id: IdFactory) -> Decision:
    """A new token of the channel; an archived channel gets none (A1), as it gets no new account."""
    channel = view.channel
    if channel is None:
        raise not_found("channelId", command.channel_id, "channel", "T1")
    ensure_not_archived("channel", channel.id, channel.archived, "channelId")
    token = StagingToken(
        id=new_id("token"),
        channel_id=channel.id,
        portal_id=command.portal_id,
        inbox_id=command.inbox_id,
        user_id=command.user_id,
        created_at=now,
    )
    return Decision(
        outcome=Outcome.CHANGED,
        changes=Changes(staging_token=token),
        events=(StagingTokenCreated(token),),
        channel_id=channel.id,
    )


def decide_complete_token(view: View, command: CompleteStagingToken, now: datetime, new_id: IdFactory) -> Decision:
    """The token's account, created as :class:`CreateChannelAccount` would create it, and the token used up.

    A token of another channel's path is not found, as an unknown one is; a used one is refused (T1)."""
    token = view.staging_token
    if token is None or token.channel_id != command.channel_id:
        raise not_found("accountToken", command.account_token, "staging token", "T1")
    if token.completed:
        raise NotAllowedError(
            f"staging token {shown(token.id)} was already used: it connected account {token.channel_account_id!r} "
            "(T1: a token connects one account)",
            field="accountToken",
            value=token.id,
            rule="T1",
        )
    creation = CreateChannelAccount(
        channel_id=token.channel_id,
        name=command.account_name,
        inbox_id=token.inbox_id,
        delivery_identifier=command.delivery_identifier,
        portal_id=token.portal_id,
    )
    created = decide_create_account(view, creation, now, new_id)
    used = attrs.evolve(
        token,
        account_name=command.account_name,
        delivery_identifier=command.delivery_identifier,
        channel_account_id=created.channel_account_id,
        completed_at=now,
    )
    return attrs.evolve(created, changes=attrs.evolve(created.changes, staging_token=used))
