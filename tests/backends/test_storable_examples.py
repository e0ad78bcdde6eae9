"""Each value that once broke a store, on memory, SQLite and PostgreSQL: refused alike with a typed error that
names the field, value and rule, or accepted and kept alike (``threading_engine.storable``; V2-V6, D1, R0, I1).

Before these rules, a lone surrogate passed validation and failed in the store with a UnicodeEncodeError; a
time without a UTC form was committed and then made every read of its thread raise OverflowError; NUL, ids of
thousands of characters and groups of long opaque ids passed on memory and SQLite but not on PostgreSQL.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    IdentifierType,
    Outcome,
    Participant,
    PublishMessage,
    ThreadingError,
    ThreadingModel,
)

from .three_stores import CUSTOMER, OWN, Answer, Trio, TrioFactory, set_up

pytestmark = pytest.mark.postgres

# The limits the README states ("Limits"), written out: these tests hold the library to its word.
MAX_TEXT_LENGTH = 1_000_000
MAX_ID_LENGTH = 128
MAX_EXTERNAL_ID_LENGTH = 512
FAR_FUTURE = datetime.fromisoformat("9999-12-31T23:59:59-23:59")  # 10000-01-01 in UTC: Python has no such year
FAR_PAST = datetime.fromisoformat("0001-01-01T00:00:00+14:00")  # 0000-12-31 in UTC


def publish(**fields: object) -> PublishMessage:
    """An incoming message on account-1 from CUSTOMER, with ``fields`` changed."""
    values: dict[str, object] = {
        "channel_account_id": "account-1",
        "direction": Direction.INCOMING,
        "senders": (Participant(CUSTOMER),),
        "text": "hello",
    }
    return PublishMessage(**{**values, **fields})  # type: ignore[arg-type]


def refused(trio: Trio, command: PublishMessage, field: str, rule: str) -> Answer:
    outcome = trio.each(lambda engine: engine.execute(command))
    assert outcome[:5] == ("refused", "ValidationError", "VALIDATION_ERROR", field, rule), outcome
    return outcome


# -- 1: lone surrogates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"text": "caf\ud800"}, "text", "V5"),
        ({"senders": (Participant(CUSTOMER, "Ana\udfff"),)}, "senders[0].name", "V5"),
        ({"integration_idempotency_id": "wamid.\udc00"}, "integrationIdempotencyId", "D1"),
        ({"integration_thread_id": "conv-\ud800"}, "integrationThreadId", "V6"),
    ],
)
def test_v5_a_lone_surrogate_is_refused_alike_by_every_store(
    trios: TrioFactory, change: dict[str, object], field: str, rule: str
) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        outcome = refused(trio, publish(**change), field, rule)
        assert "lone surrogate" in outcome[5]


def test_v4_a_lone_surrogate_in_an_identifier_is_refused() -> None:
    for kind in ("CHANNEL_SPECIFIC_OPAQUE_ID", "HS_EMAIL_ADDRESS"):
        with pytest.raises(ThreadingError) as caught:
            DeliveryIdentifier.of(kind, "ana\ud800@example.com")
        assert (caught.value.code, caught.value.field, caught.value.rule) == (
            "VALIDATION_ERROR",
            "deliveryIdentifier.value",
            "V4",
        )


def test_v5_a_surrogate_in_a_batch_leaves_the_batch_s_other_commands_alone(trios: TrioFactory) -> None:
    """``execute_many``: the refused command gets its error, the valid ones around it are stored."""
    with trios.fresh() as trio:
        set_up(trio)
        batch = [publish(text="before"), publish(text="\ud800"), publish(text="after")]
        outcome = trio.each(lambda engine: [type(result).__name__ for result in engine.execute_many(batch)])
        assert outcome == ("ok", ["Result", "ValidationError", "Result"])
        texts = [message.text for message in trio.engines[2].repository.list_messages()]
        assert texts == ["hello", "before", "after"]


# -- 2: times without a UTC form -------------------------------------------------------------------------


@pytest.mark.parametrize("moment", [FAR_FUTURE, FAR_PAST], ids=["9999-12-31T23:59:59-23:59", "0001-01-01+14:00"])
def test_v5_a_provider_timestamp_without_a_utc_form_is_refused(trios: TrioFactory, moment: datetime) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        outcome = refused(trio, publish(timestamp=moment), "timestamp", "V5")
        assert "has no UTC form" in outcome[5]
        trio.each(lambda engine: engine.thread("thread-1"))  # the store still answers


@pytest.mark.parametrize("moment", [FAR_FUTURE, FAR_PAST], ids=["9999-12-31T23:59:59-23:59", "0001-01-01+14:00"])
def test_v5_an_engine_time_without_a_utc_form_is_refused_and_nothing_is_stored(
    trios: TrioFactory, moment: datetime
) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        trio.clock.now = moment
        outcome = trio.each(lambda engine: engine.close_thread("thread-1"))
        assert outcome[2:5] == ("VALIDATION_ERROR", "clock", "V5")
        at = trio.each(lambda engine: [type(r).__name__ for r in engine.execute_many([publish()], times=[moment])])
        assert at == ("ok", ["ValidationError"])
        trio.each(lambda engine: engine.messages("thread-1"))


def test_v5_an_offset_with_a_fraction_of_a_second_is_refused_alike(trios: TrioFactory) -> None:
    """The SQL stores read such a time back as another instant (Python's ISO form of the offset does not
    round-trip), so it is refused, as a timestamp and as the engine's time."""
    odd = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(microseconds=1)))
    with trios.fresh() as trio:
        set_up(trio)
        assert "fraction of a second" in refused(trio, publish(timestamp=odd), "timestamp", "V5")[5]
        trio.clock.now = odd
        assert trio.each(lambda engine: engine.close_thread("thread-1"))[2:5] == ("VALIDATION_ERROR", "clock", "V5")


def test_v5_the_first_and_last_instants_utc_holds_are_kept_alike(trios: TrioFactory) -> None:
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    with trios.fresh() as trio:
        set_up(trio)
        trio.clock.now = last.astimezone(timezone(-timedelta(hours=23, minutes=59)))
        created = trio.each(lambda engine: engine.execute(publish(timestamp=first, text="the first instant")))
        assert created[0] == "ok"


# -- 4 and 8: what PostgreSQL could not store, and what no identifier should hold --------------------------


@pytest.mark.parametrize(
    ("change", "field", "rule", "problem"),
    [
        ({"integration_idempotency_id": "a\x00b"}, "integrationIdempotencyId", "D1", "control character"),
        ({"integration_thread_id": "conv\x00"}, "integrationThreadId", "V6", "control character"),
        ({"integration_idempotency_id": "x" * (MAX_EXTERNAL_ID_LENGTH + 1)}, "integrationIdempotencyId", "D1", "512"),
        ({"integration_thread_id": "\u200b\u200c"}, "integrationThreadId", "V6", "invisible"),
        ({"text": "x" * (MAX_TEXT_LENGTH + 1)}, "text", "V5", "1,000,000 characters"),
    ],
)
def test_d1_v6_ids_every_store_cannot_index_are_refused_alike(
    trios: TrioFactory, change: dict[str, object], field: str, rule: str, problem: str
) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        assert problem in refused(trio, publish(**change), field, rule)[5]


@pytest.mark.parametrize(
    "value",
    ["ana\x00@example.com", "ana\u200b@example.com", "ana@exam\x7fple.com", "\ufeffana@example.com"],
    ids=["NUL", "zero-width space", "DEL", "byte order mark"],
)
def test_v4_control_and_invisible_characters_in_an_e_mail_address_are_refused(value: str) -> None:
    with pytest.raises(ThreadingError, match="control or invisible character") as caught:
        DeliveryIdentifier.of("HS_EMAIL_ADDRESS", value)
    assert (caught.value.field, caught.value.rule) == ("deliveryIdentifier.value", "V4")


@pytest.mark.parametrize("value", ["\u200b", "\u200d\ufeff", "\u2060\u00ad", "\U000e0001", "\u3164"])
def test_v4_an_opaque_id_of_invisible_characters_only_is_refused(value: str) -> None:
    with pytest.raises(ThreadingError, match="holds only invisible characters"):
        DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", value)
    assert DeliveryIdentifier.of("CHANNEL_SPECIFIC_OPAQUE_ID", f"a{value}b").value == f"a{value}b"  # kept inside


def test_r0_a_group_whose_key_overflows_a_b_tree_row_is_kept_alike(trios: TrioFactory) -> None:
    """20 opaque ids of 256 characters make a key of some 15,000 bytes, which does not compress: stored, and
    found again (R1)."""
    shuffled = random.Random(20)
    group = tuple(
        Participant(
            DeliveryIdentifier.of(
                "CHANNEL_SPECIFIC_OPAQUE_ID", "".join(chr(shuffled.randrange(0x4E00, 0x9FFF)) for _ in range(256))
            )
        )
        for _ in range(20)
    )
    with trios.fresh() as trio:
        set_up(trio)
        first = trio.each(lambda engine: engine.execute(publish(senders=group)))
        again = trio.each(lambda engine: engine.execute(publish(senders=group[::-1], text="again")))
        assert first[1].outcome is Outcome.CREATED
        assert (again[1].outcome, again[1].thread_id) == (Outcome.APPENDED, first[1].thread_id)


def test_the_longest_ids_fit_every_index_together(trios: TrioFactory) -> None:
    """Ids the engine makes, at their longest in 4-byte characters, beside the longest idempotency id (D1) and
    integration thread id (I1): one B-tree row of PostgreSQL holds both."""

    def longest_ids() -> Callable[[str], str]:
        numbers = itertools.count(1)
        return lambda kind: f"{kind}-{next(numbers):04}".ljust(MAX_ID_LENGTH, "\U0001f600")

    longest = "\U0001f600" * MAX_EXTERNAL_ID_LENGTH
    with trios.fresh() as trio:
        for engine in trio.engines:
            engine.ids = longest_ids()
        capabilities = Capabilities((IdentifierType.HS_PHONE_NUMBER,), ThreadingModel.INTEGRATION_THREAD_ID)
        channel = trio.each(lambda engine: engine.create_channel("Chat", capabilities))[1].channel_id
        account = trio.each(
            lambda engine: engine.create_channel_account(channel, name="Bot", inbox_id="1", delivery_identifier=OWN)
        )[1].channel_account_id
        assert len(account) == MAX_ID_LENGTH
        changes = {"integration_thread_id": longest, "integration_idempotency_id": longest}
        outcome = trio.each(lambda engine: engine.execute(publish(channel_account_id=account, **changes)))
        assert outcome[0] == "ok" and outcome[1].outcome is Outcome.CREATED, outcome
        again = trio.each(lambda engine: engine.execute(publish(channel_account_id=account, **changes)))
        assert again[1].outcome is Outcome.DUPLICATE


def test_ids_an_id_factory_makes_that_no_store_can_keep_are_refused(trios: TrioFactory) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        for engine in trio.engines:
            engine.ids = lambda kind: f"{kind}\x00"
        outcome = trio.each(lambda engine: engine.close_thread("thread-1"))
        assert outcome[2:4] == ("VALIDATION_ERROR", "ids")


# -- 6: ids of the wrong type ----------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", [["thread-1"], {"id": "thread-1"}, 12345, None, b"thread-1", "thread-1\x00"])
def test_ids_of_the_wrong_type_name_nothing_on_every_store(trios: TrioFactory, wrong: object) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        for action in (
            lambda engine: engine.close_thread(wrong),
            lambda engine: engine.reply(wrong, "hi"),
            lambda engine: engine.thread(wrong),
            lambda engine: engine.publish_message(wrong, direction=Direction.INCOMING, senders=[CUSTOMER], text="x"),
        ):
            outcome = trio.each(action)
            assert outcome[2] == "NOT_FOUND" and outcome[3] in ("threadId", "channelAccountId"), outcome
        if wrong is not None:  # threads(None) lists them all
            assert trio.each(lambda engine: engine.threads(wrong)) == ("ok", [])  # type: ignore[arg-type]
        assert trio.each(lambda engine: engine.acknowledge([wrong]) if isinstance(wrong, str) else 0) == ("ok", 0)


def test_an_engine_read_cites_no_rule_but_a_command_does(trios: TrioFactory) -> None:
    with trios.fresh() as trio:
        set_up(trio)
        assert trio.each(lambda engine: engine.thread("thread-9"))[3:5] == ("threadId", None)
        assert trio.each(lambda engine: engine.archive_thread("thread-9"))[3:5] == ("threadId", "R7")
