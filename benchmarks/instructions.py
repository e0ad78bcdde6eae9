"""Instructions per command, counted by callgrind: the CPU-bound benchmarks in a unit that does not swing.

Wall-clock rates on a shared machine move by a factor of two from day to day; the number of instructions a
command executes does not depend on what else the machine is doing. ``python -m benchmarks.instructions`` runs
each scenario in a child process under ``valgrind --tool=callgrind`` twice: once preparing ``--commands``
commands and sending them, once only preparing them (the same set-up, the same commands built). The
difference, divided by the number of commands, is what sending one costs, with interpreter start-up, imports
and set-up cancelled out. The same is measured for the floor (``floors.DictRouter``: the least work with the
append's semantics), so each figure comes with its ratio to the floor.

An instruction count still moves a little with where objects land in memory (a different hash seed, a longer
path to the package), by up to about 1%: each figure is the median over ``--seeds`` hash seeds, with its
spread. The collector runs as it would in a server, after everything the set-up made was frozen
(``gc.freeze``), so that the set-up's objects are not traversed again and again.

Usage::

    python -m benchmarks.instructions [--scenarios append,new-thread,...] [--stores memory,sqlite]
                                      [--commands 2000] [--seeds 3] [--json results.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.command_methods import Result
from threading_engine.commands import PublishMessage
from threading_engine.repository import Repository
from threading_engine.rules import message_key

from .contract_values import ContractValues, Fact
from .floors import DictRouter, FloorCommands
from .scenarios import SCENARIOS, make_scenario
from .timing import SteppingClock
from .workload import START, new_fixture, run_single

ROOT = Path(__file__).resolve().parents[1]
STORES: dict[str, Callable[[], Repository]] = {
    "memory": MemoryRepository,
    # In memory, so that the count is the engine's and SQLite's CPU work, not a disk's.
    "sqlite": lambda: SQLiteRepository(":memory:", view_cache_size=1024),
}
FLOOR = "floor"
# The values an append must build under today's contracts, and nothing else (``contract_values``).
CONTRACT = "contract"
OPEN_THREADS = 100
COLLECTED = re.compile(r"Collected : (\d+)")


@dataclass(frozen=True)
class Figure:
    """Instructions per command of one scenario on one store: the median over hash seeds, and the spread."""

    scenario: str
    store: str
    per_command: float
    lowest: float
    highest: float
    seeds: int

    @property
    def spread(self) -> float:
        """(highest - lowest) / median: how far the seeds moved the count."""
        return (self.highest - self.lowest) / self.per_command


# -- the child: one scenario, prepared, and sent or not ----------------------------------------------------


def _child(scenario: str, store: str, commands: int, send: bool) -> None:
    """Prepare ``commands`` commands of ``scenario`` on ``store`` and, if ``send``, send them one by one."""
    if store == FLOOR:
        router = DictRouter(OPEN_THREADS)
        now = SteppingClock(START).next_round()
        prepared = FloorCommands(OPEN_THREADS).take(commands, now)
        _freeze()
        if send:
            publish = router.publish
            for command in prepared:
                publish(command, now)
        return
    if store == CONTRACT:
        _contract_child(commands, send)
        return
    fixture = new_fixture(STORES[store]())
    chosen = make_scenario(scenario, open_threads=OPEN_THREADS)
    chosen.prepare(fixture)
    fixture.clock.next_round()
    built, expected = chosen.commands(fixture, commands)
    run = run_single(fixture.engine, built)
    _freeze()
    if send:
        # An error's repr only for an error: ``repr`` of every result (a default argument is evaluated whether or
        # not it is used) cost some 50,000 instructions per append, over a fifth of what was counted.
        outcomes = [answer.outcome.value if isinstance(answer, Result) else repr(answer) for answer in run()]
        if outcomes != expected:  # a count of commands that did something else would mean nothing
            raise SystemExit(f"{scenario} on {store}: expected {expected[:3]}..., got {outcomes[:3]}...")


def _contract_child(commands: int, send: bool) -> None:
    """The append scenario's commands, each turned into the values its append must build, and nothing else."""
    fixture = new_fixture(MemoryRepository())
    chosen = make_scenario("append", open_threads=OPEN_THREADS)
    chosen.prepare(fixture)
    now = fixture.clock.next_round()
    built, _ = chosen.commands(fixture, commands)
    engine = fixture.engine
    account = engine.channel_account(fixture.account_id)
    open_threads = {thread.key: thread for thread in engine.repository.list_threads(fixture.account_id)}
    facts: list[Fact] = []
    for command in built:
        assert isinstance(command, PublishMessage)
        key = message_key(account, command.senders)
        facts.append((command, key, open_threads[key]))
    values = ContractValues(engine.channel(fixture.channel_id), account, now)
    _freeze()
    if send:
        # The results kept, as the engine's run keeps them; not the decisions, which the engine lets go.
        results = [values.append(fact)[1] for fact in facts]
        if len(results) != commands:
            raise SystemExit("the contract's values were not built for every command")


def _freeze() -> None:
    gc.collect()
    gc.freeze()


# -- the parent: callgrind runs and their differences -------------------------------------------------------


def valgrind() -> str | None:
    """The valgrind executable, if the machine has one."""
    return shutil.which("valgrind")


def _instructions(scenario: str, store: str, commands: int, send: bool, seed: int) -> int:
    """The instructions callgrind counts in one child run."""
    tool = valgrind()
    if tool is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as directory:
        argv = [
            tool,
            "--tool=callgrind",
            f"--callgrind-out-file={directory}/callgrind.out",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--child",
            scenario,
            store,
            str(commands),
            "send" if send else "prepare",
        ]
        environment = {**os.environ, "PYTHONHASHSEED": str(seed)}
        done = subprocess.run(argv, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run of {scenario} on {store} failed:\n{done.stderr[-2000:]}")
    return int(found[1])


def measure(scenario: str, store: str, *, commands: int, seeds: int, workers: int = 2) -> Figure:
    """Instructions per command of ``scenario`` on ``store`` (or :data:`FLOOR`), over ``seeds`` hash seeds."""
    runs = [(send, seed) for seed in range(1, seeds + 1) for send in (True, False)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        counts = list(pool.map(lambda run: _instructions(scenario, store, commands, *run), runs))
    by_seed = [(counts[i] - counts[i + 1]) / commands for i in range(0, len(counts), 2)]
    return Figure(scenario, store, statistics.median(by_seed), min(by_seed), max(by_seed), seeds)


def _table(figures: Sequence[Figure], floor: Figure | None, contract: Figure | None = None) -> str:
    lines = [
        "| scenario | store | instructions per command | spread over seeds | floor | engine/floor "
        "| the contracts' values | beyond them |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for figure in figures:
        # Ratios as the rate benchmarks give them: the engine's rate over the floor's, so the floor's count
        # over the engine's. Only the append has a floor with the same semantics, and a contract bound.
        append = figure.scenario == "append"
        floor_text = f"{floor.per_command:,.0f}" if append and floor else "-"
        ratio = f"{floor.per_command / figure.per_command:.3f}" if append and floor else "-"
        values = f"{contract.per_command:,.0f}" if append and contract else "-"
        beyond = f"{figure.per_command - contract.per_command:,.0f}" if append and contract else "-"
        lines.append(
            f"| {figure.scenario} | {figure.store} | {figure.per_command:,.0f} | {figure.spread:.2%} "
            f"| {floor_text} | {ratio} | {values} | {beyond} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--child"]:
        scenario, store, commands, mode = arguments[1:5]
        _child(scenario, store, int(commands), mode == "send")
        # Leave at once: the interpreter's teardown frees what each run made, which differs between the two
        # runs of a pair by more than twenty cheap commands cost, and is no part of sending a command.
        sys.stdout.flush()
        os._exit(0)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of {SCENARIOS}")
    parser.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of {tuple(STORES)}")
    parser.add_argument("--commands", type=int, default=2000, help="commands per run (default 2000)")
    parser.add_argument("--seeds", type=int, default=3, help="hash seeds per figure (default 3)")
    parser.add_argument("--no-floor", action="store_true", help="leave out the floor")
    parser.add_argument(
        "--no-contract",
        action="store_true",
        help="leave out the values the contracts require of an append (measured with the append scenario)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    options = parser.parse_args(arguments)
    scenarios = [name for name in options.scenarios.split(",") if name]
    stores = [name for name in options.stores.split(",") if name]
    unknown = [name for name in scenarios if name not in SCENARIOS] + [name for name in stores if name not in STORES]
    if unknown or options.commands < 1 or options.seeds < 1:
        parser.error(f"unknown scenarios or stores {unknown}, or --commands/--seeds below 1")
    figures = []
    for store in stores:
        for scenario in scenarios:
            figure = measure(scenario, store, commands=options.commands, seeds=options.seeds)
            figures.append(figure)
            print(f"{scenario} on {store}: {figure.per_command:,.0f} instructions per command", file=sys.stderr)
    floor = None
    if not options.no_floor:
        floor = measure("append", FLOOR, commands=options.commands, seeds=options.seeds)
        print(f"floor (append): {floor.per_command:,.0f} instructions per command", file=sys.stderr)
    contract = None
    if "append" in scenarios and not options.no_contract:
        contract = measure("append", CONTRACT, commands=options.commands, seeds=options.seeds)
        print(f"the contracts' values (append): {contract.per_command:,.0f} instructions per command", file=sys.stderr)
    print(_table(figures, floor, contract))
    if options.json is not None:
        document = {
            "commands": options.commands,
            "seeds": options.seeds,
            "python": sys.version.split()[0],
            "figures": [asdict(figure) | {"spread": figure.spread} for figure in figures],
            "floor": None if floor is None else asdict(floor),
            "contract": None if contract is None else asdict(contract),
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
