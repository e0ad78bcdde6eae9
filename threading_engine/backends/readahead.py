"""Views read ahead for a batch, kept current with what the batch saves after reading them.

A backend that loads the views of a whole batch at once (``UnitOfWork.prefetch``) must still answer each
later ``load`` exactly as a load at that moment would, so it must account for what the unit saved in between.
Both sides are described by *subjects* (``view.updating``): a view none of whose subjects was written since is
still exact; one whose subjects were written is brought up to date from the saved values where that is
certain, and otherwise :meth:`ReadAhead.take` answers ``None`` and the backend loads it again.
"""

from __future__ import annotations

from ..decisions import Changes, View, ViewQuery
from .view import Subject, subjects_read, subjects_written
from .view.updating import apply_changes


class ReadAhead:
    """The views a unit of work read ahead, and everything it saved since."""

    def __init__(self, views: dict[ViewQuery, View] | None = None) -> None:
        """``views``: the views read ahead, by the query each was loaded for."""
        self._views = views or {}
        self._saved: list[Changes] = []
        # Which saves wrote each subject, by position in ``_saved``: so a load looks at the saves that
        # concern its view only, however large the batch.
        self._saves_by_subject: dict[Subject, list[int]] = {}

    def saved(self, changes: Changes) -> None:
        """Record a save made after the views were read."""
        if not self._views:
            return
        position = len(self._saved)
        self._saved.append(changes)
        for subject in subjects_written(changes):
            self._saves_by_subject.setdefault(subject, []).append(position)

    def take(self, query: ViewQuery) -> View | None:
        """The view of ``query`` as a load would return it now, or ``None`` if it must be loaded again.

        Each view is given out once: a second load of the same query reads again.
        """
        view: View | None = self._views.pop(query, None)
        applied: set[int] = set()
        last = -1
        while view is not None:
            concerning = {
                position
                for subject in subjects_read(query, view)
                for position in self._saves_by_subject.get(subject, ())
            }
            concerning -= applied
            if not concerning:
                return view
            position = min(concerning)  # in the order saved: a save may concern a thread an earlier one created
            if position < last:
                return None  # it concerns a thread the view shows only since a later save: not worth untangling
            view = apply_changes(query, view, self._saved[position])
            applied.add(position)
            last = position
        return None
