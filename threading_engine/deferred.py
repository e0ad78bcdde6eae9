"""Deciding a message again when the view it was decided on left out its duplicate (D1).

A store that offers :class:`~threading_engine.repository.DeferringUnitOfWork` may answer a message's load
without asking whether its idempotency id is taken; its unique index answers that when the message is saved.
When it answers "taken" (:class:`~threading_engine.errors.UnseenDuplicate`), nothing of the save was written,
and the engine decides the command again on a view that shows the duplicate. The ids the first decision drew
go back to the engine's spares (:class:`~threading_engine.ids.SpareIds`), so a run makes the same ids as a
store that read the duplicate at once would: replays and differential tests compare them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .decisions import Changes, View, shown_threads
from .repository import PendingEvent


def drawn_ids(view: View, changes: Changes, events: Sequence[PendingEvent]) -> list[tuple[str, str]]:
    """The ids drawn for a published message's decision on ``view``, as ``(kind, id)`` in the order drawn.

    A publish draws its message's id, then a new thread's and a new ticket's (R6), and the engine one per
    event; every other value it saves (the thread a message lands on, a reopened ticket) the view already
    showed. ``tests/test_deferred.py`` holds this to the ids the rules and the engine really draw.
    """
    drawn: list[tuple[str, str]] = []
    if changes.message is not None:
        drawn.append(("message", changes.message.id))
    shown = {thread.id for thread in shown_threads(view)}
    drawn += [("thread", thread.id) for thread in changes.threads if thread.id not in shown]
    drawn += [("ticket", ticket.id) for ticket in changes.tickets if ticket.id not in view.tickets]
    drawn += [("event", pending.event_id) for pending in events]
    return drawn
