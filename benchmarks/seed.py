"""Large starting states, written fast: the rows the engine would have written for many new threads.

Creating 10^6 threads through the engine would take longer than the measurement itself, so the SQL stores are
filled with rows in the engine's own schema (``threading_engine/backends/rows.py``), and the memory store with
the values its unit of work would have committed. Each seeded thread is what one incoming message from a new
customer leaves behind (R4c, no ticket): the OPEN thread, its first message, and its two outbox events
(THREAD_CREATED, MESSAGE_APPENDED). The documents are rendered once by the library's own encoders, with
placeholder ids, and copied with the ids filled in, so they are byte for byte what the engine writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from threading_engine import DeliveryIdentifier, Direction, IdentifierType, Message, Participant, Thread
from threading_engine.backends import rows
from threading_engine.events import MessageAppended, ThreadCreated
from threading_engine.identifiers import thread_key
from threading_engine.repository import PendingEvent

from .workload import TEXT, counterpart

_THREAD = "@@thread@@"
_MESSAGE = "@@message@@"
_EVENT = "@@event@@"
_PHONE = "+99999999999"

INSERT_THREAD = f"INSERT INTO threads ({rows.THREAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_MESSAGE = "INSERT INTO messages (id, thread_id, account_id, idempotency_id, data) VALUES (?, ?, ?, ?, ?)"
INSERT_EVENT = "INSERT INTO events (event_id, data) VALUES (?, ?)"


def seed_thread_id(number: int) -> str:
    return f"seed-thread-{number}"


@dataclass(frozen=True)
class SeededThread:
    """The rows of one seeded thread: a threads row, a messages row, and two events rows."""

    thread: tuple[Any, ...]
    message: tuple[Any, ...]
    events: tuple[tuple[str, str], tuple[str, str]]


def seeded_values(account_id: str, own: DeliveryIdentifier, number: int, at: datetime) -> tuple[Thread, Message]:
    """The thread and first message the engine stores for customer ``number``'s first incoming message."""
    customer = counterpart(number)
    thread = Thread(
        id=seed_thread_id(number),
        channel_account_id=account_id,
        key=thread_key((customer,)),
        created_at=at,
        latest_message_at=at,
    )
    message = Message(
        id=f"seed-message-{number}",
        thread_id=thread.id,
        channel_account_id=account_id,
        direction=Direction.INCOMING,
        senders=(Participant(customer),),
        recipients=(Participant(own),),
        text=TEXT,
        timestamp=at,
        received_at=at,
    )
    return thread, message


def seeded_events(thread: Thread, message: Message, at: datetime) -> tuple[PendingEvent, PendingEvent]:
    """The two outbox events of a seeded thread, as the engine records them."""
    created = ThreadCreated(thread.id, "R4", thread.channel_account_id, thread.key, None)
    appended = MessageAppended(thread.id, "R4", message.id, Direction.INCOMING)
    return (
        PendingEvent(f"seed-event-{thread.id}-1", at, created),
        PendingEvent(f"seed-event-{thread.id}-2", at, appended),
    )


def engine_key(customer: DeliveryIdentifier) -> str:
    """The key the engine gives a thread with one customer (R0)."""
    return thread_key((customer,))


class RowFactory:
    """Seeded rows for one account, copied from one template rendered by the library's encoders.

    ``key`` spells a customer's thread key; a floor that computes keys its own way passes its own.
    """

    def __init__(
        self,
        account_id: str,
        own: DeliveryIdentifier,
        at: datetime,
        key: Callable[[DeliveryIdentifier], str] = engine_key,
    ) -> None:
        placeholder = DeliveryIdentifier(IdentifierType.HS_PHONE_NUMBER, _PHONE)
        self.account_id = account_id
        thread = Thread(
            id=_THREAD,
            channel_account_id=account_id,
            key=key(placeholder),
            created_at=at,
            latest_message_at=at,
        )
        message = Message(
            id=_MESSAGE,
            thread_id=_THREAD,
            channel_account_id=account_id,
            direction=Direction.INCOMING,
            senders=(Participant(placeholder),),
            recipients=(Participant(own),),
            text=TEXT,
            timestamp=at,
            received_at=at,
        )
        self._thread = rows.thread_row(thread)
        self._message = rows.message_json(message)
        first, second = seeded_events(thread, message, at)
        self._events = tuple(
            rows.event_json(PendingEvent(_EVENT, pending.timestamp, pending.event)) for pending in (first, second)
        )

    def row(self, number: int) -> SeededThread:
        phone = counterpart(number).value
        thread_id = seed_thread_id(number)
        message_id = f"seed-message-{number}"
        template = self._thread
        key = str(template[2]).replace(_PHONE, phone)
        thread = (thread_id, template[1], key, *template[3:])
        message_data = self._message.replace(_MESSAGE, message_id).replace(_THREAD, thread_id).replace(_PHONE, phone)
        events = []
        for index, event_template in enumerate(self._events, start=1):
            event_id = f"seed-event-{thread_id}-{index}"
            data = event_template.replace(_EVENT, event_id).replace(_THREAD, thread_id).replace(_MESSAGE, message_id)
            events.append((event_id, data.replace(_PHONE, phone)))
        return SeededThread(
            thread, (message_id, thread_id, self.account_id, None, message_data), (events[0], events[1])
        )

    def rows(self, numbers: range) -> Iterator[SeededThread]:
        for number in numbers:
            yield self.row(number)
