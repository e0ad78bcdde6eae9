"""Reading a view from the rows of a SQL store's view statements, for SQLite and PostgreSQL alike.

Each store lays its rows out its own way and hands this collector what each row holds: a thread in a role,
a ticket, or a JSON document in a role. The roles are the :class:`View`'s: ``thread``, ``key`` (the key's
open thread, and its latest closed one, in the order the statement returns them: open first),
``integration``, ``duplicate_thread``; documents ``channel``, ``account``, ``duplicate``,
``identifier_holder`` and ``message``; the identifier types a channel's accounts use (V7); and the documents
of a thread's latest messages, newest first, for its participants' names (N1).
"""

from __future__ import annotations

from collections.abc import Iterable

from ...decisions import View, ViewByPosition
from ...identifiers import IdentifierType
from ...model import Message, Thread, Ticket
from .. import rows
from .assembly import names_in, open_or_latest_closed


class ViewRows:
    """Collects what a store's view statements returned, and makes the :class:`View` of it."""

    __slots__ = ("decoded", "documents", "identifier_types", "key_threads", "names", "threads", "tickets")

    def __init__(self, decoded: rows.Documents) -> None:
        """``decoded``: the store's decoded documents, which the view's channel and accounts are taken from."""
        self.decoded = decoded
        self.threads: dict[str, Thread] = {}
        self.key_threads: list[Thread] = []
        self.tickets: dict[str, Ticket] = {}
        self.documents: dict[str, str] = {}
        self.identifier_types: frozenset[IdentifierType] | None = None
        self.names: dict[str, str] | None = None

    def thread(self, role: str, thread: Thread) -> None:
        if role == "key":
            self.key_threads.append(thread)
        else:
            self.threads[role] = thread

    def ticket(self, ticket: Ticket) -> None:
        self.tickets[ticket.id] = ticket

    def document(self, role: str, data: str) -> None:
        self.documents[role] = data

    def latest_messages(self, documents: Iterable[str]) -> None:
        """The thread's latest messages, newest first, as stored: the names its participants were given (N1)."""
        self.names = names_in(rows.message_from_json(data) for data in documents)

    def identifier_types_in_use(self, types: Iterable[str]) -> None:
        """The identifier types the channel's accounts use, as the store found them (all of them at once)."""
        self.identifier_types = frozenset(IdentifierType(name) for name in types)

    def duplicate(self) -> Message | None:
        """The message of the query's idempotency id, if a row held one (D1)."""
        data = self.documents.get("duplicate")
        return None if data is None else rows.message_from_json(data)

    def view(self, duplicate: Message | None = None) -> View:
        """The view; ``duplicate`` is :meth:`duplicate`'s answer when the caller has decoded it already."""
        open_thread = latest_closed = None
        for candidate in self.key_threads:
            if candidate.is_open:
                open_thread = open_thread or candidate
            elif latest_closed is None:
                latest_closed = candidate
        open_thread, latest_closed = open_or_latest_closed(open_thread, latest_closed)
        if duplicate is None:
            duplicate = self.duplicate()
        threads = self.threads
        thread, integration = threads.get("thread"), threads.get("integration")
        duplicate_thread = threads.get("duplicate_thread") if duplicate is not None else None
        tickets = self.tickets
        if tickets:  # exactly the tickets of the threads shown
            shown = (thread, open_thread, latest_closed, integration, duplicate_thread)
            ticket_ids = {t.ticket_id for t in shown if t is not None and t.ticket_id is not None}
            tickets = {ticket_id: ticket for ticket_id, ticket in tickets.items() if ticket_id in ticket_ids}
        documents = self.documents
        channel, account = documents.get("channel"), documents.get("account")
        holder, message = documents.get("identifier_holder"), documents.get("message")
        # By position, in View's field order: one is made for every view a statement reads.
        return ViewByPosition(
            None if channel is None else self.decoded.channel(channel),
            None if account is None else self.decoded.account(account),
            thread,
            open_thread,
            latest_closed,
            integration,
            duplicate,
            duplicate_thread,
            None if holder is None else self.decoded.account(holder),
            tickets,
            None if message is None else rows.message_from_json(message),
            self.identifier_types,
            self.names,
        )
