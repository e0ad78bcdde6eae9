"""One test per clause of the repository contract (``repository.py``), quoted in each docstring.

These tests speak to the repository directly, through units of work, so that a backend is checked for what
it promises rather than for what the engine happens to ask of it today.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest

from ..decisions import Changes, View, ViewQuery
from ..errors import StorageError, WriteConflict
from ..events import ChannelCreated, EventRecord, MessageAppended, ThreadCreated
from ..identifiers import DeliveryIdentifier, IdentifierType, thread_key
from ..model import (
    Capabilities,
    Channel,
    ChannelAccount,
    Direction,
    Message,
    MessageOrigin,
    Participant,
    Thread,
    ThreadingModel,
    ThreadStatus,
    Ticket,
    TicketStatus,
)
from ..repository import PendingEvent, Repository

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460001")
KEY = thread_key([CUSTOMER])
CHANNEL = Channel(
    id="channel-1",
    name="SMS",
    capabilities=Capabilities(
        (IdentifierType.HS_PHONE_NUMBER, IdentifierType.HS_EMAIL_ADDRESS),
        ThreadingModel.DELIVERY_IDENTIFIER,
        allow_outgoing_messages=True,
        rich_text=("HYPERLINK",),
        max_file_attachment_count=1,
    ),
    created_at=T0,
    webhook_url="https://integration.example/hook",
    channel_logo_url="https://integration.example/logo.png",
    channel_description="Text messages",
)
ACCOUNT = ChannelAccount(
    id="account-1",
    channel_id="channel-1",
    name="Desk",
    inbox_id="7",
    delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550100"),
    created_at=T0,
    creates_tickets=True,
)


def thread(thread_id: str, **fields: object) -> Thread:
    defaults: dict[str, object] = {"channel_account_id": ACCOUNT.id, "key": KEY, "created_at": T0}
    return Thread(id=thread_id, **{**defaults, **fields})  # type: ignore[arg-type]


def closed(thread_id: str, closed_at: datetime, **fields: object) -> Thread:
    return thread(thread_id, status=ThreadStatus.CLOSED, closed_at=closed_at, **fields)


def message(message_id: str, thread_id: str, idempotency_id: str | None = None) -> Message:
    return Message(
        id=message_id,
        thread_id=thread_id,
        channel_account_id=ACCOUNT.id,
        direction=Direction.INCOMING,
        senders=(Participant(CUSTOMER, "Ana"),),
        recipients=(Participant(ACCOUNT.delivery_identifier),),
        text="hello",
        timestamp=datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        received_at=T0,
        origin=MessageOrigin.INTEGRATION,
        integration_idempotency_id=idempotency_id,
    )


def event(event_id: str, thread_id: str = "thread-1") -> PendingEvent:
    return PendingEvent(event_id, T0, ThreadCreated(thread_id, "R4", ACCOUNT.id, KEY, None))


def commit(repository: Repository, changes: Changes, events: Sequence[PendingEvent] = ()) -> tuple[EventRecord, ...]:
    with repository.unit_of_work() as unit:
        unit.save(changes, events)
        return unit.commit()


def load(repository: Repository, query: ViewQuery) -> View:
    with repository.unit_of_work() as unit:
        return unit.load(query)


def state(repository: Repository) -> tuple[object, ...]:
    return (
        repository.list_channels(),
        repository.list_accounts(),
        repository.list_threads(),
        repository.list_tickets(),
        repository.list_messages(),
        repository.read_events(),
        repository.pending_events(),
    )


class ContractChecks:
    """The clause-by-clause tests; :class:`RepositoryContract` adds the fixture and the random agreement test."""

    def make_repository(self) -> Repository:
        raise NotImplementedError("return a new, empty repository of the backend under test")

    @pytest.fixture
    def seeded(self, repository: Repository) -> Repository:
        commit(repository, Changes(channel=CHANNEL), [PendingEvent("event-channel", T0, ChannelCreated(CHANNEL))])
        commit(repository, Changes(account=ACCOUNT))
        return repository

    def test_values_read_back_equal_to_what_was_written(self, seeded: Repository) -> None:
        """Every value committed is read back equal, time-zone offsets and optional fields included."""
        original = thread("thread-1", ticket_id="ticket-1", latest_message_at=T0)
        stored_message = message("message-1", "thread-1", "idem-1")
        commit(seeded, Changes(threads=(original,), tickets=(Ticket("ticket-1", "thread-1"),), message=stored_message))
        assert seeded.get_channel(CHANNEL.id) == CHANNEL
        assert seeded.get_account(ACCOUNT.id) == ACCOUNT
        assert seeded.get_thread("thread-1") == original
        assert seeded.get_ticket("ticket-1") == Ticket("ticket-1", "thread-1")
        read = seeded.get_message("message-1")
        assert read == stored_message
        assert read is not None and read.timestamp.utcoffset() == timedelta(hours=2)
        assert seeded.list_messages("thread-1") == [stored_message]

    def test_a_unit_sees_what_it_saved_and_commits_it_all_at_once(self, seeded: Repository) -> None:
        """ "What this unit of work saved earlier is visible to it"; a batch's saves commit together."""
        with seeded.unit_of_work() as unit:
            unit.save(
                Changes(threads=(thread("thread-1"),), message=message("message-1", "thread-1", "idem-1")),
                [event("event-1")],
            )
            view = unit.load(ViewQuery(channel_account_id=ACCOUNT.id, key=KEY, idempotency_id="idem-1"))
            assert view.open_thread is not None and view.open_thread.id == "thread-1"
            assert view.duplicate is not None and view.duplicate.id == "message-1"
            unit.save(Changes(threads=(closed("thread-1", T0),)), [event("event-2")])
            records = unit.commit()
        assert [r.event_id for r in records] == ["event-1", "event-2"]
        assert records[0].sequence < records[1].sequence
        assert seeded.read_events()[-2:] == list(records)
        assert seeded.get_thread("thread-1") == closed("thread-1", T0)

    def test_atomicity_a_rejected_commit_writes_nothing(self, seeded: Repository) -> None:
        """ "Its changes and events are written together by commit or not at all.\""""
        commit(seeded, Changes(threads=(thread("thread-1"),), message=message("message-1", "thread-1", "idem-1")))
        before = state(seeded)
        with pytest.raises(WriteConflict):
            commit(
                seeded,
                Changes(
                    threads=(closed("thread-2", T0),),
                    tickets=(Ticket("ticket-2", "thread-2"),),
                    message=message("message-2", "thread-2", "idem-1"),
                ),
                [event("event-1", "thread-2")],
            )
        assert state(seeded) == before

    def test_leaving_a_unit_of_work_without_commit_writes_nothing(self, seeded: Repository) -> None:
        """ "Leaving the unit without committing (or with an exception) writes nothing at all, whatever was
        saved", and what it saved holds no uniqueness slot (U1-U4) afterwards."""
        commit(
            seeded,
            Changes(threads=(thread("thread-1", ticket_id="ticket-1"),), tickets=(Ticket("ticket-1", "thread-1"),)),
        )
        before = state(seeded)
        other_channel = attrs.evolve(CHANNEL, id="channel-2")
        other_account = attrs.evolve(ACCOUNT, id="account-2", channel_id="channel-2")
        with pytest.raises(RuntimeError), seeded.unit_of_work() as unit:
            unit.load(ViewQuery(channel_account_id=ACCOUNT.id, key=KEY))
            unit.save(
                Changes(
                    channel=other_channel,
                    account=other_account,
                    threads=(closed("thread-1", T0), thread("thread-2", integration_thread_id="conv-1")),
                    tickets=(Ticket("ticket-1", "thread-1", TicketStatus.CLOSED),),
                    message=message("message-1", "thread-1", "idem-1"),
                ),
                [event("event-1")],
            )
            unit.save(Changes(channel=attrs.evolve(CHANNEL, name="Renamed"), threads=(thread("thread-3"),)), [])
            unit.save(Changes(account=attrs.evolve(ACCOUNT, authorized=False)), [event("event-2")])
            raise RuntimeError("the decision failed")
        assert state(seeded) == before
        commit(seeded, Changes(threads=(thread("thread-2", integration_thread_id="conv-1"),)))
        commit(seeded, Changes(message=message("message-1", "thread-1", "idem-1")), [event("event-1")])
        commit(seeded, Changes(channel=other_channel, account=other_account))
        assert [t.id for t in seeded.list_threads()] == ["thread-1", "thread-2"]
        assert seeded.get_account("account-2") == other_account

    def test_u1_one_open_thread_per_key(self, seeded: Repository) -> None:
        """ "(U1) at most one thread per (account, key) is OPEN and not archived\" (R1)."""
        commit(seeded, Changes(threads=(thread("thread-1"),)))
        with pytest.raises(WriteConflict) as raised:
            commit(seeded, Changes(threads=(thread("thread-2"),)))
        assert raised.value.rule == "U1"
        commit(seeded, Changes(threads=(closed("thread-2", T0),)))
        with pytest.raises(WriteConflict):
            commit(
                seeded,
                Changes(threads=(attrs.evolve(closed("thread-2", T0), status=ThreadStatus.OPEN, closed_at=None),)),
            )
        other_key = thread("thread-3", key=thread_key([DeliveryIdentifier.of("HS_PHONE_NUMBER", "+442079460002")]))
        commit(seeded, Changes(threads=(other_key,)))

    def test_u1_does_not_bind_integration_threads(self, seeded: Repository) -> None:
        """ "(U1) ... for threads without an integration thread id\" (I2)."""
        commit(seeded, Changes(threads=(thread("thread-1", integration_thread_id="a"),)))
        commit(seeded, Changes(threads=(thread("thread-2", integration_thread_id="b"),)))
        commit(seeded, Changes(threads=(thread("thread-3"),)))
        assert len(seeded.list_threads()) == 3

    def test_u2_one_message_per_idempotency_id(self, seeded: Repository) -> None:
        """ "(U2) at most one message per (account, integration idempotency id)\" (D1)."""
        commit(seeded, Changes(threads=(thread("thread-1"),), message=message("message-1", "thread-1", "idem-1")))
        with pytest.raises(WriteConflict) as raised:
            commit(seeded, Changes(message=message("message-2", "thread-1", "idem-1")))
        assert raised.value.rule == "U2"
        commit(seeded, Changes(message=message("message-3", "thread-1", None)))
        commit(seeded, Changes(message=message("message-4", "thread-1", None)))
        assert [m.id for m in seeded.list_messages("thread-1")] == ["message-1", "message-3", "message-4"]

    def test_u3_one_live_thread_per_integration_thread_id(self, seeded: Repository) -> None:
        """ "(U3) at most one non-archived thread per (account, integration thread id)\" (I1)."""
        commit(seeded, Changes(threads=(thread("thread-1", integration_thread_id="conv"),)))
        with pytest.raises(WriteConflict) as raised:
            commit(seeded, Changes(threads=(closed("thread-2", T0, integration_thread_id="conv"),)))
        assert raised.value.rule == "U3"
        archived = attrs.evolve(closed("thread-1", T0, integration_thread_id="conv"), archived=True)
        commit(seeded, Changes(threads=(archived,)))
        commit(seeded, Changes(threads=(thread("thread-2", integration_thread_id="conv"),)))
        view = load(seeded, ViewQuery(channel_account_id=ACCOUNT.id, integration_thread_id="conv"))
        assert view.integration_thread is not None and view.integration_thread.id == "thread-2"

    def test_u4_one_account_per_identifier_of_a_channel(self, seeded: Repository) -> None:
        """ "(U4) at most one account per (channel, delivery identifier)\" (V2)."""
        with pytest.raises(WriteConflict) as raised:
            commit(seeded, Changes(account=attrs.evolve(ACCOUNT, id="account-2")))
        assert raised.value.rule == "U4"
        view = load(seeded, ViewQuery(channel_id=CHANNEL.id, account_identifier=ACCOUNT.delivery_identifier))
        assert view.account_with_identifier == ACCOUNT
        commit(seeded, Changes(account=attrs.evolve(ACCOUNT, name="Renamed")))
        assert seeded.get_account(ACCOUNT.id) == attrs.evolve(ACCOUNT, name="Renamed")
        # Saved with another identifier, an account no longer holds its old one.
        moved = attrs.evolve(ACCOUNT, delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550199"))
        commit(seeded, Changes(account=moved))
        view = load(seeded, ViewQuery(channel_id=CHANNEL.id, account_identifier=ACCOUNT.delivery_identifier))
        assert view.account_with_identifier is None
        commit(seeded, Changes(account=attrs.evolve(ACCOUNT, id="account-2")))

    def test_u0_an_id_taken_is_a_storage_error_not_a_lost_race(self, seeded: Repository) -> None:
        """ "Ids are unique (U0)": a new message or event with a stored one's id is refused with a StorageError
        naming the id (retrying could not help), and nothing of its unit is written."""
        commit(seeded, Changes(threads=(thread("thread-1"),), message=message("message-1", "thread-1")))
        before = state(seeded)
        attempts = [
            (
                "messageId",
                "message-1",
                Changes(threads=(thread("thread-2", key="other"),), message=message("message-1", "thread-2")),
                [],
            ),
            (
                "eventId",
                "event-channel",
                Changes(threads=(thread("thread-2", key="other"),)),
                [event("event-channel", "thread-2")],
            ),
            (  # two new events of one unit with one id
                "eventId",
                "event-2",
                Changes(threads=(thread("thread-2", key="other"),)),
                [event("event-2", "thread-2"), event("event-2", "thread-2")],
            ),
        ]
        for field, taken, changes, events in attempts:
            with pytest.raises(StorageError) as raised:
                commit(seeded, changes, events)
            assert type(raised.value) is StorageError
            assert (raised.value.field, raised.value.value, raised.value.rule) == (field, taken, "U0")
            assert state(seeded) == before

    def test_archived_threads_are_never_candidates(self, seeded: Repository) -> None:
        """ "open_thread, latest_closed_thread and integration_thread of a View are never archived\" (R2)."""
        archived = attrs.evolve(closed("thread-1", T0), archived=True)
        archived_integration = attrs.evolve(closed("thread-2", T0, integration_thread_id="conv"), archived=True)
        commit(seeded, Changes(threads=(archived, archived_integration)))
        view = load(seeded, ViewQuery(channel_account_id=ACCOUNT.id, key=KEY, integration_thread_id="conv"))
        assert (view.open_thread, view.latest_closed_thread, view.integration_thread) == (None, None, None)
        by_id = load(seeded, ViewQuery(thread_id="thread-1"))
        assert by_id.thread == archived and by_id.latest_closed_thread is None

    def test_latest_closed_thread_is_latest_closed_at_then_created_last(self, seeded: Repository) -> None:
        """ "the non-archived CLOSED thread of the key with the latest closed_at; on a tie, the one created last\""""
        later = T0 + timedelta(hours=1)
        commit(seeded, Changes(threads=(closed("thread-1", later),)))
        commit(seeded, Changes(threads=(closed("thread-2", T0),)))
        view = load(seeded, ViewQuery(channel_account_id=ACCOUNT.id, key=KEY))
        assert view.latest_closed_thread is not None and view.latest_closed_thread.id == "thread-1"
        commit(seeded, Changes(threads=(closed("thread-3", later, created_at=T0 - timedelta(days=1)),)))
        view = load(seeded, ViewQuery(channel_account_id=ACCOUNT.id, key=KEY))
        assert view.latest_closed_thread is not None and view.latest_closed_thread.id == "thread-3"
        assert view.open_thread is None

    def test_latest_closed_thread_is_left_out_while_the_key_has_an_open_thread(self, seeded: Repository) -> None:
        """ "Only while the key has no open thread\": R4a places a message before R4b looks for a closed one."""
        commit(seeded, Changes(threads=(closed("thread-1", T0), thread("thread-2"))))
        for query in (ViewQuery(channel_account_id=ACCOUNT.id, key=KEY), ViewQuery(thread_id="thread-1")):
            view = load(seeded, query)
            assert view.open_thread is not None and view.open_thread.id == "thread-2"
            assert view.latest_closed_thread is None
        commit(seeded, Changes(threads=(closed("thread-2", T0 + timedelta(hours=1)),)))
        view = load(seeded, ViewQuery(channel_account_id=ACCOUNT.id, key=KEY))
        assert view.open_thread is None
        assert view.latest_closed_thread is not None and view.latest_closed_thread.id == "thread-2"

    def test_view_holds_the_tickets_of_its_threads(self, seeded: Repository) -> None:
        """ "tickets holds the ticket of every thread returned.\""""
        commit(
            seeded,
            Changes(threads=(thread("thread-1", ticket_id="ticket-1"),), tickets=(Ticket("ticket-1", "thread-1"),)),
        )
        closed_ticket = Ticket("ticket-2", "thread-2", TicketStatus.CLOSED)
        commit(seeded, Changes(threads=(closed("thread-2", T0, ticket_id="ticket-2"),), tickets=(closed_ticket,)))
        view = load(seeded, ViewQuery(thread_id="thread-2"))
        assert view.thread is not None and view.open_thread is not None and view.open_thread.id == "thread-1"
        assert view.account == ACCOUNT and view.channel == CHANNEL
        assert dict(view.tickets) == {"ticket-1": Ticket("ticket-1", "thread-1"), "ticket-2": closed_ticket}

    def test_view_finds_an_earlier_message_by_idempotency_id(self, seeded: Repository) -> None:
        """A view asked for an idempotency id holds the message already published with it, and its thread (D1)."""
        stored = message("message-1", "thread-1", "idem-1")
        commit(seeded, Changes(threads=(thread("thread-1"),), message=stored))
        view = load(seeded, ViewQuery(channel_account_id=ACCOUNT.id, idempotency_id="idem-1"))
        assert view.duplicate == stored and view.duplicate_thread is not None
        assert load(seeded, ViewQuery(channel_account_id=ACCOUNT.id, idempotency_id="idem-2")).duplicate is None

    def test_outbox_sequence_increases_and_reads_on_from_a_position(self, seeded: Repository) -> None:
        """ "each committed event gets a sequence number larger than every number handed out before it\""""
        first = commit(seeded, Changes(threads=(thread("thread-1"),)), [event("event-1"), event("event-2")])
        appended = PendingEvent("event-3", T0, MessageAppended("thread-1", "R4", "message-1", Direction.INCOMING))
        second = commit(seeded, Changes(message=message("message-1", "thread-1")), [appended])
        records = seeded.read_events()
        sequences = [r.sequence for r in records]
        assert sequences == sorted(set(sequences))
        assert [r.event_id for r in records] == ["event-channel", "event-1", "event-2", "event-3"]
        assert records[-1] == second[0] and records[1:3] == list(first)
        assert seeded.read_events(after=first[-1].sequence) == list(second)
        assert seeded.read_events(after=0, limit=2) == records[:2]

    def test_acknowledged_events_leave_the_pending_list_once(self, seeded: Repository) -> None:
        """ "pending_events those not yet acknowledged, and acknowledging is idempotent\""""
        commit(seeded, Changes(threads=(thread("thread-1"),)), [event("event-1"), event("event-2")])
        assert [r.event_id for r in seeded.pending_events()] == ["event-channel", "event-1", "event-2"]
        assert seeded.acknowledge(["event-1", "event-1", "unknown"]) == 1
        assert seeded.acknowledge(["event-1"]) == 0
        assert [r.event_id for r in seeded.pending_events()] == ["event-channel", "event-2"]
        assert [r.event_id for r in seeded.pending_events(limit=1)] == ["event-channel"]
        assert len(seeded.read_events()) == 3
