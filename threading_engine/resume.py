"""Resuming a replay that stopped midway (killed, or stopped by a store error) onto the store it was writing.

Theory of operation: with deterministic ids (``SequentialIds``) a replay is a pure function of the trace and the
options, and the store's outbox records, in commit order, every change the replay has made so far. Batches
commit whole, so what the store holds is the replay of some first lines of the trace, however it stopped. To
resume, :class:`~threading_engine.replay.Replay` replays the trace from its first line into a memory store
with the same ids, clock and policy, matching every event it makes against the store's events in order (id,
time and content). Once the store's last event is matched, the replay goes on against the store itself from
the next line, with the same ids and refs, as if it had never stopped. Lines after the last matched event that
changed nothing (rejections, duplicates, no-ops) are decided again on the same state, with the same result.

Any difference (another trace, other options, random ids, or a store written by someone else) refuses the
resume with :class:`ResumeError` before anything is written to the store.
"""

from __future__ import annotations

from collections import deque

import attrs

from .errors import ThreadingError
from .events import EventRecord
from .repository import Repository

_PAGE = 1000


class ResumeError(ThreadingError):
    """The store does not hold the replay of a first part of this trace, with these options; nothing was written."""

    code = "RESUME_REFUSED"


@attrs.frozen
class ResumePoint:
    """Where a resumed replay took over: the store held the replay of lines up to ``line``, ``events`` events."""

    line: int
    events: int


class CommittedEvents:
    """The store's events in sequence order, read a page at a time, each matched once against a replayed one."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository
        self._page: deque[EventRecord] = deque()
        self._after = 0
        self._read_all = False
        self.matched = 0

    @property
    def exhausted(self) -> bool:
        """Whether every event the store holds has been matched."""
        if not self._page and not self._read_all:
            page = self._repository.read_events(self._after, _PAGE)
            self._page.extend(page)
            self._read_all = len(page) < _PAGE
            if page:
                self._after = page[-1].sequence
        return not self._page

    def match(self, record: EventRecord, line: int) -> EventRecord:
        """``record``, made again by ``line``, with the sequence number the store gave it; refuses a difference."""
        stored = None if self.exhausted else self._page.popleft()
        if stored is None or _essence(stored) != _essence(record):
            held = "nothing more" if stored is None else _described(stored)
            raise _refused(f"line {line} makes event {_described(record)} where the store holds {held}")
        self.matched += 1
        return attrs.evolve(record, sequence=stored.sequence)

    def unmatched(self) -> ResumeError:
        """The refusal when the trace ended before every event of the store was matched."""
        assert not self.exhausted
        first = self._page[0]
        return _refused(f"the trace ends after {self.matched} of the store's events; the next is {_described(first)}")


def _essence(record: EventRecord) -> tuple[object, ...]:
    """What a re-derived event must share with the store's: its sequence number is the store's to give."""
    return record.event_id, record.timestamp, record.event


def _described(record: EventRecord) -> str:
    return f"{record.event_id!r} ({record.event.type} at {record.timestamp.isoformat()})"


def _refused(problem: str) -> ResumeError:
    return ResumeError(
        f"store does not hold a replay of the first lines of this trace: {problem}. Resume only onto the store "
        "the trace was replayed to, with the same options (--ids sequential, --reopen-window, --reopen-clock)",
        field="store",
    )
