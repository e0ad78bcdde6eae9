"""A bounded model checker: every reachable state of a small universe, the engine against the reference model.

The universe
------------
Two channel accounts that both create tickets: ``shop`` on a DELIVERY_IDENTIFIER channel and ``bot`` on an
INTEGRATION_THREAD_ID channel. Counterparties are A and B, so ``shop`` has the keys {A}, {B} and {A, B} (R0).
Setting them up is a fixed prefix that the depth does not count. From there, the actions are:

- publishes: incoming from each key, outgoing mirrors to {A} and {A, B} (R3, R4); on ``bot``, incoming on
  ``conv-1`` and ``conv-2`` and outgoing on ``conv-1`` (I1);
- retried publishes: one idempotency id per account, published with a payload and with another (D1, D2);
- an agent's conversation start to {A} and {A, B}, and on ``bot`` (NOT_ALLOWED under I1); a reply on every
  thread (R3);
- close, archive, restore, reopen and close ticket on every thread (R6, R7, R8);
- invalid input: a message without a sender (V5), one from the account to itself (an empty key, R0), and
  one without ``integrationThreadId`` under I1 (V6);
- the clock: one second forward, one second back (R4's clock behind ``closedAt``), and, for every distinct
  ``closedAt``, the reopen window after it less a microsecond, exactly, and plus a microsecond (R4b's edge).

What is checked
---------------
States are explored breadth-first, so the first disagreement found has a shortest trace. Each transition runs
one command on the :class:`Engine` and on :class:`~reference_model.ReferenceModel` and checks

- the outcome or the error code, the thread, ticket and message it names, and its event types; that a
  rejected command emits nothing (E3); that the result's events are the ones the outbox recorded; R5's thread
  id on every webhook;
- the engine's whole store against the model's, ids renamed by position in creation order (so the check is
  an equivalence, not just matching counts);
- the invariants, on the engine's store: R1, I1, R2/R3 for the messages just stored, R6, R7, D1, and the
  outbox's unique event ids and increasing sequence (section 6).

Two states are one when the model's canonical form is: threads in creation order with their account, key,
integration thread id, status, archived flag, ticket status, and ``closedAt`` measured back from the clock
(the rules only compare times with each other, so shifting every time by the same amount changes nothing:
R4); the messages that carry an idempotency id (D1, D2); and each thread's count of other messages, capped at
two (no rule reads them). A state is rebuilt by replaying its history on a fresh store.

Run it: ``python tests/model_checker.py --depth 4 --backend memory`` (or ``--backend sqlite``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Literal

from model_check_actions import POLICY, START, Disagreement, History
from model_check_world import World

from threading_engine import Policy, open_repository

Backend = Literal["memory", "sqlite"]
BACKENDS: tuple[Backend, ...] = ("memory", "sqlite")


# -- stores --------------------------------------------------------------------------------------------------------


class Stores:
    """Fresh stores of one backend; SQLite files live in ``directory`` and are deleted with their world."""

    def __init__(self, backend: Backend, directory: Path | None = None, engine_policy: Policy = POLICY) -> None:
        if backend == "sqlite" and directory is None:
            raise ValueError("the sqlite backend needs a directory for its files")
        self.backend = backend
        self.directory = directory
        self.engine_policy = engine_policy
        self.made = 0
        self.files: dict[int, Path] = {}  # id of a world -> its database file

    def open(self, history: History = ()) -> World:
        """A world rebuilt at the state ``history`` reaches; :meth:`dispose` it after use."""
        self.made += 1
        url = "memory"
        path = None
        if self.backend == "sqlite" and self.directory is not None:
            path = self.directory / f"state-{self.made}.db"
            # synchronous=normal: the files are thrown away, so surviving a power cut does not matter here.
            url = f"sqlite:///{path}?synchronous=normal"
        world = World(open_repository(url), self.engine_policy)
        if path is not None:
            self.files[id(world)] = path
        try:
            world.replay(history)
        except BaseException:
            self.dispose(world)
            raise
        return world

    def dispose(self, world: World) -> None:
        world.close()
        path = self.files.pop(id(world), None)
        if path is not None:
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)


# -- the search ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Report:
    """What a search covered, and its shortest counterexample if it found one."""

    backend: Backend
    depth: int = 0  # the deepest level explored completely
    states: int = 1  # distinct canonical states, the connected accounts included
    transitions: int = 0
    seconds: float = 0.0
    levels: list[tuple[int, int, int, float]] = dataclasses.field(default_factory=list)  # depth, new, moves, s
    counterexample: History | None = None
    failure: str | None = None

    @property
    def agreed(self) -> bool:
        return self.counterexample is None

    def summary(self) -> str:
        rate = self.transitions / self.seconds if self.seconds else 0.0
        found = "" if self.counterexample is None else f"; a counterexample at depth {len(self.counterexample)}"
        return (
            f"{self.backend}: depth {self.depth} complete, {self.states} states, {self.transitions} transitions, "
            f"{self.seconds:.1f} s ({rate:.0f} transitions/s){found}"
        )


class Search:
    """Breadth-first search over canonical states; see :func:`explore`."""

    def __init__(self, stores: Stores, report: Report) -> None:
        self.stores = stores
        self.report = report
        self.seen: set[Hashable] = set()

    def start(self) -> list[History]:
        root = self.stores.open()
        try:
            self.seen.add(root.state())
        finally:
            self.stores.dispose(root)
        return [()]

    def expand(self, history: History) -> list[History]:
        """Take every action of the state ``history`` reaches; return the histories of states not seen before.

        A world is reused for the next action when the last one left the store as it was (a rejection, a no-op,
        a duplicate, a clock move): rebuilding costs more than the check itself.
        """
        new: list[History] = []
        parent = self.stores.open(history)
        actions, then = parent.actions(), parent.now
        world: World | None = parent
        try:
            for action in actions:
                if world is None:
                    world = self.stores.open(history)
                step = world.step_for(action)
                try:
                    taken = world.take(step)
                except Disagreement as disagreement:
                    self.report.counterexample, self.report.failure = (*history, step), str(disagreement)
                    return new
                self.report.transitions += 1
                state = world.state()
                if state not in self.seen:
                    self.seen.add(state)
                    new.append((*history, step))
                if taken.changed:
                    self.stores.dispose(world)
                    world = None
                else:
                    world.now = then
        finally:
            if world is not None:
                self.stores.dispose(world)
        return new


def explore(
    depth: int,
    backend: Backend = "memory",
    *,
    directory: Path | None = None,
    engine_policy: Policy = POLICY,
    max_seconds: float | None = None,
    on_level: Callable[[Report], None] | None = None,
) -> Report:
    """Explore every state within ``depth`` actions of the connected accounts, breadth-first.

    Stops at the first disagreement (a shortest counterexample, since levels are explored in order) or when
    ``max_seconds`` have passed (``depth`` then says how far the search got completely). ``engine_policy``
    differs from the model's only to check the checker.
    """
    report = Report(backend)
    search = Search(Stores(backend, directory, engine_policy), report)
    began = time.perf_counter()
    frontier = search.start()
    for level in range(1, depth + 1):
        level_began, moves_before, following = time.perf_counter(), report.transitions, []
        for history in frontier:
            following.extend(search.expand(history))
            report.seconds = time.perf_counter() - began
            if not report.agreed or (max_seconds is not None and report.seconds > max_seconds):
                report.states = len(search.seen)
                return report
        frontier = following
        report.depth, report.states = level, len(search.seen)
        report.levels.append(
            (level, len(following), report.transitions - moves_before, time.perf_counter() - level_began)
        )
        if on_level is not None:
            on_level(report)
        if not frontier:
            break
    return report


def describe(history: History, backend: Backend = "memory", *, engine_policy: Policy = POLICY) -> str:
    """A counterexample, step by step: the clock, the action, and the engine's answer (or the disagreement)."""
    lines = []
    with tempfile.TemporaryDirectory() as directory:
        stores = Stores(backend, Path(directory), engine_policy)
        world = stores.open()
        try:
            for number, step in enumerate(history, 1):
                clock = f"{'-' if step.at < START else '+'}{abs(step.at - START)}"
                try:
                    taken = world.take(step)
                except Disagreement as disagreement:
                    lines.append(f"{number:2}. [{clock}] {step.action.label}\n    DISAGREEMENT: {disagreement}")
                    break
                answer = f" -> {taken.answer}" if taken.answer else ""
                lines.append(f"{number:2}. [{clock}] {step.action.label}{answer}")
        finally:
            stores.dispose(world)
    return "\n".join(lines)


# -- command line ----------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--depth", type=int, default=4, help="actions after the accounts are connected")
    parser.add_argument("--backend", choices=BACKENDS, default="memory")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long")
    arguments = parser.parse_args(argv)

    def progress(report: Report) -> None:
        level, new, moves, seconds = report.levels[-1]
        print(f"depth {level}: {new} new states, {moves} transitions, {seconds:.1f} s", flush=True)

    with tempfile.TemporaryDirectory() as directory:
        report = explore(
            arguments.depth,
            arguments.backend,
            directory=Path(directory),
            max_seconds=arguments.max_seconds,
            on_level=progress,
        )
    print(report.summary())
    if report.counterexample is not None:
        print(f"DISAGREEMENT: {report.failure}\nshortest trace:\n{describe(report.counterexample, arguments.backend)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
