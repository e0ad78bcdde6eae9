"""A deliberately naive reference model of SPEC sections 3-6 (R0-R8, I1-I2, D1-D2, E2-E3), for agreement tests.

It is written from SPEC.md, not from the engine: the state is plain lists of dicts, every lookup is a linear
scan, and nothing of ``threading_engine.rules`` or ``lifecycle`` is used. Only the library's value types are
borrowed (commands, ``Capabilities``, ``Direction``, ``Policy``), so that one command can be given to both.

Delivery identifiers must arrive in canonical form: V4 is not modelled. The test keeps a table of spellings
that say which raw values are one identifier, hands the engine the raw spellings and the model the canonical
values, and so checks V4's canonical forms as a side effect.

Every command returns an :class:`Expected`: the outcome with the model's own thread, ticket and message ids and
the names of the events it should emit, or the set of error codes of which the engine may raise any one
(SPEC section 7: "When a command breaks several rules at once, any one of the applicable errors may be
reported").
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import TypedDict

from threading_engine import (
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    CreateChannel,
    CreateChannelAccount,
    Direction,
    Participant,
    Policy,
    PublishMessage,
    ReopenClock,
    ReopenThread,
    Reply,
    RestoreThread,
    StartConversation,
    ThreadingModel,
    UpdateChannelAccount,
)

Identifier = tuple[str, str]
"""A canonical delivery identifier as (type name, value)."""

OPEN = "OPEN"
CLOSED = "CLOSED"
VALIDATION_ERROR = "VALIDATION_ERROR"
NOT_FOUND = "NOT_FOUND"
NOT_ALLOWED = "NOT_ALLOWED"
THREAD_NOT_OPEN = "THREAD_NOT_OPEN"
KEY_CONFLICT = "KEY_CONFLICT"
IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"


class ChannelRow(TypedDict):
    id: str
    by_integration: bool  # threadingModel is INTEGRATION_THREAD_ID
    types: frozenset[str]
    allow_outgoing: bool
    allow_start: bool


class AccountRow(TypedDict):
    id: str
    channel_id: str
    identifier: Identifier
    authorized: bool
    creates_tickets: bool


class ThreadRow(TypedDict):
    id: str
    account_id: str
    by_integration: bool
    key: frozenset[Identifier]
    integration_thread_id: str | None
    status: str
    archived: bool
    created_at: datetime
    closed_at: datetime | None
    ticket_id: str | None


class TicketRow(TypedDict):
    id: str
    thread_id: str
    status: str


class MessageRow(TypedDict):
    id: str
    thread_id: str
    account_id: str
    direction: str
    senders: frozenset[Identifier]
    recipients: frozenset[Identifier]
    text: str
    integration_thread_id: str | None
    idempotency_id: str | None


@dataclasses.dataclass(frozen=True)
class Expected:
    """What the engine should answer: an outcome and the model's ids, or the error codes it may raise."""

    outcome: str | None = None
    errors: frozenset[str] = frozenset()
    channel_id: str | None = None
    account_id: str | None = None
    thread_id: str | None = None
    ticket_id: str | None = None
    message_id: str | None = None
    events: tuple[str, ...] = ()


def rejected(*codes: str) -> Expected:
    return Expected(errors=frozenset(codes))


def identifiers(participants: tuple[Participant, ...]) -> frozenset[Identifier]:
    return frozenset((p.delivery_identifier.type.value, p.delivery_identifier.value) for p in participants)


class ReferenceModel:
    """The whole engine as lists and loops. ``execute(command, now)`` mirrors ``Engine.execute``."""

    def __init__(self, policy: Policy | None = None) -> None:
        policy = policy or Policy()
        self.reopen_window = policy.reopen_window
        self.measure_from_timestamp = policy.reopen_clock is ReopenClock.PROVIDER_TIMESTAMP
        self.channels: list[ChannelRow] = []
        self.accounts: list[AccountRow] = []
        self.threads: list[ThreadRow] = []  # in creation order, which R4's tie-break relies on
        self.tickets: list[TicketRow] = []
        self.messages: list[MessageRow] = []
        self.counter = 0

    # -- lookups, all linear scans ---------------------------------------------------------------------------

    def new_id(self, kind: str) -> str:
        self.counter += 1
        return f"model-{kind}-{self.counter}"

    def channel(self, channel_id: str) -> ChannelRow | None:
        return next((c for c in self.channels if c["id"] == channel_id), None)

    def account(self, account_id: str) -> AccountRow | None:
        return next((a for a in self.accounts if a["id"] == account_id), None)

    def thread(self, thread_id: str) -> ThreadRow | None:
        return next((t for t in self.threads if t["id"] == thread_id), None)

    def ticket(self, ticket_id: str | None) -> TicketRow | None:
        return next((t for t in self.tickets if t["id"] == ticket_id), None)

    def message(self, message_id: str) -> MessageRow | None:
        return next((m for m in self.messages if m["id"] == message_id), None)

    def messages_on(self, thread_id: str) -> list[MessageRow]:
        return [m for m in self.messages if m["thread_id"] == thread_id]

    def is_open(self, thread: ThreadRow) -> bool:
        return thread["status"] == OPEN and not thread["archived"]

    def open_thread_for_key(self, account_id: str, key: frozenset[Identifier]) -> ThreadRow | None:
        """R1: the key's one open, non-archived thread under DELIVERY_IDENTIFIER, if any."""
        found = [
            t
            for t in self.threads
            if t["account_id"] == account_id and not t["by_integration"] and t["key"] == key and self.is_open(t)
        ]
        assert len(found) <= 1, f"the model broke R1 for key {sorted(key)}"
        return found[0] if found else None

    def latest_closed_for_key(self, account_id: str, key: frozenset[Identifier]) -> ThreadRow | None:
        """R4b: the latest closedAt among closed, non-archived threads; on a tie, the one created last."""
        best: ThreadRow | None = None
        for thread in self.threads:  # creation order
            if thread["account_id"] != account_id or thread["by_integration"] or thread["key"] != key:
                continue
            if thread["status"] != CLOSED or thread["archived"]:
                continue
            closed_at = thread["closed_at"]
            assert closed_at is not None
            if best is None or best["closed_at"] is None or closed_at >= best["closed_at"]:
                best = thread
        return best

    def live_thread_for_pair(self, account_id: str, integration_thread_id: str | None) -> ThreadRow | None:
        """I1: the one non-archived thread of (account, integrationThreadId), if any."""
        found = [
            t
            for t in self.threads
            if t["account_id"] == account_id
            and t["by_integration"]
            and t["integration_thread_id"] == integration_thread_id
            and not t["archived"]
        ]
        assert len(found) <= 1, f"the model broke I1 for {integration_thread_id!r}"
        return found[0] if found else None

    # -- the one entry point ---------------------------------------------------------------------------------

    def execute(self, command: Command, now: datetime) -> Expected:
        if isinstance(command, PublishMessage):
            return self.publish(command, now)
        if isinstance(command, Reply):
            return self.reply(command, now)
        if isinstance(command, StartConversation):
            return self.start_conversation(command, now)
        if isinstance(command, CloseThread):
            return self.close_thread(command.thread_id, now, ticket_only=False)
        if isinstance(command, CloseTicket):
            return self.close_thread(command.thread_id, now, ticket_only=True)
        if isinstance(command, ArchiveThread):
            return self.archive_thread(command.thread_id, now)
        if isinstance(command, RestoreThread):
            return self.restore_thread(command.thread_id)
        if isinstance(command, ReopenThread):
            return self.reopen_thread(command.thread_id)
        if isinstance(command, CreateChannel):
            return self.create_channel(command)
        if isinstance(command, CreateChannelAccount):
            return self.create_channel_account(command)
        if isinstance(command, UpdateChannelAccount):
            return self.update_channel_account(command)
        raise NotImplementedError(f"the reference model does not handle {type(command).__name__}")

    # -- setup (only what the threading rules need) ----------------------------------------------------------

    def create_channel(self, command: CreateChannel) -> Expected:
        capabilities = command.capabilities
        if not capabilities.delivery_identifier_types:
            return rejected(VALIDATION_ERROR)  # V1
        channel: ChannelRow = {
            "id": self.new_id("channel"),
            "by_integration": capabilities.threading_model is ThreadingModel.INTEGRATION_THREAD_ID,
            "types": frozenset(t.value for t in capabilities.delivery_identifier_types),
            "allow_outgoing": capabilities.allow_outgoing_messages,
            "allow_start": capabilities.allow_conversation_start,
        }
        self.channels.append(channel)
        return Expected("CHANGED", channel_id=channel["id"], events=("CHANNEL_CREATED",))

    def create_channel_account(self, command: CreateChannelAccount) -> Expected:
        channel = self.channel(command.channel_id)
        if channel is None:
            return rejected(NOT_FOUND)
        identifier = (command.delivery_identifier.type.value, command.delivery_identifier.value)
        taken = any(a["channel_id"] == channel["id"] and a["identifier"] == identifier for a in self.accounts)
        if identifier[0] not in channel["types"] or taken:
            return rejected(VALIDATION_ERROR)  # V2
        account: AccountRow = {
            "id": self.new_id("account"),
            "channel_id": channel["id"],
            "identifier": identifier,
            "authorized": command.authorized,
            "creates_tickets": command.creates_tickets,
        }
        self.accounts.append(account)
        return Expected(
            "CHANGED", channel_id=channel["id"], account_id=account["id"], events=("CHANNEL_ACCOUNT_CREATED",)
        )

    def update_channel_account(self, command: UpdateChannelAccount) -> Expected:
        account = self.account(command.channel_account_id)
        if account is None:
            return rejected(NOT_FOUND)
        result = Expected("UNCHANGED", channel_id=account["channel_id"], account_id=account["id"])
        if isinstance(command.authorized, bool) and command.authorized != account["authorized"]:
            account["authorized"] = command.authorized
            return dataclasses.replace(result, outcome="CHANGED", events=("CHANNEL_ACCOUNT_UPDATED",))
        return result

    # -- messages --------------------------------------------------------------------------------------------

    def publish(self, command: PublishMessage, now: datetime) -> Expected:
        account = self.account(command.channel_account_id)
        if account is None:
            return rejected(NOT_FOUND)
        channel = self.channel(account["channel_id"])
        assert channel is not None
        # V5: shape errors need no state and are reported before anything else is looked at.
        if not command.senders or (command.timestamp is not None and command.timestamp.tzinfo is None):
            return rejected(VALIDATION_ERROR)
        own = account["identifier"]
        senders = identifiers(command.senders)
        recipients = identifiers(command.recipients)
        if not recipients and command.direction is Direction.INCOMING:
            recipients = frozenset({own})  # SPEC section 8: an incoming message is addressed to the account
        errors: set[str] = set()
        # D1/D2: the idempotency record is consulted before authorization.
        if command.integration_idempotency_id is not None:
            original = next(
                (
                    m
                    for m in self.messages
                    if m["account_id"] == account["id"] and m["idempotency_id"] == command.integration_idempotency_id
                ),
                None,
            )
            if original is not None:
                same = (
                    original["direction"] == command.direction.value
                    and original["senders"] == senders
                    and original["recipients"] == recipients
                    and original["text"] == command.text
                    and original["integration_thread_id"] == command.integration_thread_id
                )
                if same:
                    thread = self.thread(original["thread_id"])
                    assert thread is not None
                    return Expected(
                        "DUPLICATE",
                        account_id=account["id"],
                        thread_id=thread["id"],
                        ticket_id=thread["ticket_id"],
                        message_id=original["id"],
                    )
                errors.add(IDEMPOTENCY_CONFLICT)
        if not account["authorized"]:
            errors.add(NOT_ALLOWED)  # V5
        if any(kind not in channel["types"] for kind, _ in senders | recipients):
            errors.add(VALIDATION_ERROR)  # V5
        key = (senders | recipients) - {own}  # R0
        if channel["by_integration"] and not command.integration_thread_id:
            errors.add(VALIDATION_ERROR)  # V6
        if not channel["by_integration"] and not key:
            errors.add(VALIDATION_ERROR)  # R0: an empty key
        incoming = command.direction is Direction.INCOMING
        if channel["by_integration"]:
            live = self.live_thread_for_pair(account["id"], command.integration_thread_id)
            if live is not None and not self.is_open(live) and not incoming:
                errors.add(THREAD_NOT_OPEN)  # I1
        if errors:
            return rejected(*errors)

        message: MessageRow = {
            "id": self.new_id("message"),
            "thread_id": "",
            "account_id": account["id"],
            "direction": command.direction.value,
            "senders": senders,
            "recipients": recipients,
            "text": command.text,
            "integration_thread_id": command.integration_thread_id,
            "idempotency_id": command.integration_idempotency_id,
        }
        if channel["by_integration"]:
            # I1: the integration names the thread; an incoming message reopens it without a window.
            live = self.live_thread_for_pair(account["id"], command.integration_thread_id)
            if live is None:
                return self.create_thread(account, key, command.integration_thread_id, message, now)
            if self.is_open(live):
                return self.append(live, message, "APPENDED")
            return self.append(live, message, "REOPENED")
        open_thread = self.open_thread_for_key(account["id"], key)
        if open_thread is not None:
            return self.append(open_thread, message, "APPENDED")  # R4a, R3
        if incoming:
            closed = self.latest_closed_for_key(account["id"], key)
            if closed is not None and self.within_window(closed, now, command.timestamp):
                return self.append(closed, message, "REOPENED")  # R4b
        return self.create_thread(account, key, None, message, now)  # R4c, R3

    def within_window(self, thread: ThreadRow, now: datetime, timestamp: datetime | None) -> bool:
        """R4b: closed *less than* the window before now; a clock behind closedAt counts as zero elapsed."""
        closed_at = thread["closed_at"]
        assert closed_at is not None
        measured_at = now
        if self.measure_from_timestamp and timestamp is not None and timestamp < now:
            measured_at = timestamp  # the provider's time, clamped to no later than arrival
        elapsed = max(measured_at - closed_at, timedelta(0))
        return elapsed < self.reopen_window

    def reply(self, command: Reply, now: datetime) -> Expected:
        thread = self.thread(command.thread_id)
        if thread is None:
            return rejected(NOT_FOUND)
        account = self.account(thread["account_id"])
        assert account is not None
        channel = self.channel(account["channel_id"])
        assert channel is not None
        errors = set()
        if not account["authorized"] or not channel["allow_outgoing"]:
            errors.add(NOT_ALLOWED)  # V5, R3
        if not self.is_open(thread):
            errors.add(THREAD_NOT_OPEN)  # R3
        if errors:
            return rejected(*errors)
        message = self.agent_message(account, thread["key"], command.text, thread["integration_thread_id"])
        result = self.append(thread, message, "APPENDED")
        return dataclasses.replace(result, events=(*result.events, "OUTGOING_CHANNEL_MESSAGE_CREATED"))

    def start_conversation(self, command: StartConversation, now: datetime) -> Expected:
        account = self.account(command.channel_account_id)
        if account is None:
            return rejected(NOT_FOUND)
        channel = self.channel(account["channel_id"])
        assert channel is not None
        if not command.recipients:
            return rejected(VALIDATION_ERROR)
        recipients = identifiers(command.recipients)
        key = recipients - {account["identifier"]}
        errors = set()
        if channel["by_integration"]:
            errors.add(NOT_ALLOWED)  # I1: only the integration can name a thread
        if not account["authorized"] or not channel["allow_outgoing"] or not channel["allow_start"]:
            errors.add(NOT_ALLOWED)  # V5, R3
        if any(kind not in channel["types"] for kind, _ in recipients):
            errors.add(VALIDATION_ERROR)  # V5
        if not key:
            errors.add(VALIDATION_ERROR)  # R0
        if errors:
            return rejected(*errors)
        message = self.agent_message(account, recipients, command.text, None)
        open_thread = self.open_thread_for_key(account["id"], key)
        if open_thread is not None:
            result = self.append(open_thread, message, "APPENDED")
        else:
            result = self.create_thread(account, key, None, message, now)  # R3: never a closed thread
        return dataclasses.replace(result, events=(*result.events, "OUTGOING_CHANNEL_MESSAGE_CREATED"))

    def agent_message(
        self, account: AccountRow, recipients: frozenset[Identifier], text: str, integration_thread_id: str | None
    ) -> MessageRow:
        return {
            "id": self.new_id("message"),
            "thread_id": "",
            "account_id": account["id"],
            "direction": Direction.OUTGOING.value,
            "senders": frozenset({account["identifier"]}),
            "recipients": recipients,
            "text": text,
            "integration_thread_id": integration_thread_id,
            "idempotency_id": None,
        }

    def create_thread(
        self,
        account: AccountRow,
        key: frozenset[Identifier],
        integration_thread_id: str | None,
        message: MessageRow,
        now: datetime,
    ) -> Expected:
        channel = self.channel(account["channel_id"])
        assert channel is not None
        thread: ThreadRow = {
            "id": self.new_id("thread"),
            "account_id": account["id"],
            "by_integration": channel["by_integration"],
            "key": key,
            "integration_thread_id": integration_thread_id,
            "status": OPEN,
            "archived": False,
            "created_at": now,
            "closed_at": None,
            "ticket_id": None,
        }
        self.threads.append(thread)
        events = ["THREAD_CREATED"]
        if account["creates_tickets"]:
            ticket: TicketRow = {"id": self.new_id("ticket"), "thread_id": thread["id"], "status": OPEN}
            self.tickets.append(ticket)
            thread["ticket_id"] = ticket["id"]
            events.append("TICKET_CREATED")
        result = self.append(thread, message, "CREATED")
        return dataclasses.replace(result, events=(*events, *result.events))

    def append(self, thread: ThreadRow, message: MessageRow, outcome: str) -> Expected:
        events = []
        if outcome == "REOPENED":
            events = self.reopen(thread)
        assert self.is_open(thread), "R2/R3: a message only ever lands on an open thread"
        message["thread_id"] = thread["id"]
        self.messages.append(message)
        events.append("MESSAGE_APPENDED")
        return Expected(
            outcome,
            account_id=thread["account_id"],
            thread_id=thread["id"],
            ticket_id=thread["ticket_id"],
            message_id=message["id"],
            events=tuple(events),
        )

    # -- thread lifecycle (R6, R7, R8) ----------------------------------------------------------------------

    def close(self, thread: ThreadRow, now: datetime) -> list[str]:
        """Close an open thread and, by R6, its ticket."""
        thread["status"] = CLOSED
        thread["closed_at"] = now
        events = ["THREAD_CLOSED"]
        ticket = self.ticket(thread["ticket_id"])
        if ticket is not None and ticket["status"] == OPEN:
            ticket["status"] = CLOSED
            events.append("TICKET_CLOSED")
        return events

    def reopen(self, thread: ThreadRow) -> list[str]:
        """Reopen a closed thread and, by R6, its ticket."""
        thread["status"] = OPEN
        thread["closed_at"] = None
        events = ["THREAD_REOPENED"]
        ticket = self.ticket(thread["ticket_id"])
        if ticket is not None and ticket["status"] == CLOSED:
            ticket["status"] = OPEN
            events.append("TICKET_REOPENED")
        return events

    def lifecycle_result(self, thread: ThreadRow, events: list[str]) -> Expected:
        return Expected(
            "CHANGED" if events else "UNCHANGED",
            account_id=thread["account_id"],
            thread_id=thread["id"],
            ticket_id=thread["ticket_id"],
            events=tuple(events),
        )

    def close_thread(self, thread_id: str, now: datetime, *, ticket_only: bool) -> Expected:
        thread = self.thread(thread_id)
        if thread is None:
            return rejected(NOT_FOUND)
        if ticket_only and thread["ticket_id"] is None:
            return rejected(NOT_FOUND)  # R8: closing the ticket of a thread that has none
        if thread["status"] == CLOSED:
            return self.lifecycle_result(thread, [])  # R8: a no-op (archived threads are closed, R7)
        return self.lifecycle_result(thread, self.close(thread, now))  # R6

    def archive_thread(self, thread_id: str, now: datetime) -> Expected:
        thread = self.thread(thread_id)
        if thread is None:
            return rejected(NOT_FOUND)
        if thread["archived"]:
            return self.lifecycle_result(thread, [])  # R8
        events = self.close(thread, now) if thread["status"] == OPEN else []  # R7: archiving closes first
        thread["archived"] = True
        events.append("THREAD_ARCHIVED")
        return self.lifecycle_result(thread, events)

    def restore_thread(self, thread_id: str) -> Expected:
        thread = self.thread(thread_id)
        if thread is None:
            return rejected(NOT_FOUND)
        if not thread["archived"]:
            return self.lifecycle_result(thread, [])  # R8
        if thread["by_integration"] and self.live_thread_for_pair(
            thread["account_id"], thread["integration_thread_id"]
        ):
            return rejected(KEY_CONFLICT)  # I1
        thread["archived"] = False  # R7: back CLOSED with the same closedAt
        return self.lifecycle_result(thread, ["THREAD_RESTORED"])

    def reopen_thread(self, thread_id: str) -> Expected:
        thread = self.thread(thread_id)
        if thread is None:
            return rejected(NOT_FOUND)
        if thread["archived"]:
            return rejected(NOT_ALLOWED)  # R8: restore it first (R2: archived threads are never reopened)
        if thread["status"] == OPEN:
            return self.lifecycle_result(thread, [])  # R8
        if not thread["by_integration"]:
            other = self.open_thread_for_key(thread["account_id"], thread["key"])
            if other is not None:
                return rejected(KEY_CONFLICT)  # R8 (I2: R1 does not apply to integration threads)
        return self.lifecycle_result(thread, self.reopen(thread))
