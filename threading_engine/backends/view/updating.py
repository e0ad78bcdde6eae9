"""Updating a loaded view after a save, for the views a batch reads ahead (``readahead``) and the views a store
remembers between transactions (``viewcache``).

Both sides are described by *subjects*: :func:`subjects_read` names everything a view was read from,
:func:`subjects_written` everything a save writes. A view none of whose subjects was written since is still
exact. One whose subjects were written is brought up to date from the saved values themselves when that is
certain (a thread of the view changed without leaving its place in it, a thread created for the view's key,
a ticket of one of its threads): :func:`updated_view`; otherwise it answers ``None`` and the store loads the
view again.
"""

from __future__ import annotations

import attrs

from ...decisions import Changes, View, ViewByPosition, ViewQuery, shown_threads
from ...model import Thread, Ticket
from .assembly import open_or_latest_closed

Subject = tuple[str, ...]


def subjects_read(query: ViewQuery, view: View) -> set[Subject]:
    """What ``view``, loaded for ``query``, was read from: rows by id, and the lookups by key or identifier."""
    account_id, key, integration_thread_id = _lookups(query, view)
    found: set[Subject] = set()
    if query.thread_id is not None:
        found.add(("thread", query.thread_id))
    if account_id is not None:
        found.add(("account", account_id))
        if key is not None:
            found.add(("key", account_id, key))
        if integration_thread_id is not None:
            found.add(("integration", account_id, integration_thread_id))
        if query.idempotency_id is not None:
            found.add(("idempotency", account_id, query.idempotency_id))
    if query.message_id is not None:
        found.add(("message", query.message_id))
    channel_id = view.account.channel_id if view.account is not None else query.channel_id
    if channel_id is not None:
        found.add(("channel", channel_id))
        if query.account_identifier is not None:
            identifier = query.account_identifier
            found.add(("identifier", channel_id, identifier.type.value, identifier.value))
        if query.channel_identifier_types:
            found.add(("accounts of", channel_id))
    if view.account_with_identifier is not None:
        # The holder was found by its identifier; saved with another one, it no longer holds this one (V2).
        found.add(("account", view.account_with_identifier.id))
    for thread in shown_threads(view):
        found.add(("thread", thread.id))
        if thread.ticket_id is not None:
            found.add(("ticket", thread.ticket_id))
    return found


def subjects_written(changes: Changes) -> set[Subject]:
    """What saving ``changes`` writes, in the terms of :func:`subjects_read`."""
    written: set[Subject] = set()
    if changes.channel is not None:
        written.add(("channel", changes.channel.id))
    if changes.account is not None:
        account, identifier = changes.account, changes.account.delivery_identifier
        written.add(("account", account.id))
        written.add(("identifier", account.channel_id, identifier.type.value, identifier.value))
        written.add(("accounts of", account.channel_id))
    for thread in changes.threads:
        written.add(("thread", thread.id))
        written.add(("key", thread.channel_account_id, thread.key))
        if thread.integration_thread_id is not None:
            written.add(("integration", thread.channel_account_id, thread.integration_thread_id))
    for ticket in changes.tickets:
        written.add(("ticket", ticket.id))
        written.add(("thread", ticket.thread_id))
    message = changes.message  # new: its id was free, so no view read it by id
    if message is not None and message.integration_idempotency_id is not None:
        written.add(("idempotency", message.channel_account_id, message.integration_idempotency_id))
    changed = changes.changed_message
    if changed is not None:
        written.add(("message", changed.id))
        if changed.integration_idempotency_id is not None:
            written.add(("idempotency", changed.channel_account_id, changed.integration_idempotency_id))
    return written


def _lookups(query: ViewQuery, view: View) -> tuple[str | None, str | None, str | None]:
    """The account, key and integration thread id the view's lookups used (a thread's own, if it names one)."""
    if view.thread is None:
        return query.channel_account_id, query.key, query.integration_thread_id
    thread = view.thread  # a thread's account, key and integration thread id never change
    if thread.integration_thread_id is None:
        return thread.channel_account_id, thread.key, query.integration_thread_id
    return thread.channel_account_id, query.key, thread.integration_thread_id


def updated_view(query: ViewQuery, view: View, changes: Changes) -> View | None:
    """``view``, loaded for ``query``, after ``changes`` were saved; ``None`` where that is not certain."""
    if query.idempotency_id is None:
        appended = appended_to_open_thread(view, changes)
        if appended is not None:
            return appended
    return apply_changes(query, view, changes)


def appended_to_open_thread(view: View, changes: Changes) -> View | None:
    """The common case of :func:`updated_view` without the general machinery, for a query without an idempotency
    id: a message appended to the view's open thread, which keeps its place and its ticket, on a query that
    shows the thread in no other role. ``None`` for any other save (which :func:`apply_changes` then handles).

    A store that remembers views calls this first, and makes the query of the general rules only when it answers
    ``None``: it runs for nearly every message a SQLite store handles.
    """
    threads = changes.threads
    if (
        len(threads) == 1
        and not changes.tickets
        and changes.channel is None
        and changes.account is None
        and changes.changed_message is None
    ):
        thread, before = threads[0], view.open_thread
        if (
            before is not None
            and before.id == thread.id
            and view.thread is None
            and view.duplicate_thread is None
            and (before.status, before.archived, before.closed_at, before.ticket_id)
            == (thread.status, thread.archived, thread.closed_at, thread.ticket_id)
        ):
            # By position, in View's field order.
            return ViewByPosition(
                view.channel,
                view.account,
                None,
                thread,
                view.latest_closed_thread,
                view.integration_thread,
                view.duplicate,
                None,
                view.account_with_identifier,
                view.tickets,
                view.message,
                view.channel_identifier_types,
                view.participant_names,
            )
    return None


_ROLES = ("thread", "open_thread", "latest_closed_thread", "integration_thread", "duplicate_thread")


def apply_changes(query: ViewQuery, view: View, changes: Changes) -> View | None:
    """``view`` after ``changes`` (which concern it), or ``None`` when they cannot be applied with certainty."""
    if query.participant_names and changes.message is not None:
        return None  # a new message may give a participant of the view's thread another name (N1)
    if changes.channel is not None or changes.account is not None or changes.changed_message is not None:
        # Rare (setup commands, statuses); their effect on channels, accounts, holders and the messages a view
        # shows is not replayed.
        return None
    message = changes.message
    if message is not None and query.idempotency_id is not None:
        account_id = _lookups(query, view)[0]
        if (message.channel_account_id, message.integration_idempotency_id) == (account_id, query.idempotency_id):
            return None  # the view would now have a duplicate
    roles = {role: getattr(view, role) for role in _ROLES}
    for thread in changes.threads:
        if not _place(query, view, roles, thread):
            return None
    tickets = {**view.tickets, **{ticket.id: ticket for ticket in changes.tickets}}
    return _with_tickets(attrs.evolve(view, **roles), tickets)


def _place(query: ViewQuery, view: View, roles: dict[str, Thread | None], thread: Thread) -> bool:
    """Put a saved ``thread`` where a load would now show it; ``False`` if that is not certain."""
    shown_as = [role for role, current in roles.items() if current is not None and current.id == thread.id]
    if shown_as:
        before = roles[shown_as[0]]
        assert before is not None
        if (before.status, before.archived, before.closed_at) != (thread.status, thread.archived, thread.closed_at):
            return False  # it may move between roles, or let a thread the view never read take its place
        for role in shown_as:
            roles[role] = thread
        return True
    if thread.id == query.thread_id:
        return False  # the thread the query names, created since the view was read
    account_id, key, integration_thread_id = _lookups(query, view)
    if thread.channel_account_id != account_id:
        return True
    if thread.integration_thread_id is None:
        if thread.key != key:
            return True
        # New to the view and open: created, or a closed thread below the latest one reopened. Either way it is
        # now the key's open thread, and a view with an open thread shows no latest closed one (the contract).
        if thread.is_open and roles["open_thread"] is None:
            roles["open_thread"], roles["latest_closed_thread"] = open_or_latest_closed(
                thread, roles["latest_closed_thread"]
            )
            return True
        return False
    if thread.integration_thread_id != integration_thread_id:
        return True
    if not thread.archived and roles["integration_thread"] is None:
        roles["integration_thread"] = thread  # the one live thread of its integration thread id (U3)
        return True
    return False


def _with_tickets(view: View, known: dict[str, Ticket]) -> View | None:
    """``view`` with the tickets of exactly the threads it shows, or ``None`` if one of them is unknown."""
    tickets: dict[str, Ticket] = {}
    for thread in shown_threads(view):
        if thread.ticket_id is not None:
            ticket = known.get(thread.ticket_id)
            if ticket is None:
                return None
            tickets[ticket.id] = ticket
    return attrs.evolve(view, tickets=tickets)
