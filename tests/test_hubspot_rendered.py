"""Every document the engine renders is HubSpot's shape: validated against the JSON Schemas the package ships
(``threading_engine.hubspot.schemas``, written from HubSpot's OpenAPI files), for the example replay and for
random traces. Webhook bodies are HubSpot's envelopes with ``portalId`` (P1); the engine's own events are
marked ``domainEvent: true`` (E2); an unset field is left out, never ``null`` (N1)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from threading_engine import Engine, HubSpotIds, SequentialIds
from threading_engine import hubspot as hs
from threading_engine.backends.memory import MemoryRepository
from threading_engine.errors import ThreadingError, ValidationError
from threading_engine.hubspot import schemas
from threading_engine.replay import replay
from threading_engine.testing.strategies import traces

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support-line.jsonl"
WEBHOOK_SCHEMAS = {
    "OUTGOING_CHANNEL_MESSAGE_CREATED": "OutgoingChannelMessageCreatedWebhook",
    "CHANNEL_ACCOUNT_CREATED": "ChannelAccountCreatedWebhook",
    "CHANNEL_ACCOUNT_UPDATED": "ChannelAccountUpdatedWebhook",
}


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.bundled(name))


def rendered_documents(lines: list[str], portal_id: str = "0") -> Iterator[tuple[str, Any]]:
    """(schema name, document) for everything a replay of ``lines`` leaves in the store, and its events, with
    HubSpot-shaped ids (a staging token's ``genericChannelId`` is an integer in HubSpot's schema)."""
    repository = MemoryRepository()
    ids = HubSpotIds()
    results = list(replay(lines, Engine(repository, ids=ids), portal_id=portal_id))
    accounts = {account.id: account for account in repository.list_accounts()}
    for channel in repository.list_channels():
        yield "PublicChannelIntegrationChannel", hs.channel_to_json(channel)
    for account in accounts.values():
        yield "PublicChannelAccount", hs.account_to_json(account, portal_id=portal_id)
    for thread in repository.list_threads():
        account = accounts[thread.channel_account_id]
        yield "PublicThread", hs.thread_to_json(thread, account=account, portal_id=portal_id)
    for message in repository.list_messages():
        channel_id = accounts[message.channel_account_id].channel_id
        yield "PublicConversationsMessage", hs.message_to_json(message, channel_id=channel_id)
    yield (
        "CollectionResponseWithTotalPublicChannelAccount",
        hs.collection_to_json([hs.account_to_json(a) for a in accounts.values()], total=len(accounts), after="2"),
    )
    for result in results:
        for event in result.get("events", ()):
            yield WEBHOOK_SCHEMAS.get(event["type"], "DomainEvent"), event
    engine = Engine(repository, ids=ids)
    for channel in repository.list_channels():  # T1: a token of each channel that takes one
        try:
            made = engine.create_staging_token(channel.id, inbox_id="417", portal_id=portal_id, user_id="9")
        except ThreadingError:
            continue
        yield "PublicChannelAccountStagingToken", hs.staging_token_to_json(made)
    # The pages the service answers, from the engine's paged reads.
    channels = engine.channels_page(limit=1)
    documents = [hs.channel_to_json(channel) for channel in channels.results]
    yield (
        "CollectionResponseWithTotalPublicChannelIntegrationChannel",
        hs.collection_to_json(documents, total=channels.total, after=channels.after),
    )
    threads = engine.threads_page(limit=2, newest_first=True)
    documents = [hs.thread_to_json(t, account=accounts[t.channel_account_id]) for t in threads.results]
    yield "CollectionResponsePublicThreadForwardPaging", hs.collection_to_json(documents, after=threads.after)
    for thread in threads.results:
        messages = engine.messages_page(thread.id, limit=2)
        channel_id = accounts[thread.channel_account_id].channel_id
        documents = [hs.message_to_json(m, channel_id=channel_id) for m in messages.results]
        yield "CollectionResponsePublicMessageForwardPaging", hs.collection_to_json(documents, after=messages.after)


def errors_of(documents: Iterator[tuple[str, Any]]) -> list[str]:
    return [
        f"{name} {list(error.absolute_path)}: {error.message}"
        for name, document in documents
        for error in validator(name).iter_errors(document)
    ]


def test_every_document_of_the_example_replay_is_hubspots_shape() -> None:
    documents = list(rendered_documents(EXAMPLE.read_text(encoding="utf-8").splitlines(), portal_id="62515"))
    kinds = {name for name, _ in documents}
    assert kinds >= {
        "PublicChannelIntegrationChannel",
        "PublicChannelAccount",
        "PublicThread",
        "PublicConversationsMessage",
        "OutgoingChannelMessageCreatedWebhook",
        "ChannelAccountCreatedWebhook",
        "DomainEvent",
        "PublicChannelAccountStagingToken",
        "CollectionResponsePublicThreadForwardPaging",
        "CollectionResponsePublicMessageForwardPaging",
    }
    assert errors_of(iter(documents)) == []


@settings(max_examples=30, deadline=None)
@given(lines=traces(max_size=25))
def test_every_document_of_a_random_trace_is_hubspots_shape(lines: list[str]) -> None:
    assert errors_of(rendered_documents(lines)) == []


def test_p1_webhooks_carry_the_portal_and_domain_events_are_marked() -> None:
    events = [
        event
        for result in replay(
            EXAMPLE.read_text(encoding="utf-8").splitlines(), Engine(ids=SequentialIds()), portal_id="7"
        )
        for event in result.get("events", ())
    ]
    webhooks = [event for event in events if event["type"] in WEBHOOK_SCHEMAS]
    assert webhooks and all(event["portalId"] == "7" and "domainEvent" not in event for event in webhooks)
    assert all(event["domainEvent"] is True and "portalId" not in event for event in events if event not in webhooks)


@pytest.mark.parametrize("portal_id", ["", "12a", "-1", "1" * 21, "١٢", 12])
def test_p1_a_portal_id_is_one_to_twenty_digits(portal_id: object) -> None:
    with pytest.raises(ValidationError) as raised:
        hs.check_portal_id(portal_id)
    assert (raised.value.field, raised.value.rule) == ("portalId", "P1")


def test_n1_a_name_never_given_is_left_out_and_a_closed_threads_closed_at_is_given() -> None:
    documents: dict[str, list[Any]] = {"PublicConversationsMessage": [], "PublicThread": []}
    for name, document in rendered_documents(EXAMPLE.read_text(encoding="utf-8").splitlines()):
        if name in documents:
            documents[name].append(document)
    for message in documents["PublicConversationsMessage"]:
        for participant in (*message["senders"], *message["recipients"]):
            assert participant.get("name", "") is not None
    for thread in documents["PublicThread"]:
        assert ("closedAt" in thread) is (thread["status"] == "CLOSED")
