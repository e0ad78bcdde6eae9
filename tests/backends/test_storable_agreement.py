"""Whatever the engine accepts, memory, SQLite and PostgreSQL keep, read back and render alike; whatever it
refuses, all three refuse with the same typed error (``threading_engine.storable``, V1-V6).

Hostile input (the whole of Unicode, extreme times and sizes, any JSON value) goes in through HubSpot's JSON
edge (``hubspot.parse_*``) and through the Engine API; after every step the three stores must agree on the
outcome, on everything they hold (``snapshot``) and on its JSON (``hubspot.*_to_json``, ``event_to_json``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from threading_engine import (
    ArchiveThread,
    CloseThread,
    CloseTicket,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Outcome,
    Participant,
    ReopenThread,
    RestoreThread,
    hubspot,
)
from threading_engine.storable import (
    MAX_EXTERNAL_ID_LENGTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    has_surrogate,
    moment_problem,
    shown,
)
from threading_engine.testing.strategies import (
    account_bodies,
    around,
    channel_bodies,
    extreme_datetimes,
    hostile,
    json_values,
    long_texts,
    participant_bodies,
    publish_message_bodies,
    unicode_texts,
)

from .three_stores import CUSTOMER, TrioFactory, set_up

pytestmark = pytest.mark.postgres

# The setup every example starts from: channel-1/account-1 keyed by delivery identifiers, channel-2/account-2
# by integration thread ids, and thread-1, an open thread of account-1's.
ACCOUNTS = ("account-1", "account-2")
THREADS = ("thread-1", "thread-1", "thread-2")
# In CI (the ``ci`` profile) a few times the default, but bounded: every example writes to three stores.
EXAMPLES = min(settings().max_examples, 80)


class Step:
    """One thing done to the three engines, shown by what it does when Hypothesis reports a failure."""

    def __init__(self, name: str, action: Callable[..., object], *arguments: object) -> None:
        self.name, self.action, self.arguments = name, action, arguments

    def __call__(self, engine: Engine) -> object:
        return self.action(engine, *self.arguments)

    def __repr__(self) -> str:
        return f"{self.name}{shown(self.arguments)}"


def parse_and_execute(engine: Engine, parse: Callable[..., Any], *arguments: object) -> object:
    """Parse a HubSpot body (pure, so alike on every store) and execute its command."""
    return engine.execute(parse(*arguments))


def publish(engine: Engine, account: str, *values: Any) -> object:
    senders, text, timestamp, thread_ref, idempotency_id = values
    return engine.publish_message(
        account,
        direction=Direction.INCOMING,
        senders=senders,
        text=text,
        timestamp=timestamp,
        integration_thread_id=thread_ref,
        integration_idempotency_id=idempotency_id,
    )


def step(name: str, action: Callable[..., object], *arguments: st.SearchStrategy[Any]) -> st.SearchStrategy[Step]:
    return st.builds(lambda *drawn: Step(name, action, *drawn), *arguments)


ids = hostile(st.sampled_from(THREADS), lengths=around(MAX_ID_LENGTH))
texts = hostile(st.just("hello"), lengths=around(MAX_TEXT_LENGTH))
names = hostile(st.none() | st.just("Ana"), lengths=around(MAX_NAME_LENGTH))
external_ids = st.none() | hostile(st.just("wamid.1"), lengths=around(MAX_EXTERNAL_ID_LENGTH))
participants_api = st.lists(
    st.builds(
        Participant,
        st.sampled_from([CUSTOMER, DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", "user-7")]),
        names,
    ),
    min_size=1,
    max_size=2,
)
lifecycle = st.sampled_from([CloseThread, ArchiveThread, RestoreThread, ReopenThread, CloseTicket])
steps: st.SearchStrategy[Step] = st.one_of(
    step(
        "parse_publish_message",
        parse_and_execute,
        st.just(hubspot.parse_publish_message),
        st.sampled_from(ACCOUNTS).flatmap(publish_message_bodies),
    ),
    step(
        "publish_message",
        publish,
        hostile(st.sampled_from(ACCOUNTS)),
        participants_api,
        texts,
        st.none() | extreme_datetimes(naive=True),
        st.sampled_from([None, "conv-1"]) | external_ids,
        external_ids,
    ),
    step("parse_create_channel", parse_and_execute, st.just(hubspot.parse_create_channel), channel_bodies()),
    step(
        "parse_create_account",
        parse_and_execute,
        st.just(hubspot.parse_create_account),
        hostile(st.sampled_from(["channel-1", "channel-2"])),
        account_bodies(),
    ),
    step("reply", Engine.reply, ids, texts),
    step(
        "parse_start_conversation",
        parse_and_execute,
        st.just(hubspot.parse_start_conversation),
        hostile(st.just("account-1")),
        st.fixed_dictionaries(
            {"recipients": hostile(st.lists(participant_bodies(), min_size=1, max_size=2)), "text": texts}
        ),
    ),
    step("lifecycle", lambda engine, kind, thread: engine.execute(kind(thread)), lifecycle, ids),
    step("thread", Engine.thread, ids),
    step("messages", Engine.messages, ids),
    step("threads", Engine.threads, hostile(st.sampled_from(ACCOUNTS))),
)
# Mostly the usual time; now and then any time, or no time at all, for the one step.
clock_times = st.one_of([st.none()] * 6 + [extreme_datetimes(naive=True), json_values(max_leaves=2)])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.tuples(clock_times, steps), min_size=1, max_size=6))
def test_every_store_keeps_what_validation_accepts_and_refuses_the_rest_alike(
    trios: TrioFactory, script: list[tuple[object, Step]]
) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        usual = trio.clock.now
        for now, step in script:
            trio.clock.now = usual if now is None else now  # the engine's own time must be storable too (V5)
            outcome = trio.each(step)
            event(f"{step.name}: {'accepted' if outcome[0] == 'ok' else outcome[2:5]}")


limit_characters = st.sampled_from(["x", "\u00e9", "\u20ac", "\U0001f600"])  # 1 to 4 bytes in UTF-8
valid_times = extreme_datetimes().filter(lambda moment: moment_problem(moment) is None)


@settings(max_examples=max(EXAMPLES // 2, 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    character=limit_characters,
    text=unicode_texts().filter(lambda text: not has_surrogate(text)) | long_texts(lengths=(MAX_TEXT_LENGTH,)),
    name=long_texts(lengths=(1, MAX_NAME_LENGTH)),
    timestamp=st.none() | valid_times,
    now=valid_times,
    by_integration=st.booleans(),
)
def test_values_at_every_limit_are_accepted_and_kept_alike(
    trios: TrioFactory,
    character: str,
    text: str,
    name: str,
    timestamp: datetime | None,
    now: datetime,
    by_integration: bool,
) -> None:
    """What validation accepts, at the edge of every limit (ids of the longest length in 4-byte characters, a
    text of a million characters, the first and last instants UTC holds), every store takes and indexes:
    nothing accepted is refused by a store (V1-V6, D1's and I1's indexes, V2's identifier index)."""
    external_id = character * MAX_EXTERNAL_ID_LENGTH
    opaque = DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", character * 256)
    with trios.fresh() as trio:
        set_up(trio)
        trio.clock.now = now
        account = trio.each(
            lambda engine: engine.create_channel_account(
                "channel-2" if by_integration else "channel-1",
                name=name,
                inbox_id=character * MAX_ID_LENGTH,
                delivery_identifier=opaque,
            )
        )
        assert account[0] == "ok", account
        publishing = Step(
            "publish_message",
            publish,
            "account-2" if by_integration else "account-1",
            [Participant(opaque, name), Participant(CUSTOMER, name)],
            text,
            timestamp,
            external_id,
            external_id,
        )
        published = trio.each(publishing)
        assert published[0] == "ok", published
        again = trio.each(publishing)  # found again by its idempotency id, the longest there is (D1)
        assert again[0] == "ok" and again[1].outcome is Outcome.DUPLICATE


@settings(max_examples=max(EXAMPLES // 2, 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=st.integers(2, 30),
    character=limit_characters,
    others=st.lists(participant_bodies(types=(IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID,)), max_size=3),
)
def test_r0_groups_of_long_ids_are_kept_alike_by_every_store(
    trios: TrioFactory, members: int, character: str, others: list[dict[str, Any]]
) -> None:
    """Keys as long as their participants make them (R0), up to 30 ids of 256 characters of up to 4 bytes each:
    every store indexes them, finds the group's open thread again by its key, and U1 still holds."""
    senders = [
        {"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": f"{n:03}" + character * 253}}
        for n in range(members)
    ]
    body = {
        "messageDirection": "INCOMING",
        "senders": [*senders, *others],
        "text": "group",
        "channelAccountId": "account-1",
    }
    with trios.fresh() as trio:
        set_up(trio)
        first = trio.each(Step("parse_publish_message", parse_and_execute, hubspot.parse_publish_message, body))
        again = trio.each(Step("parse_publish_message", parse_and_execute, hubspot.parse_publish_message, body))
        if first[0] == "ok":
            assert again[1].outcome is Outcome.APPENDED and again[1].thread_id == first[1].thread_id


def test_the_engine_clock_refuses_times_it_could_not_store_on_every_store(trios: TrioFactory) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        trio.clock.now = datetime.fromisoformat("9999-12-31T23:59:59-23:59")
        refused = trio.each(lambda engine: engine.reply("thread-1", "hi"))
        assert refused[2:5] == ("VALIDATION_ERROR", "clock", "V5")
