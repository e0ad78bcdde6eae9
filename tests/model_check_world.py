"""One engine and one reference model side by side, fed the same commands, and the checks that compare them.

:class:`World` runs a step on both sides and raises :class:`~model_check_actions.Disagreement` when they differ
or the engine's store breaks an invariant; the free functions are the checks and canonical forms it uses.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Hashable, Sequence
from datetime import datetime

from model_check_actions import (
    FIXED_ACTIONS,
    LIFECYCLE,
    MODELS,
    NAMES,
    PHONE,
    PHONES,
    POLICY,
    START,
    VERBS,
    WINDOW,
    WINDOW_EDGES,
    Action,
    Disagreement,
    History,
    MoveClock,
    OnThread,
    Publish,
    Start,
    Step,
    Taken,
)
from reference_model import Expected, ReferenceModel

from threading_engine import (
    Capabilities,
    Command,
    CreateChannel,
    CreateChannelAccount,
    DeliveryIdentifier,
    Direction,
    Engine,
    EventRecord,
    Message,
    Participant,
    Policy,
    PublishMessage,
    Reply,
    Repository,
    Result,
    SequentialIds,
    StartConversation,
    Thread,
    ThreadingError,
    ThreadStatus,
    Ticket,
)
from threading_engine.events import OutgoingMessageCreated

# -- one engine and one model side by side -----------------------------------------------------------------------


def participants(*names: str) -> tuple[Participant, ...]:
    return tuple(Participant(DeliveryIdentifier(PHONE, PHONES[name])) for name in names)


def names_of(identifiers: Sequence[Participant] | frozenset[tuple[str, str]]) -> tuple[str, ...]:
    """Who a message's senders or recipients are, as sorted names (unknown identifiers as themselves)."""
    pairs = {
        (item.delivery_identifier.type.value, item.delivery_identifier.value) if isinstance(item, Participant) else item
        for item in identifiers
    }
    return tuple(sorted(NAMES.get(pair, ":".join(pair)) for pair in pairs))


def publish_command(action: Publish, account_id: str) -> PublishMessage:
    """The command for ``action``; an incoming group message is sent by the first person to the rest (R0)."""
    if action.direction is Direction.INCOMING:
        senders = participants(*action.people[:1])
        recipients = participants(*action.people[1:], action.account) if len(action.people) > 1 else ()
    else:
        senders, recipients = participants(action.account), participants(*action.people)
    return PublishMessage(
        account_id,
        action.direction,
        senders,
        action.text,
        recipients,
        None,
        action.integration_thread_id,
        action.idempotency_id,
    )


class World:
    """An engine on ``repository`` and a reference model, fed the same commands at the same clock readings."""

    def __init__(self, repository: Repository, engine_policy: Policy = POLICY) -> None:
        self.repository = repository
        self.now = START
        # One attempt: a commit the store refuses (a broken uniqueness rule) is reported at once, not retried.
        self.engine = Engine(repository, clock=self.clock, ids=SequentialIds(), policy=engine_policy, max_attempts=1)
        self.model = ReferenceModel(POLICY)
        self.accounts: dict[str, tuple[str, str]] = {}  # label -> (engine id, model id)
        self.engine_labels: dict[str, str] = {}  # engine account id -> label
        self.model_labels: dict[str, str] = {}  # model account id -> label
        self.last_sequence = 0
        self.connect()

    def clock(self) -> datetime:
        return self.now

    def connect(self) -> None:
        """The fixed prefix: one channel and one ticket-creating account per threading model."""
        for label, threading_model in MODELS.items():
            capabilities = Capabilities(
                (PHONE,), threading_model, allow_outgoing_messages=True, allow_conversation_start=True
            )
            channel = self.engine.execute(CreateChannel(label, capabilities))
            model_channel = self.model.execute(CreateChannel(label, capabilities), self.now)
            assert channel.channel_id is not None and model_channel.channel_id is not None
            identifier = DeliveryIdentifier(PHONE, PHONES[label])
            account = self.engine.execute(
                CreateChannelAccount(channel.channel_id, label, f"inbox-{label}", identifier, creates_tickets=True)
            )
            model_account = self.model.execute(
                CreateChannelAccount(model_channel.channel_id, label, f"inbox-{label}", identifier, True, True),
                self.now,
            )
            assert account.channel_account_id is not None and model_account.account_id is not None
            self.accounts[label] = (account.channel_account_id, model_account.account_id)
            self.engine_labels[account.channel_account_id] = label
            self.model_labels[model_account.account_id] = label
        self.last_sequence = self.latest_sequence()

    def close(self) -> None:
        self.engine.close()

    def latest_sequence(self) -> int:
        events = self.repository.read_events()
        return events[-1].sequence if events else 0

    # -- actions -----------------------------------------------------------------------------------------------

    def actions(self) -> list[Action]:
        """Every action this state offers: the fixed ones, six per thread, three per distinct closedAt."""
        available: list[Action] = list(FIXED_ACTIONS)
        closings: dict[datetime, int] = {}
        for position, thread in enumerate(self.model.threads):
            available.extend(OnThread(verb, position) for verb in VERBS)
            if thread["closed_at"] is not None:
                closings.setdefault(thread["closed_at"], position)
        for position in closings.values():
            available.extend(MoveClock(edge, position) for edge in WINDOW_EDGES)
        return available

    def step_for(self, action: Action) -> Step:
        """``action`` taken now; a clock move says where it puts the clock."""
        if not isinstance(action, MoveClock):
            return Step(action, self.now)
        if action.after_close_of is None:
            return Step(action, self.now + action.by)
        closed_at = self.model.threads[action.after_close_of]["closed_at"]
        assert closed_at is not None, "only closed threads offer window edges"
        return Step(action, closed_at + WINDOW + action.by)

    def commands_for(self, action: Action) -> tuple[Command, Command] | None:
        """The engine's and the model's command for ``action`` (thread positions become each side's ids)."""
        if isinstance(action, MoveClock):
            return None
        if isinstance(action, OnThread):
            # Resolved afresh in every world rather than remembered: ids are the engine's business.
            engine_id = self.repository.list_threads()[action.thread].id
            model_id = self.model.threads[action.thread]["id"]
            if action.verb == "reply":
                return Reply(engine_id, "on it"), Reply(model_id, "on it")
            command = LIFECYCLE[action.verb]
            return command(engine_id), command(model_id)
        engine_account, model_account = self.accounts[action.account]
        if isinstance(action, Start):
            recipients = participants(*action.people)
            return (
                StartConversation(engine_account, recipients, "hello"),
                StartConversation(model_account, recipients, "hello"),
            )
        return publish_command(action, engine_account), publish_command(action, model_account)

    def replay(self, history: History) -> None:
        """Rebuild a state whose every step was checked when it was first reached: run them again, unchecked."""
        for step in history:
            self.now = step.at
            commands = self.commands_for(step.action)
            if commands is None:
                continue
            engine_command, model_command = commands
            self.model.execute(model_command, self.now)
            with contextlib.suppress(ThreadingError):
                self.engine.execute(engine_command)
        self.last_sequence = self.latest_sequence()

    def take(self, step: Step) -> Taken:
        """Run ``step`` on both sides and check everything; raises :class:`Disagreement`."""
        self.now = step.at
        commands = self.commands_for(step.action)
        if commands is None:
            return Taken("", changed=False)
        engine_command, model_command = commands
        threads_before = self.repository.list_threads()
        stored_before = len(self.repository.list_messages())
        expected = self.model.execute(model_command, self.now)
        try:
            result = self.engine.execute(engine_command)
        except ThreadingError as error:
            check_rejection(error, expected)
            self.check_nothing_emitted()
            answer = error.code
        except Exception as error:
            # Any other exception is a finding too, and deserves its shortest trace rather than a crash.
            raise Disagreement(f"the engine raised {error!r}, the model expected {expected}") from error
        else:
            self.check_result(result, expected)
            answer = result.outcome.value
        self.check_store(threads_before, stored_before)
        # The store now equals the model's, and these answers leave the model as it was.
        return Taken(answer, changed=not expected.errors and expected.outcome not in ("UNCHANGED", "DUPLICATE"))

    # -- checks ------------------------------------------------------------------------------------------------

    def new_events(self) -> list[EventRecord]:
        return self.repository.read_events(after=self.last_sequence)

    def check_nothing_emitted(self) -> None:
        events = self.new_events()
        if events:
            raise Disagreement(f"E3: a rejected command emitted {[e.event.type for e in events]}")

    def check_result(self, result: Result, expected: Expected) -> None:
        """Outcome, ids (as creation positions), events and the outbox (E2, E3, R5)."""
        if expected.errors:
            raise Disagreement(f"the engine answered {result.outcome}, the model expected {sorted(expected.errors)}")
        if result.outcome.value != expected.outcome:
            raise Disagreement(f"the engine answered {result.outcome}, the model {expected.outcome}")
        threads = self.repository.list_threads()
        engine_ids = (
            position_of(threads, result.thread_id),
            ticket_position(threads, result.ticket_id),
            self.engine_message_shape(threads, result.message_id),
        )
        model_ids = (
            self.model_position(expected.thread_id),
            self.model_ticket_position(expected.ticket_id),
            self.model_message_shape(expected.message_id),
        )
        if engine_ids != model_ids:
            raise Disagreement(f"(thread, ticket, message): engine {engine_ids}, model {model_ids}")
        records = self.new_events()
        if tuple(records) != result.events:
            raise Disagreement("the result's events are not the ones the outbox recorded")
        engine_types = sorted(record.event.type for record in records)
        if engine_types != sorted(expected.events):
            raise Disagreement(f"events: engine {engine_types}, model {sorted(expected.events)}")
        for record in records:
            if isinstance(record.event, OutgoingMessageCreated):
                check_webhook_thread_id(record.event, threads)
        if records:
            self.last_sequence = records[-1].sequence

    def check_store(self, threads_before: list[Thread], stored_before: int) -> None:
        """The invariants, then the engine's whole store against the model's."""
        threads = self.repository.list_threads()
        tickets = self.repository.list_tickets()
        messages = self.repository.list_messages()
        check_invariants(threads, tickets, messages, self.repository.read_events())
        check_new_messages(threads_before, threads, messages[stored_before:])
        engine, model = self.engine_shape(threads, tickets, messages), self.model_shape()
        if engine != model:
            raise Disagreement(f"stores differ:\n  engine {engine}\n  model  {model}")

    # -- canonical forms ---------------------------------------------------------------------------------------

    def model_position(self, thread_id: str | None) -> int | None:
        if thread_id is None:
            return None
        return next(i for i, thread in enumerate(self.model.threads) if thread["id"] == thread_id)

    def model_ticket_position(self, ticket_id: str | None) -> int | None:
        if ticket_id is None:
            return None
        return next(i for i, thread in enumerate(self.model.threads) if thread["ticket_id"] == ticket_id)

    def engine_message_shape(self, threads: list[Thread], message_id: str | None) -> MessageShape | None:
        message = None if message_id is None else self.repository.get_message(message_id)
        return None if message is None else engine_message(message, {t.id: i for i, t in enumerate(threads)})

    def model_message_shape(self, message_id: str | None) -> MessageShape | None:
        message = None if message_id is None else self.model.message(message_id)
        if message is None:
            return None
        return (
            next(i for i, thread in enumerate(self.model.threads) if thread["id"] == message["thread_id"]),
            message["direction"],
            names_of(message["senders"]),
            names_of(message["recipients"]),
            message["text"],
            message["idempotency_id"] or "",
        )

    def engine_shape(self, threads: list[Thread], tickets: list[Ticket], messages: list[Message]) -> StoreShape:
        """The engine's store with ids renamed: threads by creation position, keys by first appearance."""
        statuses = {ticket.id: ticket.status.value for ticket in tickets}
        if len(tickets) != sum(thread.ticket_id is not None for thread in threads):
            raise Disagreement(f"{len(tickets)} tickets for {len(threads)} threads")
        keys: dict[str, int] = {}
        thread_shapes = tuple(
            (
                self.engine_labels[thread.channel_account_id],
                keys.setdefault(thread.key, len(keys)),
                thread.integration_thread_id,
                thread.status.value,
                thread.archived,
                thread.created_at,
                thread.closed_at,
                None if thread.ticket_id is None else statuses[thread.ticket_id],
            )
            for thread in threads
        )
        positions = {thread.id: i for i, thread in enumerate(threads)}
        return thread_shapes, tuple(sorted(engine_message(message, positions) for message in messages))

    def model_shape(self) -> StoreShape:
        """The model's state renamed as :meth:`engine_shape` renames the engine's."""
        keys: dict[frozenset[tuple[str, str]], int] = {}
        thread_shapes = tuple(
            (
                self.model_labels[thread["account_id"]],
                keys.setdefault(thread["key"], len(keys)),
                thread["integration_thread_id"],
                thread["status"],
                thread["archived"],
                thread["created_at"],
                thread["closed_at"],
                self.model_ticket_status(thread["ticket_id"]),
            )
            for thread in self.model.threads
        )
        messages = tuple(sorted(shape for m in self.model.messages if (shape := self.model_message_shape(m["id"]))))
        return thread_shapes, messages

    def model_ticket_status(self, ticket_id: str | None) -> str | None:
        ticket = self.model.ticket(ticket_id)
        return None if ticket is None else ticket["status"]

    def state(self) -> Hashable:
        """The canonical form deduplication uses (see the module docstring): what the rules can observe."""
        threads = tuple(
            (
                self.model_labels[thread["account_id"]],
                tuple(sorted(NAMES[identifier] for identifier in thread["key"])),
                thread["integration_thread_id"],
                thread["status"],
                thread["archived"],
                None if thread["closed_at"] is None else self.now - thread["closed_at"],
                self.model_ticket_status(thread["ticket_id"]),
            )
            for thread in self.model.threads
        )
        remembered = tuple(
            sorted(
                shape
                for m in self.model.messages
                if m["idempotency_id"] and (shape := self.model_message_shape(m["id"]))
            )
        )
        counts = tuple(
            min(sum(1 for m in self.model.messages_on(thread["id"]) if not m["idempotency_id"]), 2)
            for thread in self.model.threads
        )
        return threads, remembered, counts


MessageShape = tuple[int, str, tuple[str, ...], tuple[str, ...], str, str]  # the last: idempotency id or ""
ThreadShape = tuple[str, int, str | None, str, bool, datetime, datetime | None, str | None]
StoreShape = tuple[tuple[ThreadShape, ...], tuple[MessageShape, ...]]


def engine_message(message: Message, positions: dict[str, int]) -> MessageShape:
    return (
        positions[message.thread_id],
        message.direction.value,
        names_of(message.senders),
        names_of(message.recipients),
        message.text,
        message.integration_idempotency_id or "",
    )


def position_of(threads: list[Thread], thread_id: str | None) -> int | None:
    if thread_id is None:
        return None
    return next((i for i, thread in enumerate(threads) if thread.id == thread_id), -1)


def ticket_position(threads: list[Thread], ticket_id: str | None) -> int | None:
    if ticket_id is None:
        return None
    return next((i for i, thread in enumerate(threads) if thread.ticket_id == ticket_id), -1)


def check_rejection(error: ThreadingError, expected: Expected) -> None:
    """Section 7: the engine may raise any one of the errors that apply."""
    if not expected.errors:
        raise Disagreement(f"the engine raised {error.code} ({error}), the model expected {expected.outcome}")
    if error.code not in expected.errors:
        raise Disagreement(f"the engine raised {error.code} ({error}), the model expected {sorted(expected.errors)}")


def check_webhook_thread_id(webhook: OutgoingMessageCreated, threads: list[Thread]) -> None:
    """R5: the engine's thread id under DELIVERY_IDENTIFIER, the integration's own under INTEGRATION_THREAD_ID."""
    thread = next(t for t in threads if t.id == webhook.message.thread_id)
    wanted = thread.integration_thread_id or thread.id
    if webhook.channel_integration_thread_id != wanted:
        raise Disagreement(f"R5: the webhook names {webhook.channel_integration_thread_id!r}, not {wanted!r}")


def check_invariants(
    threads: list[Thread], tickets: list[Ticket], messages: list[Message], events: list[EventRecord]
) -> None:
    """R1, I1, R6, R7, D1 and the outbox's rules, on an engine's store."""
    open_keys = [(t.channel_account_id, t.key) for t in threads if t.integration_thread_id is None and t.is_open]
    if len(open_keys) != len(set(open_keys)):
        raise Disagreement(f"R1: two open threads for one key in {open_keys}")
    live = [
        (t.channel_account_id, t.integration_thread_id) for t in threads if t.integration_thread_id and not t.archived
    ]
    if len(live) != len(set(live)):
        raise Disagreement(f"I1: two live threads for one integration thread id in {live}")
    status_of = {thread.id: thread.status for thread in threads}
    for ticket in tickets:
        if (ticket.status.value == "OPEN") != (status_of.get(ticket.thread_id) is ThreadStatus.OPEN):
            raise Disagreement(f"R6: ticket {ticket} does not follow its thread")
    for thread in threads:
        if thread.archived and thread.status is not ThreadStatus.CLOSED:
            raise Disagreement(f"R7: archived thread {thread.id} is not closed")
        if (thread.closed_at is not None) != (thread.status is ThreadStatus.CLOSED):
            raise Disagreement(f"R7: thread {thread.id} is {thread.status} with closedAt {thread.closed_at}")
    remembered = [
        (m.channel_account_id, m.integration_idempotency_id) for m in messages if m.integration_idempotency_id
    ]
    if len(remembered) != len(set(remembered)):
        raise Disagreement(f"D1: one idempotency id stored twice in {remembered}")
    sequences = [record.sequence for record in events]
    if any(a >= b for a, b in itertools.pairwise(sequences)):
        raise Disagreement(f"section 6: outbox sequence not increasing: {sequences}")
    if len({record.event_id for record in events}) != len(events):
        raise Disagreement("section 6: an event id is used twice")


def check_new_messages(threads_before: list[Thread], threads: list[Thread], new: list[Message]) -> None:
    """R2: nothing lands on an archived thread; R3: an outgoing message only on a thread that was open."""
    before = {thread.id: thread for thread in threads_before}
    after = {thread.id: thread for thread in threads}
    for message in new:
        was, now = before.get(message.thread_id), after[message.thread_id]
        if not now.is_open:
            raise Disagreement(f"R2/R3: message {message.id} left thread {now.id} not open")
        if was is not None and was.archived:
            raise Disagreement(f"R2: message {message.id} landed on archived thread {was.id}")
        if was is not None and message.direction is Direction.OUTGOING and not was.is_open:
            raise Disagreement(f"R3: outgoing message {message.id} landed on closed thread {was.id}")
