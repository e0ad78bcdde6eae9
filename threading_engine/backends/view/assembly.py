"""Assembling a view from the lookups a store answers (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ...decisions import View, ViewByPosition, ViewQuery
from ...identifiers import DeliveryIdentifier, IdentifierType, key_part
from ...model import Channel, ChannelAccount, Message, Thread, Ticket


class ViewLookups(Protocol):
    """What a store must be able to find for :func:`assemble_view`, each by the index the contract names.

    Every lookup answers ``None`` for nothing found, and archived threads are never candidates (R2). A lookup
    through a composite index takes that index's key as one tuple, as the index is keyed; a key's threads take
    the account and the key apart, since the memory store keeps them by account and then by key (a tuple kept
    for every key would cost 56 bytes).
    """

    def thread(self, thread_id: str, /) -> Thread | None: ...

    def account(self, channel_account_id: str, /) -> ChannelAccount | None: ...

    def channel(self, channel_id: str, /) -> Channel | None: ...

    def ticket(self, ticket_id: str, /) -> Ticket | None: ...

    def open_thread(self, account_id: str, key: str, /) -> Thread | None:
        """The key's OPEN, non-archived thread without an integration thread id (U1)."""
        ...

    def latest_closed_thread(self, account_id: str, key: str, /) -> Thread | None:
        """The key's non-archived CLOSED thread without an integration thread id with the latest ``closed_at``;
        on a tie, the one created last (R4b)."""
        ...

    def live_integration_thread(self, account_and_integration_thread_id: tuple[str, str], /) -> Thread | None:
        """The non-archived thread of the account's integration thread id (U3, I1)."""
        ...

    def message_by_idempotency_id(self, account_and_idempotency_id: tuple[str, str], /) -> Message | None:
        """The message the account already published with that integration idempotency id (U2, D1)."""
        ...

    def account_by_identifier(self, channel_and_identifier: tuple[str, DeliveryIdentifier], /) -> ChannelAccount | None:
        """The channel's account with that delivery identifier (U4, V2)."""
        ...

    def message(self, message_id: str, /) -> Message | None:
        """The message with that id (S1)."""
        ...

    def latest_messages(self, thread_id: str, /) -> Iterable[Message]:
        """The thread's latest messages, newest first, at most :data:`NAMES_FROM_MESSAGES` of them (N1)."""
        ...

    def identifier_types_in_use(self, channel_id: str, /) -> frozenset[IdentifierType]:
        """The delivery identifier types the channel's accounts use; empty when it has none (V7)."""
        ...


# N1: how many of a thread's latest messages its participants' names are read from; a name given only earlier is
# not looked for, so that a reply on a long thread costs what one on a short thread does.
NAMES_FROM_MESSAGES = 100


def names_in(messages: Iterable[Message]) -> dict[str, str]:
    """The name each participant (by key part) was last given in ``messages``, newest first (N1)."""
    names: dict[str, str] = {}
    for message in messages:
        for participant in (*message.senders, *message.recipients):
            if participant.name is not None:
                names.setdefault(key_part(participant.delivery_identifier), participant.name)
    return names


def open_or_latest_closed(
    open_thread: Thread | None, latest_closed: Thread | None
) -> tuple[Thread | None, Thread | None]:
    """A key's two candidates as a view shows them: R4 puts a message on the open thread first, so a view with
    an open thread leaves the latest closed one out (the contract; a store need not even look for it)."""
    return (open_thread, None) if open_thread is not None else (None, latest_closed)


def assemble_view(lookups: ViewLookups, query: ViewQuery) -> View:
    """The view of ``query`` (see :class:`ViewQuery` for what each field asks for), from ``lookups``.

    ``lookups`` comes first so that a store can bind it once (``functools.partial(assemble_view, lookups)``)
    and call the result as its ``load``.
    """
    thread = lookups.thread(query.thread_id) if query.thread_id is not None else None
    message = lookups.message(query.message_id) if query.message_id is not None else None
    account_id = thread.channel_account_id if thread is not None else query.channel_account_id
    if account_id is None and message is not None:
        account_id = message.channel_account_id
    account = lookups.account(account_id) if account_id is not None else None
    channel_id = account.channel_id if account is not None else query.channel_id
    channel = lookups.channel(channel_id) if channel_id is not None else None
    key = query.key
    integration_thread_id = query.integration_thread_id
    if thread is not None:  # a thread's own key or integration thread id, for R8's and I1's conflicts
        if thread.integration_thread_id is None:
            key = thread.key
        else:
            integration_thread_id = thread.integration_thread_id
    open_thread = latest_closed = integration_thread = duplicate = duplicate_thread = holder = None
    if account_id is not None:
        if key is not None:
            open_thread = lookups.open_thread(account_id, key)
            if open_thread is None:  # only then is the latest closed thread shown: see open_or_latest_closed
                latest_closed = lookups.latest_closed_thread(account_id, key)
        if integration_thread_id is not None:
            integration_thread = lookups.live_integration_thread((account_id, integration_thread_id))
        if query.idempotency_id is not None:
            duplicate = lookups.message_by_idempotency_id((account_id, query.idempotency_id))
            if duplicate is not None:
                duplicate_thread = lookups.thread(duplicate.thread_id)
    if query.account_identifier is not None and channel_id is not None:
        holder = lookups.account_by_identifier((channel_id, query.account_identifier))
    names = None
    if query.participant_names and thread is not None:
        names = names_in(lookups.latest_messages(thread.id))
    types_in_use = None
    if query.channel_identifier_types and channel_id is not None:
        types_in_use = lookups.identifier_types_in_use(channel_id)
    tickets: dict[str, Ticket] = {}
    for shown in (thread, open_thread, latest_closed, integration_thread, duplicate_thread):
        if shown is None:
            continue
        ticket_id = shown.ticket_id
        if ticket_id is not None:
            ticket = lookups.ticket(ticket_id)
            if ticket is not None:
                tickets[ticket.id] = ticket
    # By position, in View's field order: one is made for every command.
    return ViewByPosition(
        channel,
        account,
        thread,
        open_thread,
        latest_closed,
        integration_thread,
        duplicate,
        duplicate_thread,
        holder,
        tickets,
        message,
        types_in_use,
        names,
    )
