"""Stateful agreement test: the engine against the naive reference model of SPEC sections 3-6.

A Hypothesis state machine sends the same random commands to an :class:`Engine` and to
:class:`~reference_model.ReferenceModel`, compares every outcome or error code, and maps the engine's thread,
ticket and message ids onto the model's (a bijection, checked at every step). After every step the engine's
store is checked against R1, I1, R2, R3, R6, R7, D1 and the outbox rules of section 6, and its threads,
tickets and messages against the model's.

The world: three channels and four accounts. ``tickets`` and ``desk`` share a DELIVERY_IDENTIFIER channel
(one creates tickets, one does not); ``quiet`` is on a DELIVERY_IDENTIFIER channel that may send nothing and
has the same phone number as ``tickets`` (V2 is per channel); ``integration`` is on an INTEGRATION_THREAD_ID
channel and creates tickets. Counterparts have several spellings of one identifier (V4), so the keys {A},
{B} and {A, B} overlap and must match however they are written.

To run the machine against another backend, subclass :class:`ThreadingMachine` and override
:meth:`~ThreadingMachine.make_repository`, or call :func:`run_stateful_check` with a repository factory.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

from hypothesis import currently_in_test_context, event
from hypothesis import settings as Settings  # noqa: N812 - the settings class, named as Hypothesis does
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from reference_model import Expected, ReferenceModel, ThreadRow

from threading_engine import (
    ArchiveThread,
    Capabilities,
    CloseThread,
    CloseTicket,
    Command,
    CreateChannel,
    CreateChannelAccount,
    DeliveryIdentifier,
    Direction,
    Engine,
    EventRecord,
    IdentifierType,
    Message,
    Participant,
    Policy,
    PublishMessage,
    ReopenClock,
    ReopenThread,
    Reply,
    Repository,
    RestoreThread,
    Result,
    SequentialIds,
    StartConversation,
    Thread,
    ThreadCommand,
    ThreadingError,
    ThreadingModel,
    ThreadStatus,
    UpdateChannelAccount,
)
from threading_engine.backends.memory import MemoryRepository
from threading_engine.events import OutgoingMessageCreated
from threading_engine.identifiers import key_identifiers

PHONE = IdentifierType.HS_PHONE_NUMBER
EMAIL = IdentifierType.HS_EMAIL_ADDRESS
OPAQUE = IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID
SHORT_CODE = IdentifierType.HS_SHORT_CODE
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


# -- the world ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Person:
    """One delivery identifier: its canonical value (V4) and ways an integration might spell it."""

    type: IdentifierType
    canonical: str
    spellings: tuple[str, ...]


PEOPLE: dict[str, Person] = {
    "A": Person(PHONE, "+15550100", ("+15550100", "+1 555 0100", "+1-555-0100", "(+1) 555.0100")),
    "B": Person(EMAIL, "alice@example.com", ("alice@example.com", "Alice@Example.com", " ALICE@EXAMPLE.COM ")),
    "C": Person(PHONE, "+445550200", ("+44 555 0200", "+445550200")),
    # Opaque ids keep their case (V4): "User-42" and "user-42" are two people. Only one channel allows them.
    "U": Person(OPAQUE, "User-42", ("User-42", " User-42 ")),
    "u": Person(OPAQUE, "user-42", ("user-42",)),
    # No channel allows short codes: a V5 type error.
    "X": Person(SHORT_CODE, "12345", ("12345", " 12345")),
}
SELF = "SELF"  # the account's own identifier, whichever account sends


@dataclasses.dataclass(frozen=True)
class AccountSpec:
    channel: str
    person: Person
    creates_tickets: bool


CHANNELS: dict[str, Capabilities] = {
    "full": Capabilities(
        (PHONE, EMAIL),
        ThreadingModel.DELIVERY_IDENTIFIER,
        allow_outgoing_messages=True,
        allow_conversation_start=True,
    ),
    "quiet": Capabilities((PHONE, EMAIL), ThreadingModel.DELIVERY_IDENTIFIER, allow_conversation_start=True),
    "integration": Capabilities(
        (PHONE, EMAIL, OPAQUE),
        ThreadingModel.INTEGRATION_THREAD_ID,
        allow_outgoing_messages=True,
        allow_conversation_start=True,
    ),
}
SHOP_PHONE = Person(PHONE, "+15559990001", ("+1 555 999 0001", "+15559990001"))
ACCOUNTS: dict[str, AccountSpec] = {
    "tickets": AccountSpec("full", SHOP_PHONE, creates_tickets=True),
    "desk": AccountSpec("full", Person(EMAIL, "desk@example.com", ("Desk@Example.COM", "desk@example.com")), False),
    "quiet": AccountSpec("quiet", SHOP_PHONE, creates_tickets=False),
    "integration": AccountSpec("integration", Person(OPAQUE, "Bot-1", ("Bot-1", " Bot-1 ")), creates_tickets=True),
}

Who = tuple[str, int, str | None]
"""A participant as drawn: a key of PEOPLE (or SELF), which spelling to use, and a display name."""

# Provider timestamps, relative to the engine's clock; names and timestamps never matter to D1.
STAMPS: dict[str, timedelta | None] = {
    "absent": None,
    "now": timedelta(0),
    "an hour ago": -timedelta(hours=1),
    "a day ago": -timedelta(hours=24),
    "two days ago": -timedelta(hours=48),
    "in an hour": timedelta(hours=1),
    "naive": timedelta(0),  # V5: rejected
}
INDIA = timezone(timedelta(hours=5, minutes=30))


@dataclasses.dataclass(frozen=True)
class Publish:
    """A publishMessage as drawn, kept so that it can be retried (D1, D2)."""

    account: str
    direction: Direction
    senders: tuple[Who, ...]
    recipients: tuple[Who, ...]
    text: str
    integration_thread_id: str | None
    idempotency_id: str | None
    stamp: str


@dataclasses.dataclass(frozen=True)
class Landed:
    """A message that landed on a thread (the model's message id): how later commands name a thread."""

    message_id: str
    publish: Publish | None = None


RETRY_CHANGES = (
    "identical",
    "respelled, renamed and re-timed",
    "reordered and repeated",
    "default recipient made explicit",
    "other text",
    "other direction",
    "other integration thread id",
    "extra recipient",
    "other account",
)


def retried(publish: Publish, change: str) -> Publish:
    """The same publish again, changed as ``change`` says (only the first four keep D2's payload)."""
    if change == "respelled, renamed and re-timed":

        def respell(who: Who) -> Who:
            return (who[0], who[1] + 1, "Someone Else")

        return dataclasses.replace(
            publish,
            senders=tuple(map(respell, publish.senders)),
            recipients=tuple(map(respell, publish.recipients)),
            stamp="an hour ago" if publish.stamp != "an hour ago" else "absent",
        )
    if change == "reordered and repeated":
        return dataclasses.replace(
            publish,
            senders=(*reversed(publish.senders), publish.senders[0]),
            recipients=tuple(reversed(publish.recipients)),
        )
    if change == "default recipient made explicit":
        if publish.direction is Direction.INCOMING and not publish.recipients:
            return dataclasses.replace(publish, recipients=((SELF, 1, None),))
        return publish
    if change == "other text":
        return dataclasses.replace(publish, text=publish.text + " (edited)")
    if change == "other direction":
        flipped = Direction.OUTGOING if publish.direction is Direction.INCOMING else Direction.INCOMING
        return dataclasses.replace(publish, direction=flipped)
    if change == "other integration thread id":
        return dataclasses.replace(publish, integration_thread_id=(publish.integration_thread_id or "conv") + "-b")
    if change == "extra recipient":
        return dataclasses.replace(publish, recipients=(*publish.recipients, ("B", 0, None)))
    if change == "other account":
        labels = list(ACCOUNTS)
        return dataclasses.replace(publish, account=labels[(labels.index(publish.account) + 1) % len(labels)])
    return publish


# Clock moves as (multiples of the reopen window, plus an offset), so 24 h and 24 h +- 1 us follow the policy.
Step = tuple[int, timedelta]
CLOCK_STEPS: tuple[Step, ...] = (
    (0, MICROSECOND),
    (0, timedelta(seconds=1)),
    (0, timedelta(hours=1)),
    (1, -MICROSECOND),
    (1, timedelta(0)),
    (1, MICROSECOND),
    (2, timedelta(0)),
    (0, -MICROSECOND),
    (0, -timedelta(hours=1)),
    (-1, timedelta(0)),
    (-1, -timedelta(hours=1)),
)
CLOSE_OFFSETS: tuple[Step, ...] = (
    (0, timedelta(0)),
    (0, -MICROSECOND),
    (1, -MICROSECOND),
    (1, timedelta(0)),
    (1, MICROSECOND),
)

LIFECYCLE: dict[str, tuple[type[ThreadCommand], Callable[[Engine, str], Result]]] = {
    "close": (CloseThread, Engine.close_thread),
    "archive": (ArchiveThread, Engine.archive_thread),
    "restore": (RestoreThread, Engine.restore_thread),
    "reopen": (ReopenThread, Engine.reopen_thread),
    "close ticket": (CloseTicket, Engine.close_ticket),
}

# -- strategies ----------------------------------------------------------------------------------------------

account_labels = st.sampled_from(["tickets", "tickets", "tickets", "desk", "quiet", "integration", "integration"])
whos = st.tuples(
    st.sampled_from(["A", "A", "A", "B", "B", "B", "C", SELF, SELF, "U", "u", "X"]),
    st.integers(min_value=0, max_value=3),
    st.sampled_from([None, "Alice", "Bob"]),
)
texts = st.sampled_from(["hi", "hello?", "thanks"])
integration_thread_ids = st.sampled_from(["conv-1", "conv-1", "conv-2", "conv-3", None])
idempotency_ids = st.sampled_from([None, None, None, "idem-1", "idem-2", "idem-3", "idem-4", "idem-5", "idem-6"])
stamps = st.sampled_from([*STAMPS, "absent", "absent"])


class ThreadingMachine(RuleBasedStateMachine):
    """Random commands to an engine and to the reference model; they must agree at every step."""

    policy: ClassVar[Policy] = Policy()
    landed: Bundle[Landed] = Bundle("landed")
    published: Bundle[Landed] = Bundle("published")  # the subset of ``landed`` that the integration published
    closed: Bundle[Landed] = Bundle("closed")  # messages on threads an agent closed or archived (maybe reopened since)

    def make_repository(self) -> Repository:
        """The store under test; override to check another backend against the same model."""
        return MemoryRepository()

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.repository = self.make_repository()
        self.engine = Engine(self.repository, clock=self.clock, ids=SequentialIds(), policy=self.policy)
        self.model = ReferenceModel(self.policy)
        self.to_model: dict[str, dict[str, str]] = {"thread": {}, "ticket": {}, "message": {}}
        self.to_engine: dict[str, dict[str, str]] = {"thread": {}, "ticket": {}, "message": {}}
        self.accounts: dict[str, tuple[str, str]] = {}  # label -> (engine id, model id)
        self.last_sequence = 0
        self.threads_before: dict[str, Thread] = {}
        self.messages_before: set[str] = set()
        self.last_outcome = ""  # the engine's outcome or error code for the last command

    def clock(self) -> datetime:
        return self.now

    def teardown(self) -> None:
        self.engine.close()

    # -- running one command on both sides ---------------------------------------------------------------

    def run_both(self, on_engine: Callable[[], Result], on_model: Command) -> tuple[Result | None, Expected]:
        """Run one command on both; assert they agree (outcome or error code, ids, events); E3."""
        self.threads_before = {t.id: t for t in self.repository.list_threads()}
        self.messages_before = {m.id for m in self.repository.list_messages()}
        expected = self.model.execute(on_model, self.now)
        name = type(on_model).__name__
        try:
            result = on_engine()
        except ThreadingError as error:
            self.last_outcome = error.code
            self.note_outcome(f"{name}: {error.code}")
            assert expected.errors, f"the engine raised {error!r}, the model expected {expected}"
            assert error.code in expected.errors, f"the engine raised {error!r}, the model expected {expected}"
            assert self.new_events() == [], "E3: a rejected command emits nothing"
            return None, expected
        self.last_outcome = result.outcome.value
        self.note_outcome(f"{name}: {result.outcome}")
        assert not expected.errors, f"the engine answered {result}, the model expected {sorted(expected.errors)}"
        assert result.outcome.value == expected.outcome, f"engine {result}, model {expected}"
        self.link("thread", result.thread_id, expected.thread_id)
        self.link("ticket", result.ticket_id, expected.ticket_id)
        self.link("message", result.message_id, expected.message_id)
        records = self.new_events()
        assert tuple(records) == result.events, "the result's events are the ones the outbox recorded"
        assert sorted(r.event.type for r in records) == sorted(expected.events), f"engine {result}, model {expected}"
        for record in records:
            if isinstance(record.event, OutgoingMessageCreated):
                self.check_webhook_thread_id(record.event)
        if records:
            self.last_sequence = records[-1].sequence
        return result, expected

    def note_outcome(self, outcome: str) -> None:
        """Count outcomes for ``--hypothesis-show-statistics``, to see which rules the run reached."""
        if currently_in_test_context():
            event(outcome)

    def new_events(self) -> list[EventRecord]:
        return list(self.repository.read_events(after=self.last_sequence))

    def link(self, kind: str, engine_id: str | None, model_id: str | None) -> None:
        """Map an engine id to a model id, keeping the mapping one-to-one."""
        assert (engine_id is None) == (model_id is None), f"{kind}: engine {engine_id!r}, model {model_id!r}"
        if engine_id is None or model_id is None:
            return
        known = self.to_model[kind].get(engine_id)
        if known is None:
            assert model_id not in self.to_engine[kind], f"{kind} {model_id} is already {self.to_engine[kind]}"
            self.to_model[kind][engine_id] = model_id
            self.to_engine[kind][model_id] = engine_id
        else:
            assert known == model_id, f"engine {kind} {engine_id} is model {known}, not {model_id}"

    def check_webhook_thread_id(self, webhook: OutgoingMessageCreated) -> None:
        """R5: the engine's thread id under DELIVERY_IDENTIFIER, the integration's own under I1."""
        thread = self.model_thread_of_engine(webhook.message.thread_id)
        wanted = thread["integration_thread_id"] if thread["by_integration"] else webhook.message.thread_id
        assert webhook.channel_integration_thread_id == wanted

    def model_thread_of_engine(self, engine_thread_id: str) -> ThreadRow:
        thread = self.model.thread(self.to_model["thread"][engine_thread_id])
        assert thread is not None
        return thread

    # -- turning drawn values into commands ----------------------------------------------------------------

    def participants(self, account: str, drawn: tuple[Who, ...], *, spelled: bool) -> tuple[Participant, ...]:
        """The engine gets raw spellings; the model gets canonical values (it does not model V4)."""
        result = []
        for label, spelling, name in drawn:
            person = ACCOUNTS[account].person if label == SELF else PEOPLE[label]
            value = person.spellings[spelling % len(person.spellings)] if spelled else person.canonical
            result.append(Participant(DeliveryIdentifier(person.type, value), name))
        return tuple(result)

    def timestamp(self, stamp: str) -> datetime | None:
        offset = STAMPS[stamp]
        if offset is None:
            return None
        if stamp == "naive":
            return (self.now + offset).replace(tzinfo=None)
        return (self.now + offset).astimezone(INDIA)

    def window_step(self, step: Step) -> timedelta:
        windows, extra = step
        return self.policy.reopen_window * windows + extra

    def publish(self, spec: Publish) -> Landed | MultipleResults[Landed]:
        engine_account, model_account = self.accounts[spec.account]
        timestamp = self.timestamp(spec.stamp)
        result, expected = self.run_both(
            lambda: self.engine.publish_message(
                engine_account,
                direction=spec.direction,
                senders=self.participants(spec.account, spec.senders, spelled=True),
                recipients=self.participants(spec.account, spec.recipients, spelled=True),
                text=spec.text,
                timestamp=timestamp,
                integration_thread_id=spec.integration_thread_id,
                integration_idempotency_id=spec.idempotency_id,
            ),
            PublishMessage(
                model_account,
                spec.direction,
                self.participants(spec.account, spec.senders, spelled=False),
                spec.text,
                self.participants(spec.account, spec.recipients, spelled=False),
                timestamp,
                spec.integration_thread_id,
                spec.idempotency_id,
            ),
        )
        if result is None or expected.message_id is None or expected.outcome == "DUPLICATE":
            return multiple()
        return Landed(expected.message_id, spec)

    def thread_of(self, landed: Landed) -> tuple[str, str]:
        """(engine id, model id) of the thread a message landed on."""
        message = self.model.message(landed.message_id)
        assert message is not None
        return self.to_engine["thread"][message["thread_id"]], message["thread_id"]

    # -- setup -----------------------------------------------------------------------------------------------

    @initialize()
    def connect_accounts(self) -> None:
        channels: dict[str, tuple[str, str]] = {}
        for label, capabilities in CHANNELS.items():
            result, expected = self.run_both(
                functools.partial(self.engine.create_channel, label, capabilities), CreateChannel(label, capabilities)
            )
            assert result is not None and result.channel_id is not None and expected.channel_id is not None
            channels[label] = (result.channel_id, expected.channel_id)
        for label, spec in ACCOUNTS.items():
            engine_channel, model_channel = channels[spec.channel]
            canonical = DeliveryIdentifier(spec.person.type, spec.person.canonical)
            result, expected = self.run_both(
                functools.partial(
                    self.engine.create_channel_account,
                    engine_channel,
                    name=label,
                    inbox_id=f"inbox-{label}",
                    delivery_identifier=DeliveryIdentifier(spec.person.type, spec.person.spellings[0]),
                    creates_tickets=spec.creates_tickets,
                ),
                CreateChannelAccount(model_channel, label, f"inbox-{label}", canonical, True, spec.creates_tickets),
            )
            assert result is not None and result.channel_account_id is not None
            assert expected.account_id is not None
            self.accounts[label] = (result.channel_account_id, expected.account_id)
        # V2: the same number spelled another way is taken on its channel, and a short code is not allowed.
        engine_full, model_full = channels["full"]
        for person in (dataclasses.replace(SHOP_PHONE, spellings=("+1-555-999-0001",)), PEOPLE["X"]):
            self.run_both(
                functools.partial(
                    self.engine.create_channel_account,
                    engine_full,
                    name="again",
                    inbox_id="inbox-again",
                    delivery_identifier=DeliveryIdentifier(person.type, person.spellings[0]),
                ),
                CreateChannelAccount(
                    model_full, "again", "inbox-again", DeliveryIdentifier(person.type, person.canonical)
                ),
            )

    # -- messages --------------------------------------------------------------------------------------------

    @rule(
        targets=(landed, published),
        account=account_labels,
        direction=st.sampled_from(Direction),
        senders=st.lists(whos, min_size=1, max_size=2).map(tuple),
        recipients=st.lists(whos, max_size=2).map(tuple),
        text=texts,
        integration_thread_id=integration_thread_ids,
        idempotency_id=idempotency_ids,
        stamp=stamps,
    )
    def publish_message(
        self,
        account: str,
        direction: Direction,
        senders: tuple[Who, ...],
        recipients: tuple[Who, ...],
        text: str,
        integration_thread_id: str | None,
        idempotency_id: str | None,
        stamp: str,
    ) -> Landed | MultipleResults[Landed]:
        """R0, R3, R4, I1, V5, V6, D1: the integration publishes a message it received or mirrors."""
        return self.publish(
            Publish(account, direction, senders, recipients, text, integration_thread_id, idempotency_id, stamp)
        )

    @rule(
        targets=(landed, published),
        account=account_labels,
        sender=st.sampled_from(["A", "B"]),
        spelling=st.integers(min_value=0, max_value=3),
        idempotency_id=idempotency_ids,
    )
    def customer_writes(
        self, account: str, sender: str, spelling: int, idempotency_id: str | None
    ) -> Landed | MultipleResults[Landed]:
        """R4: the common case, a customer writing to the account, so that keys {A} and {B} fill up."""
        thread_id = "conv-1" if sender == "A" else "conv-2"
        return self.publish(
            Publish(
                account, Direction.INCOMING, ((sender, spelling, None),), (), "hi", thread_id, idempotency_id, "now"
            )
        )

    @rule(
        targets=(landed, published),
        message=landed,
        direction=st.sampled_from([Direction.INCOMING, Direction.INCOMING, Direction.OUTGOING]),
        spelling=st.integers(min_value=0, max_value=3),
        idempotency_id=idempotency_ids,
        stamp=stamps,
    )
    def write_on_thread(
        self, message: Landed, direction: Direction, spelling: int, idempotency_id: str | None, stamp: str
    ) -> Landed | MultipleResults[Landed]:
        """R3, R4, I1: a thread's participants write again (INCOMING), or the business does from elsewhere.

        Incoming goes to the open thread, the reopened one, or a new one; outgoing never reopens (R3) and, under
        I1, fails with THREAD_NOT_OPEN on a closed thread.
        """
        _, model_thread = self.thread_of(message)
        thread = self.model.thread(model_thread)
        assert thread is not None
        account = next(label for label, ids in self.accounts.items() if ids[1] == thread["account_id"])
        them: list[Who] = [
            (label, spelling, None) for label, p in PEOPLE.items() if (p.type.value, p.canonical) in thread["key"]
        ]
        me: Who = (SELF, spelling, None)
        if not them:
            them = [me]  # an integration thread whose only participant is the account itself
        if direction is Direction.OUTGOING:
            senders, recipients = (me,), tuple(them)
        else:
            senders, recipients = (them[0],), (*them[1:], me) if len(them) > 1 else ()
        publish = Publish(
            account, direction, senders, recipients, "again", thread["integration_thread_id"], idempotency_id, stamp
        )
        return self.publish(publish)

    @rule(
        targets=(landed, published),
        message=closed,
        direction=st.sampled_from([Direction.INCOMING, Direction.INCOMING, Direction.OUTGOING]),
        spelling=st.integers(min_value=0, max_value=3),
        stamp=stamps,
    )
    def write_after_close(
        self, message: Landed, direction: Direction, spelling: int, stamp: str
    ) -> Landed | MultipleResults[Landed]:
        """R3, R4b, I1: as :meth:`write_on_thread`, on a thread an agent closed (it may have reopened since)."""
        return self.write_on_thread(message, direction, spelling, None, stamp)

    @rule(targets=(landed, published), original=published, change=st.sampled_from(RETRY_CHANGES))
    def retry_publish(self, original: Landed, change: str) -> Landed | MultipleResults[Landed]:
        """D1/D2: the integration publishes again, with the same payload or another."""
        assert original.publish is not None
        return self.publish(retried(original.publish, change))

    @rule(target=landed, message=landed, text=texts)
    def reply(self, message: Landed, text: str) -> Landed | MultipleResults[Landed]:
        """R3, R5: an agent replies on the thread a message landed on."""
        engine_thread, model_thread = self.thread_of(message)
        result, expected = self.run_both(lambda: self.engine.reply(engine_thread, text), Reply(model_thread, text))
        return multiple() if result is None or expected.message_id is None else Landed(expected.message_id)

    @rule(
        target=landed, account=account_labels, recipients=st.lists(whos, min_size=1, max_size=2).map(tuple), text=texts
    )
    def start_conversation(
        self, account: str, recipients: tuple[Who, ...], text: str
    ) -> Landed | MultipleResults[Landed]:
        """R3, I1: an agent writes to recipients; the key's open thread or a new one, never a closed one."""
        engine_account, model_account = self.accounts[account]
        result, expected = self.run_both(
            lambda: self.engine.start_conversation(
                engine_account, recipients=self.participants(account, recipients, spelled=True), text=text
            ),
            StartConversation(model_account, self.participants(account, recipients, spelled=False), text),
        )
        return multiple() if result is None or expected.message_id is None else Landed(expected.message_id)

    # -- thread lifecycle and accounts -----------------------------------------------------------------------

    @rule(
        target=closed,
        message=landed,
        action=st.sampled_from(sorted(LIFECYCLE)),
        missing=st.sampled_from([False] * 7 + [True]),
    )
    def change_thread(self, message: Landed, action: str, missing: bool) -> Landed | MultipleResults[Landed]:
        """R6, R7, R8, I1: an agent closes, archives, restores or reopens a thread (or one that does not exist)."""
        command, method = LIFECYCLE[action]
        engine_thread, model_thread = ("thread-missing", "thread-missing") if missing else self.thread_of(message)
        self.run_both(lambda: method(self.engine, engine_thread), command(model_thread))
        thread = self.model.thread(model_thread)
        return message if thread is not None and thread["status"] == "CLOSED" else multiple()

    @rule(account=account_labels, authorized=st.sampled_from([True, True, False]))
    def authorize(self, account: str, authorized: bool) -> None:
        """V5 and D1: a disconnected account accepts no messages, but its old idempotency ids still answer."""
        engine_account, model_account = self.accounts[account]
        self.run_both(
            lambda: self.engine.update_channel_account(engine_account, authorized=authorized),
            UpdateChannelAccount(model_account, authorized=authorized),
        )

    # -- the clock -------------------------------------------------------------------------------------------

    @rule(step=st.sampled_from(CLOCK_STEPS))
    def move_clock(self, step: Step) -> None:
        """R4: time passes (by the window, a microsecond either side of it) or the clock goes backwards."""
        self.now += self.window_step(step)

    @rule(message=closed, offset=st.sampled_from(CLOSE_OFFSETS))
    def set_clock_from_close(self, message: Landed, offset: Step) -> None:
        """R4: put the clock at a thread's closedAt plus the window, a microsecond either side, or before it."""
        _, model_thread = self.thread_of(message)
        thread = self.model.thread(model_thread)
        assert thread is not None
        self.now = (thread["closed_at"] or thread["created_at"]) + self.window_step(offset)

    # -- invariants on the engine's store --------------------------------------------------------------------

    @invariant()
    def r1_one_open_thread_per_key(self) -> None:
        seen: set[tuple[str, str]] = set()
        for thread in self.repository.list_threads():
            if thread.integration_thread_id is None and thread.is_open:
                pair = (thread.channel_account_id, thread.key)
                assert pair not in seen, f"R1: two open threads for {pair}"
                seen.add(pair)

    @invariant()
    def i1_one_live_thread_per_integration_thread_id(self) -> None:
        seen: set[tuple[str, str]] = set()
        for thread in self.repository.list_threads():
            if thread.integration_thread_id is not None and not thread.archived:
                pair = (thread.channel_account_id, thread.integration_thread_id)
                assert pair not in seen, f"I1: two live threads for {pair}"
                seen.add(pair)

    @invariant()
    def r2_r3_messages_land_only_where_allowed(self) -> None:
        """R2: nothing lands on an archived thread; R3: an OUTGOING message only on a thread already open."""
        threads = {t.id: t for t in self.repository.list_threads()}
        for message in self.repository.list_messages():
            if message.id in self.messages_before:
                continue
            before = self.threads_before.get(message.thread_id)
            after = threads[message.thread_id]
            assert after.is_open, f"R2/R3: message {message.id} left thread {after} not open"
            if before is not None:
                assert not before.archived, f"R2: message {message.id} landed on archived {before}"
                if message.direction is Direction.OUTGOING:
                    assert before.is_open, f"R3: outgoing message {message.id} landed on {before}"

    @invariant()
    def r6_ticket_follows_thread(self) -> None:
        for thread in self.repository.list_threads():
            if thread.ticket_id is not None:
                ticket = self.repository.get_ticket(thread.ticket_id)
                assert ticket is not None and ticket.thread_id == thread.id
                assert (ticket.status.value == "OPEN") == (thread.status is ThreadStatus.OPEN), f"R6: {thread}"

    @invariant()
    def r7_archived_threads_are_closed(self) -> None:
        for thread in self.repository.list_threads():
            assert not thread.archived or thread.status is ThreadStatus.CLOSED, f"R7: {thread}"
            assert (thread.closed_at is not None) == (thread.status is ThreadStatus.CLOSED), f"R7: {thread}"

    @invariant()
    def d1_one_message_per_idempotency_id(self) -> None:
        seen: set[tuple[str, str]] = set()
        for message in self.repository.list_messages():
            if message.integration_idempotency_id is not None:
                pair = (message.channel_account_id, message.integration_idempotency_id)
                assert pair not in seen, f"D1: two messages for {pair}"
                seen.add(pair)

    @invariant()
    def outbox_sequence_increases(self) -> None:
        """Section 6: unique event ids and a strictly increasing sequence."""
        records = self.repository.read_events()
        sequences = [r.sequence for r in records]
        assert all(a < b for a, b in itertools.pairwise(sequences)), sequences
        assert len({r.event_id for r in records}) == len(records)

    @invariant()
    def engine_agrees_with_model(self) -> None:
        """Every engine thread, ticket and message matches the model's: status, archived, closedAt, key, count."""
        threads = self.repository.list_threads()
        assert len(threads) == len(self.model.threads)
        for thread in threads:
            mine = self.model_thread_of_engine(thread.id)
            assert (thread.status.value, thread.archived, thread.closed_at) == (
                mine["status"],
                mine["archived"],
                mine["closed_at"],
            ), f"engine {thread}, model {mine}"
            assert thread.integration_thread_id == mine["integration_thread_id"]
            assert {(i.type.value, i.value) for i in key_identifiers(thread.key)} == mine["key"], "R0"
            assert (thread.ticket_id is None) == (mine["ticket_id"] is None)
            if thread.ticket_id is not None:
                ticket = self.repository.get_ticket(thread.ticket_id)
                model_ticket = self.model.ticket(mine["ticket_id"])
                assert ticket is not None and model_ticket is not None
                assert self.to_model["ticket"][ticket.id] == model_ticket["id"]
                assert ticket.status.value == model_ticket["status"], "R6"
            count = len(self.repository.list_messages(thread.id))
            assert count == len(self.model.messages_on(mine["id"])), f"message count of {thread.id}"
        messages = self.repository.list_messages()
        assert len(messages) == len(self.model.messages)
        for message in messages:
            self.check_message(message)

    def check_message(self, message: Message) -> None:
        mine = self.model.message(self.to_model["message"][message.id])
        assert mine is not None
        assert self.to_model["thread"][message.thread_id] == mine["thread_id"]
        assert message.direction.value == mine["direction"]
        # V4 and section 8: canonical identifiers; an incoming message's recipients default to the account.
        assert {(p.delivery_identifier.type.value, p.delivery_identifier.value) for p in message.senders} == mine[
            "senders"
        ]
        assert {(p.delivery_identifier.type.value, p.delivery_identifier.value) for p in message.recipients} == mine[
            "recipients"
        ]


TestThreadingAgainstModel = ThreadingMachine.TestCase


class ProviderTimestampMachine(ThreadingMachine):
    """R4's engine option: the window measured to the provider's timestamp, clamped to arrival; a 1 h window."""

    policy = Policy(reopen_window=timedelta(hours=1), reopen_clock=ReopenClock.PROVIDER_TIMESTAMP)


TestProviderTimestampAgainstModel = ProviderTimestampMachine.TestCase


def run_stateful_check(make_repository: Callable[[], Repository], *, settings: Settings | None = None) -> None:
    """Run the agreement machine against the store ``make_repository`` makes (one new store per example)."""

    class Machine(ThreadingMachine):
        def make_repository(self) -> Repository:
            return make_repository()

    run_state_machine_as_test(Machine, settings=settings)


# -- the edges above, pinned as plain examples -----------------------------------------------------------------


def connected() -> ThreadingMachine:
    machine = ThreadingMachine()
    machine.connect_accounts()
    return machine


def check_invariants(machine: ThreadingMachine) -> None:
    machine.r1_one_open_thread_per_key()
    machine.i1_one_live_thread_per_integration_thread_id()
    machine.r2_r3_messages_land_only_where_allowed()
    machine.r6_ticket_follows_thread()
    machine.r7_archived_threads_are_closed()
    machine.d1_one_message_per_idempotency_id()
    machine.outbox_sequence_increases()
    machine.engine_agrees_with_model()


def landed_message(value: Landed | MultipleResults[Landed]) -> Landed:
    assert isinstance(value, Landed), value
    return value


def test_r4_one_microsecond_inside_the_window_reopens() -> None:
    machine = connected()
    first = landed_message(machine.customer_writes("tickets", "A", 0, None))
    machine.change_thread(first, "close", missing=False)
    machine.set_clock_from_close(first, (1, -MICROSECOND))
    again = landed_message(machine.customer_writes("tickets", "A", 1, None))  # another spelling of A (V4)
    assert machine.last_outcome == "REOPENED"
    assert machine.thread_of(again) == machine.thread_of(first)
    check_invariants(machine)


def test_r4_exactly_the_window_after_close_starts_a_new_thread() -> None:
    machine = connected()
    first = landed_message(machine.customer_writes("tickets", "A", 0, None))
    machine.change_thread(first, "close", missing=False)
    machine.set_clock_from_close(first, (1, timedelta(0)))
    again = landed_message(machine.customer_writes("tickets", "A", 2, None))
    assert machine.last_outcome == "CREATED"
    assert machine.thread_of(again) != machine.thread_of(first)
    check_invariants(machine)


def test_r4_a_clock_behind_closed_at_counts_as_zero_elapsed() -> None:
    machine = connected()
    first = landed_message(machine.customer_writes("desk", "B", 0, None))
    machine.change_thread(first, "close", missing=False)
    machine.move_clock((-1, -timedelta(hours=1)))
    machine.customer_writes("desk", "B", 1, None)
    assert machine.last_outcome == "REOPENED"
    check_invariants(machine)


def test_r4_a_tie_on_closed_at_reopens_the_thread_created_last() -> None:
    machine = connected()
    first = landed_message(machine.customer_writes("tickets", "A", 0, None))
    machine.change_thread(first, "close", missing=False)
    # R3: the business writes from elsewhere; that never reopens, so it starts a second thread for {A}.
    second = landed_message(machine.write_on_thread(first, Direction.OUTGOING, 0, None, "absent"))
    assert machine.last_outcome == "CREATED"
    machine.change_thread(second, "close", missing=False)  # the same clock reading: a tie on closedAt
    third = landed_message(machine.customer_writes("tickets", "A", 3, None))
    assert machine.last_outcome == "REOPENED"
    assert machine.thread_of(third) == machine.thread_of(second)
    check_invariants(machine)


def test_r0_overlapping_keys_are_different_threads() -> None:
    machine = connected()
    alone = landed_message(machine.customer_writes("tickets", "A", 0, None))
    other = landed_message(machine.customer_writes("tickets", "B", 0, None))
    group = landed_message(
        machine.publish_message(
            "tickets", Direction.INCOMING, (("A", 1, None),), (("B", 2, None), (SELF, 1, None)), "hi", None, None, "now"
        )
    )
    assert len({machine.thread_of(m) for m in (alone, other, group)}) == 3
    check_invariants(machine)


def test_d1_a_retry_after_the_account_is_disconnected_is_still_a_duplicate() -> None:
    machine = connected()
    first = landed_message(
        machine.publish_message(
            "tickets", Direction.INCOMING, (("A", 0, "Ann"),), (), "hi", None, "idem-1", "an hour ago"
        )
    )
    machine.authorize("tickets", authorized=False)
    machine.retry_publish(first, "respelled, renamed and re-timed")
    assert machine.last_outcome == "DUPLICATE"
    machine.retry_publish(first, "default recipient made explicit")
    assert machine.last_outcome == "DUPLICATE"
    machine.retry_publish(first, "other text")
    assert machine.last_outcome in {"IDEMPOTENCY_CONFLICT", "NOT_ALLOWED"}  # SPEC section 7: either applies
    check_invariants(machine)


def test_i1_outgoing_to_a_closed_thread_fails_and_incoming_reopens_it_without_a_window() -> None:
    machine = connected()
    first = landed_message(machine.customer_writes("integration", "A", 0, None))
    machine.change_thread(first, "close", missing=False)
    machine.move_clock((2, timedelta(0)))
    machine.write_on_thread(first, Direction.OUTGOING, 0, None, "absent")
    assert machine.last_outcome == "THREAD_NOT_OPEN"
    machine.write_on_thread(first, Direction.INCOMING, 0, None, "absent")
    assert machine.last_outcome == "REOPENED"
    check_invariants(machine)


def test_r4_provider_timestamp_option_is_clamped_to_arrival() -> None:
    machine = ProviderTimestampMachine()
    machine.connect_accounts()
    first = landed_message(machine.customer_writes("tickets", "A", 0, None))
    machine.change_thread(first, "close", missing=False)
    # A provider time an hour ahead counts as the arrival time, still inside the 1 h window.
    machine.write_after_close(first, Direction.INCOMING, 1, "in an hour")
    assert machine.last_outcome == "REOPENED"
    machine.change_thread(first, "close", missing=False)
    machine.move_clock((2, timedelta(0)))
    # Arrival is two windows after closing, but the provider says it was sent before the close: zero elapsed.
    machine.write_after_close(first, Direction.INCOMING, 2, "two days ago")
    assert machine.last_outcome == "REOPENED"
    check_invariants(machine)
