"""The view, owned by one package: how every backend assembles, reads and updates the :class:`View` of a query.

A :class:`~threading_engine.decisions.View` is what the rules see of the store for one command. Three things
are done with one, and each is done here once, for every backend:

- **assembling** it from a narrow set of lookups a store answers (``assembly``): the thread a query names,
  its account and channel, the open thread of a key and, only without one, its latest closed thread (R4), the
  live thread of an integration thread id (I1), the message of an idempotency id (D1) and the account of an
  identifier (V2). The memory store is nothing more than those lookups over dictionaries;
- **reading** it from the rows of a SQL store's view statements (``from_rows``), shared by SQLite and
  PostgreSQL, which differ only in how their rows are laid out;
- **updating** a view already loaded after a save (``updating``), shared by the views a batch reads ahead and
  the views a store remembers between transactions: the result is either exactly what a fresh load returns
  now, or ``None`` ("not certain: load again").

A fact the rules need one day is added in these three places, beside the lookup that finds it.
"""

from ...decisions import shown_threads
from .assembly import NAMES_FROM_MESSAGES, ViewLookups, assemble_view, names_in, open_or_latest_closed
from .from_rows import ViewRows
from .updating import Subject, subjects_read, subjects_written, updated_view

__all__ = [
    "NAMES_FROM_MESSAGES",
    "names_in",
    "Subject",
    "ViewLookups",
    "ViewRows",
    "assemble_view",
    "open_or_latest_closed",
    "shown_threads",
    "subjects_read",
    "subjects_written",
    "updated_view",
]
