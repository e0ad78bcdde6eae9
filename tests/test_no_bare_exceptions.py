"""No input makes a public entry point raise anything but a ThreadingError (SPEC section 7): the Engine API
(its methods, ``execute`` and ``execute_many``), HubSpot's parsers, and the store URL parser.

Each is fed values of every type and shape: the whole of Unicode, huge integers, NaN, extreme times, nesting
100,000 deep, objects that are no value at all. A value nested that deep once raised RecursionError from the
error message that tried to show it; ``https://[::1`` raised ValueError; ids of the wrong type raised TypeError.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threading_engine import (
    ArchiveThread,
    Capabilities,
    CloseThread,
    Command,
    CreateChannel,
    CreateChannelAccount,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    NotFoundError,
    Participant,
    Policy,
    PublishMessage,
    Reply,
    SequentialIds,
    StartConversation,
    ThreadingError,
    ThreadingModel,
    UpdateChannel,
    UpdateChannelAccount,
    ValidationError,
    hubspot,
    open_repository,
)
from threading_engine.reads import AccountFilter, ThreadFilter
from threading_engine.testing.extremes import nested
from threading_engine.testing.strategies import (
    extreme_datetimes,
    json_values,
    publish_message_bodies,
    unicode_texts,
)

OWN = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100")
CUSTOMER = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460001")
anything = st.one_of(
    json_values(),
    unicode_texts(),
    extreme_datetimes(naive=True),
    st.sampled_from([b"bytes", object(), OWN, Participant(OWN), CUSTOMER.type, Direction.INCOMING, timedelta(1)]),
    st.lists(json_values(max_leaves=2), max_size=2).map(tuple),
)


def engine_with_a_thread() -> Engine:
    engine = Engine(ids=SequentialIds(), clock=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    capabilities = Capabilities(
        tuple(IdentifierType),
        ThreadingModel.DELIVERY_IDENTIFIER,
        allow_outgoing_messages=True,
        allow_conversation_start=True,
    )
    engine.execute(CreateChannel("SMS", capabilities))
    engine.execute(CreateChannelAccount("channel-1", "Desk", "1", OWN, creates_tickets=True))
    engine.publish_message("account-1", direction=Direction.INCOMING, senders=[CUSTOMER], text="hi")
    return engine


def only_threading_errors(action: Callable[[], object]) -> None:
    try:
        action()
    except ThreadingError as error:
        assert error.code and len(error.message) < 2_000, error  # a short message, however huge the value
        assert str(error) == error.message


ENGINE_CALLS: dict[str, Callable[[Engine, Any, Any], object]] = {
    "create_channel": lambda engine, a, b: engine.create_channel(a, b),
    "create_channel_with_urls": lambda engine, a, b: engine.create_channel(
        "SMS", Capabilities((IdentifierType.HS_PHONE_NUMBER,)), webhook_url=a, channel_logo_url=b
    ),
    "update_channel": lambda engine, a, b: engine.update_channel(a, name=b, channel_description=b),
    "create_channel_account": lambda engine, a, b: engine.create_channel_account(
        "channel-1", name=a, inbox_id=b, delivery_identifier=OWN
    ),
    "create_channel_account_identifier": lambda engine, a, b: engine.create_channel_account(
        a, name="Desk", inbox_id="2", delivery_identifier=b
    ),
    "update_channel_account": lambda engine, a, b: engine.update_channel_account(a, name=b, authorized=b),
    "publish_message": lambda engine, a, b: engine.publish_message(
        "account-1", direction=Direction.INCOMING, senders=[CUSTOMER], text=a, timestamp=b
    ),
    "publish_message_ids": lambda engine, a, b: engine.publish_message(
        a, direction=Direction.OUTGOING, senders=[OWN], recipients=[CUSTOMER], text="hi", integration_thread_id=b
    ),
    "publish_message_people": lambda engine, a, b: engine.publish_message(
        "account-1", direction=b, senders=a, text="hi", integration_idempotency_id=b
    ),
    "reply": lambda engine, a, b: engine.reply(a, b),
    "start_conversation": lambda engine, a, b: engine.start_conversation(a, recipients=b, text="hi"),
    "close_thread": lambda engine, a, b: engine.close_thread(a),
    "archive_thread": lambda engine, a, b: engine.archive_thread(a),
    "restore_thread": lambda engine, a, b: engine.restore_thread(a),
    "reopen_thread": lambda engine, a, b: engine.reopen_thread(a),
    "close_ticket": lambda engine, a, b: engine.close_ticket(a),
    "reads": lambda engine, a, b: [
        engine.channel(a),
        engine.channel_account(a),
        engine.thread(a),
        engine.ticket(a),
        engine.message(a),
        engine.messages(a),
    ],
    "lists": lambda engine, a, b: [engine.threads(a), engine.pending_events(b)],
    "create_staging_token": lambda engine, a, b: engine.create_staging_token(a, inbox_id=b, portal_id=b, user_id=a),
    "complete_staging_token": lambda engine, a, b: engine.complete_staging_token(
        "channel-1", a, account_name=b, delivery_identifier=b
    ),
    "staging_token": lambda engine, a, b: engine.staging_token(a),
    "pages": lambda engine, a, b: [
        engine.channels_page(after=a, limit=b),
        engine.accounts_page(a, after=b),
        engine.threads_page(a, after=b, newest_first=b),
        engine.messages_page(a, after=b, limit=b),
    ],
    "page_filters": lambda engine, a, b: [
        engine.accounts_page(
            AccountFilter(channel_ids=a, portal_id=b, archived=b, identifier_types=a, identifier_values=b, inbox_ids=a)
        ),
        engine.threads_page(
            ThreadFilter(
                portal_id=a,
                channel_account_id=b,
                status=a,
                archived=b,
                inbox_ids=b,
                key=a,
                ticket_id=b,
                latest_message_after=a,
            )
        ),
    ],
    "acknowledge": lambda engine, a, b: engine.acknowledge(a),
    "execute": lambda engine, a, b: engine.execute(a),
    "execute_many": lambda engine, a, b: engine.execute_many(a, times=b),
    "execute_many_commands": lambda engine, a, b: engine.execute_many([Reply("thread-1", "hi"), a], times=b),
    "clock": lambda engine, a, b: Engine(engine.repository, clock=lambda: a).close_thread("thread-1"),
    "ids": lambda engine, a, b: Engine(engine.repository, ids=lambda kind: a).create_channel(
        "SMS", Capabilities((IdentifierType.HS_PHONE_NUMBER,))
    ),
    "policy": lambda engine, a, b: Engine(engine.repository, policy=Policy(a, b)),
}
commands = st.one_of(
    st.builds(PublishMessage, anything, anything, anything, anything, anything, anything, anything, anything),
    st.builds(Reply, anything, anything),
    st.builds(StartConversation, anything, anything, anything),
    st.builds(CloseThread, anything),
    st.builds(ArchiveThread, anything),
    st.builds(CreateChannel, anything, anything, anything, anything, anything),
    st.builds(CreateChannelAccount, anything, anything, anything, anything, anything, anything),
    st.builds(UpdateChannel, anything, anything, anything, anything, anything),
    st.builds(UpdateChannelAccount, anything, anything, anything),
    st.builds(Command),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(call=st.sampled_from(sorted(ENGINE_CALLS)), first=anything | commands, second=anything | commands)
def test_the_engine_api_raises_only_threading_errors(call: str, first: object, second: object) -> None:
    engine = engine_with_a_thread()
    only_threading_errors(lambda: ENGINE_CALLS[call](engine, first, second))
    engine.thread("thread-1")  # and the store still answers


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(command=commands)
def test_execute_raises_only_threading_errors_for_any_command(command: Command) -> None:
    engine = engine_with_a_thread()
    only_threading_errors(lambda: engine.execute(command))
    results = engine.execute_many([command, Reply("thread-1", "still here")])
    assert all(isinstance(result, ThreadingError) for result in results[:1] if not hasattr(result, "outcome"))


PARSERS: dict[str, Callable[[Any, Any], object]] = {
    "parse_create_channel": lambda a, b: hubspot.parse_create_channel(a),
    "parse_update_channel": hubspot.parse_update_channel,
    "parse_create_account": hubspot.parse_create_account,
    "parse_update_account": hubspot.parse_update_account,
    "parse_publish_message": lambda a, b: hubspot.parse_publish_message(a),
    "parse_reply": hubspot.parse_reply,
    "parse_start_conversation": hubspot.parse_start_conversation,
    "parse_capabilities": lambda a, b: hubspot.parse_capabilities(a),
    "parse_delivery_identifier": lambda a, b: hubspot.parse_delivery_identifier(a),
    "parse_participants": lambda a, b: hubspot.parse_participants(a, "senders"),
    "parse_timestamp": lambda a, b: hubspot.parse_timestamp(a),
    "parse_complete_staging_token": lambda a, b: hubspot.parse_complete_staging_token("channel-1", "token-1", a),
}
bodies = st.one_of(
    json_values(),
    publish_message_bodies("account-1"),
    st.dictionaries(st.sampled_from(["name", "capabilities", "text", "recipients", "inboxId"]), json_values()),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(parser=st.sampled_from(sorted(PARSERS)), first=bodies | anything, second=bodies | anything)
def test_the_hubspot_parsers_raise_only_validation_errors(parser: str, first: object, second: object) -> None:
    try:
        PARSERS[parser](second, first)
        PARSERS[parser](first, second)
    except ThreadingError as error:
        assert isinstance(error, ValidationError | NotFoundError), error
        assert len(error.message) < 2_000


@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_a_value_nested_100_000_deep_is_a_validation_error_not_a_recursion_error(parser: str) -> None:
    for deep in (nested("list"), nested("object")):
        for body in (deep, {"text": deep, "name": deep}, {"capabilities": {"richText": deep}}):
            only_threading_errors(lambda body=body, deep=deep: PARSERS[parser](body, deep))  # type: ignore[misc]


def test_a_value_nested_100_000_deep_in_a_typed_field_of_the_api() -> None:
    engine = engine_with_a_thread()
    deep = nested("list")
    for call in sorted(ENGINE_CALLS):
        only_threading_errors(lambda call=call: ENGINE_CALLS[call](engine, deep, deep))  # type: ignore[misc]
    with pytest.raises(ValidationError, match=r"^text \[\[\[\[\[.*\]\]\]\]\] is not a string \(V5\)$"):
        engine.publish_message("account-1", direction=Direction.INCOMING, senders=[CUSTOMER], text=deep)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url", ["https://[::1", "https://[::1]:99999/logo.png", "https://", "https://:80/", "https://ex\u200bample.com"]
)
def test_v3_a_url_that_does_not_parse_is_a_validation_error(url: str) -> None:
    engine = engine_with_a_thread()
    for field, change in (("webhookUrl", {"webhook_url": url}), ("channelLogoUrl", {"channel_logo_url": url})):
        with pytest.raises(ValidationError) as raised:
            engine.update_channel("channel-1", **change)  # type: ignore[arg-type]  # str values only
        assert (raised.value.field, raised.value.rule) == (field, "V3")
        with pytest.raises(ValidationError):
            hubspot.parse_update_channel("channel-1", {field: url})


# -- store URLs -------------------------------------------------------------------------------------------


def refused_store(url: object, words: str) -> ValidationError:
    with pytest.raises(ValidationError, match=words) as raised:
        open_repository(url)  # type: ignore[arg-type]
    assert raised.value.field == "store"
    return raised.value


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql://127.0.0.1:5432/test?foo=bar", 'invalid URI query parameter: "foo"'),
        ("postgresql://[::1/test", "IPv6"),
        ("postgresql://127.0.0.1:notaport/test", "port 'notaport' is not a number from 1 to 65535"),
        ("postgresql://127.0.0.1:99999/test", "port '99999' is not a number from 1 to 65535"),
        ("postgresql://a b/test", "spaces"),
        ("postgresql://user:secret@[::1/test", r"\*\*\*"),
        ("postgresql://127.0.0.1/test?schema=public", "shared by every role"),
        ("postgresql://127.0.0.1/test?schema=information_schema", "PostgreSQL's own"),
        ("postgresql://127.0.0.1/test?schema=pg_catalog", "PostgreSQL's own"),
        ("postgresql://127.0.0.1/te\x00st", "control character"),
        ("sqlite:///store?.db", r"a \? in the path would start them"),
        ("sqlite:///store#1.db", "a # would end its path"),
        ("sqlite:///store.db?synchronous=normal#x", "a # would end its path"),
        ("sqlite:///st\x00ore.db", "control character"),
        ("sqlite:///st\ud800ore.db", "lone surrogate"),
        ("sqlite:///x.db?view_cache=\u0663", "view_cache"),
    ],
)
def test_store_urls_that_name_no_store_are_refused_before_anything_opens(url: str, words: str) -> None:
    error = refused_store(url, words)
    assert "secret" not in error.message


def test_a_store_url_that_is_not_a_string_is_refused() -> None:
    for url in (None, 5, ["memory"], b"memory"):
        refused_store(url, "it is not a string")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    url=unicode_texts(max_size=40)
    | st.builds(lambda tail: f"sqlite:///{tail}", unicode_texts(max_size=20))
    | st.builds(
        lambda host, rest: f"postgresql://{host}{rest}",
        st.sampled_from(["127.0.0.1:1", "[::1", "h o", "%zz@x", "127.0.0.1:notaport", "", "u:p@127.0.0.1:1"]),
        unicode_texts(max_size=20),
    )
)
def test_the_store_url_parser_raises_only_threading_errors(tmp_path: Path, url: str, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # relative SQLite paths land here
    try:
        repository = open_repository(url)
    except ThreadingError as error:
        assert error.code in ("VALIDATION_ERROR", "STORAGE_ERROR")
    else:
        repository.close()
