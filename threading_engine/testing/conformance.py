"""The backend conformance suite: checks any :class:`Repository` against the contract in ``repository.py``.

Two ways to run it, both needing only a factory that returns a fresh, empty repository:

- :func:`check_repository` drives your backend and the in-memory reference with the same random commands
  (a Hypothesis state machine) and requires identical results, events and stored state after every step;
- :class:`RepositoryContract` is a pytest base class with one test per contract clause::

      class TestMyRepository(RepositoryContract):
          def make_repository(self) -> Repository:
              return MyRepository(...)

Our own backends are tested through exactly this suite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ..attachments import Attachment, parse_attachment
from ..backends.memory import MemoryRepository
from ..command_methods import Result
from ..commands import (
    ArchiveChannel,
    ArchiveChannelAccount,
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    CompleteStagingToken,
    CreateChannel,
    CreateChannelAccount,
    CreateStagingToken,
    PublishMessage,
    ReopenThread,
    Reply,
    RestoreThread,
    StartConversation,
    UpdateChannel,
    UpdateChannelAccount,
    UpdateMessageStatus,
)
from ..decisions import Outcome
from ..engine import Engine
from ..errors import ThreadingError
from ..events import StagingTokenCreated
from ..identifiers import DeliveryIdentifier, IdentifierType
from ..ids import SequentialIds
from ..model import Capabilities, Direction, MessageStatus, Participant, ThreadingModel, ThreadStatus
from ..reads import AccountFilter, Page, ThreadFilter
from ..repository import Repository
from .contract_checks import ContractChecks

RepositoryFactory = Callable[[], Repository]

__all__ = ["RepositoryContract", "RepositoryFactory", "check_repository", "snapshot"]


def snapshot(repository: Repository) -> dict[str, Any]:
    """Everything a repository holds, in its contract's orders: for comparing two stores."""
    return {
        "channels": repository.list_channels(),
        "accounts": repository.list_accounts(),
        "threads": repository.list_threads(),
        "tickets": repository.list_tickets(),
        "messages": repository.list_messages(),
        "events": repository.read_events(),
        "pending": [record.event_id for record in repository.pending_events()],
    }


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


# Each person with no name and with one of two names: a reply names its recipients as the thread last did (N1).
_PEOPLE = tuple(
    Participant(DeliveryIdentifier.of(t, v), name)
    for t, v in [
        ("HS_PHONE_NUMBER", "+44 20 7946 0001"),
        ("HS_PHONE_NUMBER", "+44 20 7946 0002"),
        ("HS_EMAIL_ADDRESS", "Ana@Example.com"),
    ]
    for name in (None, "Ana", "Ana María")
)
# V8: none, one file, and a location with a file (kept as given, in order, by every store).
_ATTACHMENTS: tuple[tuple[Attachment, ...], ...] = (
    (),
    (parse_attachment({"type": "FILE", "fileId": "1"}, "attachments[0]"),),
    (
        parse_attachment({"type": "LOCATION", "latitude": 1.5, "longitude": -2.25}, "attachments[0]"),
        parse_attachment({"type": "FILE", "fileId": "2", "fileUsageType": "IMAGE"}, "attachments[1]"),
    ),
)
_JUMPS = (
    timedelta(0),
    timedelta(microseconds=1),
    timedelta(minutes=7),
    timedelta(hours=24) - timedelta(microseconds=1),
    timedelta(hours=24),
    timedelta(hours=30),
    -timedelta(hours=1),
)


class AgreementMachine(RuleBasedStateMachine):
    """Runs every command on the candidate and on the reference; any difference is a contract breach."""

    factory: ClassVar[RepositoryFactory]

    threads = Bundle("threads")

    def __init__(self) -> None:
        super().__init__()
        self.clock = _Clock()
        self.candidate = Engine(type(self).factory(), clock=self.clock, ids=SequentialIds())
        self.reference = Engine(MemoryRepository(), clock=self.clock, ids=SequentialIds())
        self.accounts: list[str] = []
        self.channels: list[str] = []
        self.messages: list[tuple[str, str]] = []  # (channel, message) of every message stored
        self.tokens: list[tuple[int, str]] = []  # (channel, staging token) of every token made (T1)
        types = (IdentifierType.HS_PHONE_NUMBER, IdentifierType.HS_EMAIL_ADDRESS)
        for model, tickets in (
            (ThreadingModel.DELIVERY_IDENTIFIER, True),
            (ThreadingModel.DELIVERY_IDENTIFIER, False),
            (ThreadingModel.INTEGRATION_THREAD_ID, True),
        ):
            capabilities = Capabilities(types, model, allow_outgoing_messages=True, allow_conversation_start=True)
            channel = self.run(CreateChannel("Channel", capabilities))
            assert channel.channel_id is not None
            self.channels.append(channel.channel_id)
            identifier = DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+1555010{len(self.accounts)}")
            account = self.run(
                CreateChannelAccount(
                    channel.channel_id,
                    "Desk",
                    "1",
                    identifier,
                    creates_tickets=tickets,
                    portal_id=str(4200 + len(self.accounts)),  # P1: kept by every store
                )
            )
            assert account.channel_account_id is not None
            self.accounts.append(account.channel_account_id)

    def both(self, action: Callable[[Engine], Result]) -> Result:
        """Run ``action`` on both engines; they must agree on the result or on the error code."""
        outcomes: list[Result | str] = []
        for engine in (self.candidate, self.reference):
            try:
                outcomes.append(action(engine))
            except ThreadingError as error:
                outcomes.append(error.code)
        candidate, reference = outcomes
        assert candidate == reference, f"candidate {candidate!r} != reference {reference!r}"
        if isinstance(reference, str):
            return Result(outcome=reference)  # type: ignore[arg-type]  # the error code stands in for an outcome
        return reference

    def run(self, command: Command) -> Result:
        return self.both(lambda engine: engine.execute(command))

    def teardown(self) -> None:
        self.candidate.close()
        self.reference.close()

    @rule(
        target=threads,
        account=st.integers(0, 2),
        direction=st.sampled_from(list(Direction)),
        sender=st.sampled_from(_PEOPLE),
        others=st.sets(st.sampled_from(_PEOPLE), max_size=2),
        idempotency_id=st.none() | st.sampled_from(["a", "b"]),
        integration_thread_id=st.sampled_from([None, "conv-1", "conv-2"]),
        text=st.sampled_from(["hi", "hello"]),
        attachments=st.sampled_from(_ATTACHMENTS),
        rich_text=st.sampled_from([None, "<p>hi</p>"]),
        actor_id=st.sampled_from([None, "A-9"]),
    )
    def publish(
        self,
        account: int,
        direction: Direction,
        sender: Participant,
        others: set[Participant],
        idempotency_id: str | None,
        integration_thread_id: str | None,
        text: str,
        attachments: tuple[Attachment, ...],
        rich_text: str | None,
        actor_id: str | None,
    ) -> str:
        result = self.run(
            PublishMessage(
                self.accounts[account],
                direction,
                (sender,),
                text,
                tuple(sorted(others, key=str)),
                None,
                integration_thread_id,
                idempotency_id,
                attachments,
                rich_text,
                None,
                actor_id,
            )
        )
        if result.message_id is not None and result.outcome is not Outcome.DUPLICATE:
            self.messages.append((self.channels[account], result.message_id))
        return result.thread_id or "thread-none"

    @rule(target=threads, account=st.integers(0, 2), recipients=st.sets(st.sampled_from(_PEOPLE), min_size=1))
    def start_conversation(self, account: int, recipients: set[Participant]) -> str:
        result = self.run(StartConversation(self.accounts[account], tuple(sorted(recipients, key=str)), "hello"))
        return result.thread_id or "thread-none"

    @rule(thread=threads, kind=st.sampled_from([CloseThread, ArchiveThread, RestoreThread, ReopenThread, CloseTicket]))
    def lifecycle(self, thread: str, kind: type[CloseThread]) -> None:
        self.run(kind(thread))

    @rule(thread=threads, attachments=st.sampled_from(_ATTACHMENTS), actor_id=st.sampled_from([None, "A-7"]))
    def reply(self, thread: str, attachments: tuple[Attachment, ...], actor_id: str | None) -> None:
        """V8: the machine's channels allow agents no attachment types, so a reply with one is refused. N1: a
        named agent is kept with the message by every store."""
        self.run(Reply(thread, "on it", attachments, actor_id))

    @rule(account=st.integers(0, 2), authorized=st.booleans())
    def authorize(self, account: int, authorized: bool) -> None:
        self.run(UpdateChannelAccount(self.accounts[account], authorized=authorized))

    @precondition(lambda self: bool(self.messages))
    @rule(
        which=st.integers(0, 1_000),
        status=st.sampled_from([MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.READ]),
        error_message=st.sampled_from([None, "carrier down"]),
        elsewhere=st.booleans(),
    )
    def set_status(self, which: int, status: MessageStatus, error_message: str | None, elsewhere: bool) -> None:
        """S1: a status rewrites a stored message in place; from another channel's path, it is not found."""
        channel_id, message_id = self.messages[which % len(self.messages)]
        if elsewhere:
            channel_id = next(other for other in self.channels if other != channel_id)
        self.run(UpdateMessageStatus(channel_id, message_id, status, error_message))

    @rule(
        channel=st.integers(0, 2),
        types=st.sampled_from(
            [
                (IdentifierType.HS_PHONE_NUMBER, IdentifierType.HS_EMAIL_ADDRESS),
                (IdentifierType.HS_PHONE_NUMBER,),
                (IdentifierType.HS_EMAIL_ADDRESS,),
            ]
        ),
        model=st.sampled_from(list(ThreadingModel)),
        outgoing=st.booleans(),
    )
    def change_capabilities(
        self, channel: int, types: tuple[IdentifierType, ...], model: ThreadingModel, outgoing: bool
    ) -> None:
        """V7: every account's identifier is a phone number, so dropping that type, or changing the model, is
        refused on every store alike; the rest changes what later messages may do."""
        capabilities = Capabilities(types, model, allow_outgoing_messages=outgoing, allow_conversation_start=outgoing)
        self.run(UpdateChannel(self.channels[channel], capabilities=capabilities))

    # Account 0 is never archived: an archive is for good, and the other rules need an account to work on.
    @rule(account=st.sampled_from([1, 2]), whole_channel=st.booleans())
    def archive(self, account: int, whole_channel: bool) -> None:
        """A1: archived channels and accounts take no messages; stores must keep and read back the flag."""
        if whole_channel:
            self.run(ArchiveChannel(self.channels[account]))
        else:
            self.run(ArchiveChannelAccount(self.accounts[account]))

    @rule(channel=st.integers(0, 2), inbox=st.sampled_from(["1", "2"]))
    def make_staging_token(self, channel: int, inbox: str) -> None:
        """T1: HubSpot's "connect" makes a token of a portal; an archived channel gets none."""
        result = self.run(CreateStagingToken(self.channels[channel], inbox, portal_id="4300", user_id="7"))
        for record in result.events:
            if isinstance(record.event, StagingTokenCreated):
                self.tokens.append((channel, record.event.token.id))

    @precondition(lambda self: bool(self.tokens))
    @rule(
        which=st.integers(0, 1_000),
        phone=st.sampled_from(["+15550100", "+15550190", "+15550191"]),
        elsewhere=st.booleans(),
    )
    def complete_staging_token(self, which: int, phone: str, elsewhere: bool) -> None:
        """T1: completing a token creates its account (V2 as any creation: ``+15550100`` is account 0's); a
        token is used once, and one of another channel's path is not found."""
        channel, token = self.tokens[which % len(self.tokens)]
        if elsewhere:
            channel = (channel + 1) % len(self.channels)
        identifier = DeliveryIdentifier.of("HS_PHONE_NUMBER", phone)
        self.run(CompleteStagingToken(self.channels[channel], token, "Connected desk", identifier))

    @rule(
        portal=st.sampled_from([None, "4200", "4201", "4300"]),
        archived=st.sampled_from([None, True, False]),
        status=st.sampled_from([None, *ThreadStatus]),
        limit=st.integers(1, 3),
        newest_first=st.booleans(),
        page=st.integers(0, 2),
    )
    def read_pages(
        self,
        portal: str | None,
        archived: bool | None,
        status: ThreadStatus | None,
        limit: int,
        newest_first: bool,
        page: int,
    ) -> None:
        """The paged reads (``reads``) give the same page, cursor and total on every store, for a page reached
        by following the cursors."""
        accounts, threads = AccountFilter(portal_id=portal, archived=archived), ThreadFilter(portal, status=status)
        reads: list[Callable[[Engine, str | None], Page[Any]]] = [
            lambda engine, after: engine.channels_page(after=after, limit=limit),
            lambda engine, after: engine.accounts_page(accounts, after=after, limit=limit),
            lambda engine, after: engine.threads_page(threads, after=after, limit=limit, newest_first=newest_first),
        ]
        for read in reads:
            cursor: str | None = None
            for _ in range(page + 1):
                found = [read(engine, cursor) for engine in (self.candidate, self.reference)]
                assert found[0] == found[1], f"candidate {found[0]!r} != reference {found[1]!r}"
                cursor = found[1].after
                if cursor is None:
                    break

    @rule(jump=st.sampled_from(_JUMPS))
    def tick(self, jump: timedelta) -> None:
        self.clock.now += jump

    @rule()
    def acknowledge_some(self) -> None:
        pending = self.reference.pending_events(limit=3)
        ids = [record.event_id for record in pending]
        assert self.candidate.acknowledge(ids) == self.reference.acknowledge(ids)

    @invariant()
    def stores_agree(self) -> None:
        assert snapshot(self.candidate.repository) == snapshot(self.reference.repository)
        tokens = [token for _, token in self.tokens]
        candidate, reference = self.candidate.repository, self.reference.repository
        assert [candidate.get_staging_token(t) for t in tokens] == [reference.get_staging_token(t) for t in tokens]


def check_repository(factory: RepositoryFactory, *, max_examples: int = 50, stateful_step_count: int = 30) -> None:
    """Check that ``factory()``'s repositories agree with the reference on random command sequences.

    Raises an AssertionError (with Hypothesis's minimal failing sequence) on the first disagreement.
    """
    machine = type(
        "AgreementWith" + getattr(factory, "__name__", "Backend"),
        (AgreementMachine,),
        {"factory": staticmethod(factory)},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=stateful_step_count,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


class RepositoryContract(ContractChecks):
    """Pytest base class: subclass it, implement :meth:`make_repository`, and every clause is a test."""

    agreement_examples: ClassVar[int] = 25

    @pytest.fixture
    def repository(self) -> Iterator[Repository]:
        repository = self.make_repository()
        try:
            yield repository
        finally:
            repository.close()

    def test_agrees_with_the_reference_on_random_commands(self) -> None:
        """Every clause at once: the same commands give the same results, events and state as the reference."""
        check_repository(self.make_repository, max_examples=self.agreement_examples)
