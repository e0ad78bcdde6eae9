"""The model checker's universe and its actions: the clock, the people and the accounts, and what can happen.

The constants fix the universe (see ``model_checker.py``); each action class is one kind of move, with a label
for traces; :data:`FIXED_ACTIONS` are the moves every state offers, :data:`WINDOW_EDGES` the ones each distinct
``closedAt`` adds. :class:`Step` is an action as taken, at a clock reading, and :class:`Taken` what it did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from threading_engine import (
    ArchiveThread,
    CloseThread,
    CloseTicket,
    Command,
    Direction,
    IdentifierType,
    Policy,
    ReopenThread,
    RestoreThread,
    ThreadingModel,
)

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
POLICY = Policy()
WINDOW = POLICY.reopen_window
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)
PHONE = IdentifierType.HS_PHONE_NUMBER

# Every identifier is given in canonical form: V4 is the business of other tests, and it lets the model (which
# does not canonicalize) take the very same commands.
PHONES: dict[str, str] = {"A": "+15550100001", "B": "+15550100002", "shop": "+15559990001", "bot": "+15559990002"}
NAMES: dict[tuple[str, str], str] = {(PHONE.value, number): name for name, number in PHONES.items()}
MODELS: dict[str, ThreadingModel] = {
    "shop": ThreadingModel.DELIVERY_IDENTIFIER,
    "bot": ThreadingModel.INTEGRATION_THREAD_ID,
}


class Disagreement(AssertionError):  # noqa: N818 - a finding of the search, raised as a failed assert is
    """The engine and the model differ, or the engine's store breaks an invariant."""


# -- actions ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Publish:
    """``publishMessage``: incoming from ``people`` (the first one sends) or outgoing to them (R3, R4, I1, D1)."""

    account: str
    direction: Direction
    people: tuple[str, ...]
    text: str = "hi"
    integration_thread_id: str | None = None
    idempotency_id: str | None = None

    @property
    def label(self) -> str:
        parts = [f"{self.account}: {self.direction.value.lower()} {{{', '.join(self.people)}}}"]
        if self.integration_thread_id is not None:
            parts.append(f"on {self.integration_thread_id}")
        if self.idempotency_id is not None:
            parts.append(f"idempotency id {self.idempotency_id}")
        if self.text != "hi":
            parts.append(f"text {self.text!r}")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class Start:
    """An agent's conversation start addressed to ``people`` (R3; NOT_ALLOWED under I1)."""

    account: str
    people: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.account}: agent starts a conversation with {{{', '.join(self.people)}}}"


Verb = Literal["reply", "close", "archive", "restore", "reopen", "close ticket"]
VERBS: tuple[Verb, ...] = ("reply", "close", "archive", "restore", "reopen", "close ticket")
LIFECYCLE: dict[Verb, Callable[[str], Command]] = {
    "close": CloseThread,
    "archive": ArchiveThread,
    "restore": RestoreThread,
    "reopen": ReopenThread,
    "close ticket": CloseTicket,
}


@dataclasses.dataclass(frozen=True)
class OnThread:
    """An agent's reply (R3) or lifecycle change (R6-R8) on the thread created ``thread``-th (from 0)."""

    verb: Verb
    thread: int

    @property
    def label(self) -> str:
        return f"agent: {self.verb} thread #{self.thread}"


@dataclasses.dataclass(frozen=True)
class MoveClock:
    """The clock moves ``by`` from now or, with ``after_close_of``, to that thread's closedAt + window + ``by``."""

    by: timedelta
    after_close_of: int | None = None

    @property
    def label(self) -> str:
        offset = "" if not self.by else f" {'+' if self.by > timedelta(0) else '-'} {abs(self.by)}"
        if self.after_close_of is None:
            return f"clock{offset}"
        return f"clock to closedAt of thread #{self.after_close_of} + window{offset}"


Action = Publish | Start | OnThread | MoveClock

INCOMING = Direction.INCOMING
OUTGOING = Direction.OUTGOING
FIXED_ACTIONS: tuple[Action, ...] = (
    Publish("shop", INCOMING, ("A",)),
    Publish("shop", INCOMING, ("B",)),
    Publish("shop", INCOMING, ("A", "B")),
    Publish("shop", OUTGOING, ("A",)),
    Publish("shop", OUTGOING, ("A", "B")),
    Start("shop", ("A",)),
    Start("shop", ("A", "B")),
    Publish("shop", INCOMING, ("A",), idempotency_id="retry-1"),
    Publish("shop", INCOMING, ("A",), text="hi (edited)", idempotency_id="retry-1"),  # D2: other text
    Publish("bot", INCOMING, ("A",), integration_thread_id="conv-1"),
    Publish("bot", INCOMING, ("A",), integration_thread_id="conv-2"),
    Publish("bot", OUTGOING, ("A",), integration_thread_id="conv-1"),
    Publish("bot", INCOMING, ("A",), integration_thread_id="conv-1", idempotency_id="retry-2"),
    Publish("bot", INCOMING, ("A",), integration_thread_id="conv-2", idempotency_id="retry-2"),  # D2: thread id
    Start("bot", ("A",)),  # I1: only the integration names threads
    Publish("shop", INCOMING, ()),  # V5: no sender
    Publish("shop", INCOMING, ("shop",)),  # R0: the account writing to itself leaves an empty key
    Publish("bot", INCOMING, ("A",)),  # V6: no integrationThreadId
    MoveClock(SECOND),
    MoveClock(-SECOND),  # R4: a clock behind closedAt counts as zero elapsed
)
WINDOW_EDGES = (-MICROSECOND, timedelta(0), MICROSECOND)  # R4b: "less than" the window; exactly is too late


@dataclasses.dataclass(frozen=True)
class Step:
    """One action as taken, and the clock reading it ran at (or, for a clock move, set)."""

    action: Action
    at: datetime


@dataclasses.dataclass(frozen=True)
class Taken:
    """What a checked step did: the engine's outcome or error code, and whether the store may have changed."""

    answer: str
    changed: bool


History = tuple[Step, ...]
