"""Hypothesis strategies for property tests of code that uses threading_engine (needs the ``testing`` extra).

Plural names; size arguments are keyword-only. Valid values come in the many spellings people type
(``"+1 (555) 010-0000"``, ``" Ana@Example.COM "``), so tests exercise canonicalisation (V4) too.

Hostile and careless input, for checking that a store keeps what validation accepts and that what it refuses
is refused with a typed error (``threading_engine.storable``; defined in ``extremes.py``):

- :func:`unicode_texts`, :func:`awkward_characters`: the whole of Unicode, lone surrogates, NUL and other
  controls, combining marks, invisible, astral and noncharacters;
- :func:`long_texts`, :func:`around`: strings at a length limit's edge, in 1- to 4-byte characters;
- :func:`extreme_datetimes`, :func:`timestamp_texts`: times in years 1 and 9999 with offsets up to 24 hours
  (some without a UTC form), in tz-database zones, naive ones on request; and their ISO texts;
- :func:`json_values`, :func:`deeply_nested`: any JSON value at its extremes, and nesting 100,000 deep;
- :func:`publish_message_bodies`, :func:`channel_bodies`, :func:`account_bodies`, :func:`participant_bodies`,
  :func:`identifier_bodies`, built with :func:`hostile`: HubSpot request bodies whose every field may be any
  of the above.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from ..commands import (
    ArchiveThread,
    CloseThread,
    CloseTicket,
    CreateChannel,
    CreateChannelAccount,
    PublishMessage,
    ReopenThread,
    Reply,
    RestoreThread,
    StartConversation,
    ThreadCommand,
)
from ..identifiers import DeliveryIdentifier, IdentifierType
from ..model import Capabilities, Direction, Participant, ThreadingModel
from .extremes import (
    AWKWARD_CHARACTERS,
    account_bodies,
    around,
    awkward_characters,
    channel_bodies,
    deeply_nested,
    extreme_datetimes,
    hostile,
    identifier_bodies,
    json_values,
    long_texts,
    participant_bodies,
    publish_message_bodies,
    timestamp_texts,
    unicode_texts,
)
from .spellings import identifier_spellings, invalid_identifier_spellings

__all__ = [
    "AWKWARD_CHARACTERS",
    "account_bodies",
    "around",
    "awkward_characters",
    "capabilities",
    "channel_accounts",
    "channel_bodies",
    "channels",
    "deeply_nested",
    "delivery_identifiers",
    "extreme_datetimes",
    "hostile",
    "identifier_bodies",
    "identifier_spellings",
    "invalid_identifier_spellings",
    "json_values",
    "long_texts",
    "participant_bodies",
    "participants",
    "publish_message_bodies",
    "publish_messages",
    "start_conversations",
    "thread_commands",
    "timestamp_texts",
    "traces",
    "unicode_texts",
]


def delivery_identifiers(
    *, types: tuple[IdentifierType, ...] = tuple(IdentifierType)
) -> st.SearchStrategy[DeliveryIdentifier]:
    """Canonical delivery identifiers of the given types."""
    return identifier_spellings(types=types).map(lambda pair: DeliveryIdentifier.of(*pair))


def participants(*, types: tuple[IdentifierType, ...] = tuple(IdentifierType)) -> st.SearchStrategy[Participant]:
    """Participants with a canonical identifier of ``types`` and, sometimes, a display name."""
    names = st.none() | st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != "")
    return st.builds(Participant, delivery_identifiers(types=types), names)


def capabilities(
    *, threading_models: tuple[ThreadingModel, ...] = tuple(ThreadingModel), min_types: int = 1
) -> st.SearchStrategy[Capabilities]:
    """Channel capabilities with ``min_types`` to 4 distinct identifier types and one of ``threading_models``."""
    return st.builds(
        Capabilities,
        delivery_identifier_types=st.lists(
            st.sampled_from(list(IdentifierType)), min_size=min_types, max_size=4, unique=True
        ).map(tuple),
        threading_model=st.sampled_from(threading_models),
        allow_outgoing_messages=st.booleans(),
        allow_conversation_start=st.booleans(),
        allow_multiple_recipients=st.booleans(),
    )


def channels(
    *, threading_models: tuple[ThreadingModel, ...] = tuple(ThreadingModel)
) -> st.SearchStrategy[CreateChannel]:
    """``CreateChannel`` commands."""
    return st.builds(
        CreateChannel,
        name=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""),
        capabilities=capabilities(threading_models=threading_models),
        webhook_url=st.none() | st.just("https://integration.example/webhook"),
        channel_logo_url=st.none() | st.just("https://integration.example/logo.png"),
        channel_description=st.none() | st.text(max_size=100),
    )


def channel_accounts(
    channel_id: str, *, types: tuple[IdentifierType, ...] = tuple(IdentifierType)
) -> st.SearchStrategy[CreateChannelAccount]:
    """``CreateChannelAccount`` commands for a channel that allows ``types``."""
    return st.builds(
        CreateChannelAccount,
        channel_id=st.just(channel_id),
        name=st.sampled_from(["Support", "Sales", "Billing"]),
        inbox_id=st.integers(1, 10**6).map(str),
        delivery_identifier=delivery_identifiers(types=types),
        authorized=st.booleans(),
        creates_tickets=st.booleans(),
    )


def publish_messages(
    channel_account_id: str,
    *,
    counterparts: st.SearchStrategy[Participant] | None = None,
    integration_thread_ids: st.SearchStrategy[str | None] | None = None,
    idempotency_ids: st.SearchStrategy[str | None] | None = None,
    min_recipients: int = 0,
    max_recipients: int = 2,
) -> st.SearchStrategy[PublishMessage]:
    """``PublishMessage`` commands from ``counterparts`` (any participant by default)."""
    people = counterparts if counterparts is not None else participants()
    return st.builds(
        PublishMessage,
        channel_account_id=st.just(channel_account_id),
        direction=st.sampled_from(list(Direction)),
        senders=st.lists(people, min_size=1, max_size=2).map(tuple),
        text=st.text(max_size=50),
        recipients=st.lists(people, min_size=min_recipients, max_size=max_recipients).map(tuple),
        timestamp=st.none() | st.datetimes(timezones=st.just(UTC)),
        integration_thread_id=integration_thread_ids if integration_thread_ids is not None else st.none(),
        integration_idempotency_id=idempotency_ids if idempotency_ids is not None else st.none(),
    )


def thread_commands(thread_ids: st.SearchStrategy[str]) -> st.SearchStrategy[ThreadCommand | Reply]:
    """Agent commands on existing threads: close, archive, restore, reopen, close ticket, reply."""
    kinds = st.sampled_from([CloseThread, ArchiveThread, RestoreThread, ReopenThread, CloseTicket])
    lifecycle = st.builds(lambda kind, thread_id: kind(thread_id), kinds, thread_ids)
    return lifecycle | st.builds(Reply, thread_ids, st.text(max_size=20))


def start_conversations(
    channel_account_id: str, *, counterparts: st.SearchStrategy[Participant]
) -> st.SearchStrategy[StartConversation]:
    """``StartConversation`` commands (R5) to one or two of ``counterparts``."""
    return st.builds(
        StartConversation,
        st.just(channel_account_id),
        st.lists(counterparts, min_size=1, max_size=2).map(tuple),
        st.text(max_size=20),
    )


def traces(*, min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[list[str]]:
    """Whole replay traces (SPEC section 8) as JSON lines: two channels, a few customers, hours and days apart.

    Lines may fail (a reply to a closed thread, say): a trace is traffic, not a script that must succeed.
    """
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    phone = st.sampled_from(["+44 20 7946 0001", "+4420 7946 0002", "+1 (555) 010-0003"])
    step = st.sampled_from(
        [timedelta(0), timedelta(minutes=5), timedelta(hours=23, minutes=59), timedelta(hours=24), timedelta(days=2)]
    )

    def participant(value: str) -> dict[str, Any]:
        return {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": value}}

    @st.composite
    def build(draw: st.DrawFn) -> list[str]:
        at = start
        lines: list[dict[str, Any]] = [
            {
                "op": "createChannel",
                "ref": "sms",
                "name": "SMS",
                "capabilities": {
                    "threadingModel": "DELIVERY_IDENTIFIER",
                    "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"],
                    "allowOutgoingMessages": True,
                    "allowConversationStart": True,
                },
            },
            {
                "op": "createChannelAccount",
                "ref": "desk",
                "channel": "sms",
                "name": "Help desk",
                "inboxId": "1",
                "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+1 555 0100"},
                "createsTickets": True,
            },
            {
                "op": "createChannel",
                "ref": "chat",
                "name": "Chat",
                "capabilities": {
                    "threadingModel": "INTEGRATION_THREAD_ID",
                    "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"],
                    "allowOutgoingMessages": True,
                },
            },
            {
                "op": "createChannelAccount",
                "ref": "bot",
                "channel": "chat",
                "name": "Bot",
                "inboxId": "2",
                "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+1 555 0200"},
            },
        ]
        messages: list[str] = []
        for index in range(draw(st.integers(min_size, max_size))):
            at += draw(step)
            kind = draw(
                st.sampled_from(
                    [
                        "in",
                        "in",
                        "out",
                        "chat",
                        "reply",
                        "close",
                        "archive",
                        "restore",
                        "reopen",
                        "closeTicket",
                        "start",
                        "retry",
                    ]
                )
            )
            ref = f"m{index}"
            if kind in ("in", "out", "retry") or (
                kind in ("reply", "close", "archive", "restore", "reopen", "closeTicket") and not messages
            ):
                people = draw(st.lists(phone, min_size=1, max_size=2, unique=True))
                line: dict[str, Any] = {
                    "op": "publishMessage",
                    "ref": ref,
                    "account": "desk",
                    "messageDirection": "OUTGOING" if kind == "out" else "INCOMING",
                    "senders": [participant("+1 555 0100" if kind == "out" else people[0])],
                    "recipients": [participant(p) for p in (people if kind == "out" else people[1:])],
                    "text": "hello",
                    "integrationIdempotencyId": "retry-1" if kind == "retry" else f"id-{index}",
                }
                messages.append(ref)
            elif kind == "chat":
                line = {
                    "op": "publishMessage",
                    "ref": ref,
                    "account": "bot",
                    "messageDirection": "INCOMING",
                    "senders": [participant(draw(phone))],
                    "text": "hi",
                    "integrationThreadId": draw(st.sampled_from(["conv-1", "conv-2"])),
                }
                messages.append(ref)
            elif kind == "start":
                line = {
                    "op": "startConversation",
                    "ref": ref,
                    "account": "desk",
                    "recipients": [participant(draw(phone))],
                    "text": "We shipped your order",
                }
                messages.append(ref)
            elif kind == "reply":
                line = {"op": "reply", "ref": ref, "thread": {"of": draw(st.sampled_from(messages))}, "text": "ok"}
                messages.append(ref)
            else:
                line = {
                    "op": f"{kind}Thread" if kind != "closeTicket" else kind,
                    "thread": {"of": draw(st.sampled_from(messages))},
                }
            lines.append({**line, "at": at.isoformat()})
        return [json.dumps({"at": start.isoformat(), **line}) for line in lines]

    return build()
