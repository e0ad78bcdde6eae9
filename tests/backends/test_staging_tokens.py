"""T1 on every store: a staging token is kept as made, completed once into an account of its portal and inbox,
and refused afterwards; an unknown token or one of another channel's path is NOT_FOUND; nothing a refused
completion tried is stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Engine,
    HubSpotIds,
    IdentifierType,
    NotAllowedError,
    NotFoundError,
    SequentialIds,
    ThreadingModel,
    ValidationError,
    open_repository,
)
from threading_engine.commands import CompleteStagingToken, CreateStagingToken
from threading_engine.events import StagingTokenCreated
from threading_engine.hubspot import connection_url, parse_complete_staging_token, staging_token_to_json
from threading_engine.testing.conformance import snapshot

PHONE = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+1 (555) 010-0200")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "memory":
        url = "memory"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        postgres_url: str = request.getfixturevalue("postgres_url")
        schema = request.getfixturevalue("new_schema")()
        url = f"{postgres_url}?schema={schema}"
    made = Engine(open_repository(url), clock=_Clock(), ids=SequentialIds())
    yield made
    made.close()


def _channel(engine: Engine, *, redirect: str | None = "https://example.com/connect") -> str:
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
    created = engine.create_channel("SMS", capabilities, channel_account_connection_redirect_url=redirect)
    assert created.channel_id is not None
    return created.channel_id


def test_t1_a_token_is_completed_once_into_an_account_of_its_portal_and_inbox(engine: Engine) -> None:
    channel_id = _channel(engine)
    made = engine.execute(CreateStagingToken(channel_id=channel_id, inbox_id="100", portal_id="42", user_id="7"))
    event = made.events[0].event
    assert isinstance(event, StagingTokenCreated) and len(made.events) == 1 and event.rule == "T1"
    token = engine.staging_token(event.token.id)
    assert token == event.token  # the event holds the token as stored
    assert (token.channel_id, token.portal_id, token.inbox_id, token.user_id, token.created_at) == (
        channel_id,
        "42",
        "100",
        "7",
        T0,
    )
    assert not token.completed
    engine.clock.now = T0 + timedelta(minutes=5)  # type: ignore[attr-defined]  # the test's own clock
    done = engine.complete_staging_token(channel_id, token.id, account_name="Front desk", delivery_identifier=PHONE)
    assert done.channel_account_id is not None
    assert [record.event.type for record in done.events] == ["CHANNEL_ACCOUNT_CREATED"]
    account = engine.channel_account(done.channel_account_id)
    assert (account.name, account.inbox_id, account.portal_id, account.delivery_identifier.value) == (
        "Front desk",
        "100",
        "42",
        "+15550100200",
    )
    used = engine.staging_token(token.id)
    assert (used.channel_account_id, used.completed_at, used.account_name) == (account.id, engine.clock(), "Front desk")
    before = snapshot(engine.repository)
    with pytest.raises(NotAllowedError) as refused:
        engine.complete_staging_token(
            channel_id,
            token.id,
            account_name="Again",
            delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100201"),
        )
    assert (refused.value.field, refused.value.value, refused.value.rule) == ("accountToken", token.id, "T1")
    assert snapshot(engine.repository) == before
    assert engine.staging_token(token.id) == used


def test_t1_unknown_tokens_and_other_channels_paths_are_not_found(engine: Engine) -> None:
    channel_id, other_id = _channel(engine), _channel(engine)
    token = engine.create_staging_token(channel_id, inbox_id="100").id
    for channel, account_token in ((channel_id, "token-404"), (other_id, token)):
        with pytest.raises(NotFoundError) as missing:
            engine.complete_staging_token(channel, account_token, account_name="x", delivery_identifier=PHONE)
        assert (missing.value.field, missing.value.rule) == ("accountToken", "T1")
    with pytest.raises(NotFoundError):
        engine.staging_token("token-404")
    with pytest.raises(NotFoundError) as no_channel:
        engine.create_staging_token("channel-404", inbox_id="1")
    assert (no_channel.value.field, no_channel.value.rule) == ("channelId", "T1")
    assert not engine.staging_token(token).completed


def test_t1_completion_checks_the_account_as_a_creation_does(engine: Engine) -> None:
    channel_id = _channel(engine)
    engine.create_channel_account(channel_id, name="Desk", inbox_id="1", delivery_identifier=PHONE)
    token = engine.create_staging_token(channel_id, inbox_id="100").id
    before = snapshot(engine.repository)
    cases: list[tuple[Callable[[], object], str, str]] = [
        (
            lambda: engine.complete_staging_token(channel_id, token, account_name="x", delivery_identifier=PHONE),
            "deliveryIdentifier",
            "V2",
        ),
        (
            lambda: engine.complete_staging_token(
                channel_id,
                token,
                account_name="x",
                delivery_identifier=DeliveryIdentifier.of("HS_EMAIL_ADDRESS", "a@b.c"),
            ),
            "deliveryIdentifier.type",
            "V2",
        ),
        (
            lambda: engine.complete_staging_token(channel_id, token, account_name=" ", delivery_identifier=PHONE),
            "accountName",
            "V2",
        ),
        (lambda: engine.create_staging_token(channel_id, inbox_id="1", user_id="seven"), "userId", "T1"),
        (lambda: engine.create_staging_token(channel_id, inbox_id="1", portal_id="x"), "portalId", "P1"),
    ]
    for attempt, field, rule in cases:
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert (refused.value.field, refused.value.rule) == (field, rule)
    assert snapshot(engine.repository) == before
    assert not engine.staging_token(token).completed


def test_t1_an_archived_channel_gets_no_token_and_completes_none(engine: Engine) -> None:
    channel_id = _channel(engine)
    token = engine.create_staging_token(channel_id, inbox_id="100").id
    engine.archive_channel(channel_id)
    attempts: list[Callable[[], object]] = [
        lambda: engine.create_staging_token(channel_id, inbox_id="100"),
        lambda: engine.complete_staging_token(channel_id, token, account_name="x", delivery_identifier=PHONE),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowedError) as refused:
            attempt()
        assert refused.value.rule == "A1"


def test_t1_a_token_made_and_completed_in_one_batch_is_read_as_saved(engine: Engine) -> None:
    channel_id = _channel(engine)
    made = engine.execute_many([CreateStagingToken(channel_id=channel_id, inbox_id="100")])[0]
    assert not isinstance(made, Exception) and isinstance(made.events[0].event, StagingTokenCreated)
    token_id = made.events[0].event.token.id
    completion = CompleteStagingToken(
        channel_id=channel_id, account_token=token_id, account_name="Desk", delivery_identifier=PHONE
    )
    first, second = engine.execute_many([completion, completion])
    assert not isinstance(first, Exception) and first.channel_account_id is not None
    assert isinstance(second, NotAllowedError) and second.rule == "T1"
    assert len(engine.repository.list_accounts(channel_id)) == 1


def test_t1_hubspot_renders_the_token_and_parses_its_patch() -> None:
    engine = Engine(clock=_Clock(), ids=SequentialIds())
    channel_id = _channel(engine, redirect="https://example.com/connect?app=7&accountToken=stale")
    token_id = engine.create_staging_token(channel_id, inbox_id="100", portal_id="42", user_id="7").id
    token = engine.staging_token(token_id)
    assert staging_token_to_json(token) == {
        "accountToken": token_id,
        "createdAt": "2026-03-02T09:00:00Z",
        "genericChannelId": channel_id,  # not a number: SequentialIds' ids stay text
        "inboxId": 100,
        "userId": 7,
        "threadingEngine": {"portalId": "42"},
    }
    assert connection_url(engine.channel(channel_id), token) == (
        f"https://example.com/connect?app=7&accountToken={token_id}&channelId={channel_id}&inboxId=100&portalId=42"
    )
    assert connection_url(engine.channel(_channel(engine, redirect=None)), token) is None
    body = {"accountName": "Front desk", "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+1 555 010 0200"}}
    command = parse_complete_staging_token(channel_id, token_id, body)
    assert (command.account_name, command.delivery_identifier.value) == ("Front desk", "+15550100200")
    for bad, field in (({"accountName": "x"}, "deliveryIdentifier"), ({**body, "inboxId": 1}, "inboxId"), ([], None)):
        with pytest.raises(ValidationError) as refused:
            parse_complete_staging_token(channel_id, token_id, bad)
        assert refused.value.field == field
    engine.complete_staging_token(channel_id, token_id, account_name="Front desk", delivery_identifier=PHONE)
    facts = staging_token_to_json(engine.staging_token(token_id))["threadingEngine"]
    assert facts == {"portalId": "42", "channelAccountId": "account-1", "completedAt": "2026-03-02T09:00:00Z"}
    assert "threadingEngine" not in staging_token_to_json(token, engine_facts=False)
    with pytest.raises(ValidationError) as missing:  # the engine's own check, for commands built in Python
        engine.execute(CompleteStagingToken(channel_id, token_id, "x", None))  # type: ignore[arg-type]
    assert (missing.value.field, missing.value.rule) == ("deliveryIdentifier", "V2")


def test_t1_hubspots_documented_body_completes_a_token_and_the_answer_has_the_documented_keys() -> None:
    """HubSpot's documented PATCH body (``hubspot_examples``) completes a token; the answer has every key of
    HubSpot's documented answer, of the same JSON types."""
    from hubspot_examples import STAGING_TOKEN, STAGING_TOKEN_UPDATE

    engine = Engine(clock=_Clock(), ids=HubSpotIds())
    capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.DELIVERY_IDENTIFIER)
    channel_id = engine.create_channel("SMS", capabilities).channel_id
    assert channel_id is not None
    token_id = engine.create_staging_token(channel_id, inbox_id="417", user_id="9001").id
    engine.execute(parse_complete_staging_token(channel_id, token_id, STAGING_TOKEN_UPDATE))
    rendered = staging_token_to_json(engine.staging_token(token_id), engine_facts=False)
    assert {key: type(value) for key, value in rendered.items()} == {
        key: type(value) for key, value in STAGING_TOKEN.items()
    }
    assert (rendered["accountName"], rendered["inboxId"], rendered["userId"]) == ("Acme Support", 417, 9001)
