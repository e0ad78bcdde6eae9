"""The ``threading-engine`` command line. Its one command replays a trace file (SPEC section 8).

    threading-engine replay TRACE.jsonl [--out PATH] [--reopen-window 24h] [--reopen-clock arrival]
                                        [--ids sequential|unique] [--store URL] [--quiet]

Results go to stdout (or ``--out``) as JSON Lines. A summary goes to stderr, and so does a progress bar when
stderr is a terminal not also showing the results and ``rich`` is installed (the ``cli`` extra). The exit status
is 0 when the whole trace was replayed, even if some lines were rejected: rejected lines are results too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import BinaryIO

from .decisions import Policy, ReopenClock
from .engine import Engine
from .errors import ThreadingError
from .ids import SequentialIds, unique_id
from .replay import Summary, dumps_line, replay
from .stores import open_repository

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """A reopen window (R4): ``24h``, ``90m``, ``3600s``, ``1d``, or a bare number of seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 24h, 90m, 3600s, 1d or 86400")
    return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``threading-engine`` command, with its ``replay`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="threading-engine", description="Decide which conversation thread every message belongs to."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "replay",
        help="replay a trace file of commands, one JSON result per line",
        description="Replay a JSON Lines trace (SPEC section 8) and write one JSON result per trace line.",
    )
    run.add_argument("trace", metavar="TRACE.jsonl", help="the trace to replay; - reads standard input")
    run.add_argument("--out", metavar="PATH", help="write results here instead of standard output")
    run.add_argument(
        "--reopen-window",
        type=parse_duration,
        default=Policy().reopen_window,
        metavar="DURATION",
        help="how long after closing an incoming message still reopens a thread (R4); default 24h",
    )
    run.add_argument(
        "--reopen-clock",
        type=ReopenClock,
        choices=list(ReopenClock),
        default=ReopenClock.ARRIVAL,
        help="measure the window to the engine's arrival time or the provider's timestamp (R4)",
    )
    run.add_argument(
        "--ids",
        choices=("sequential", "unique"),
        default="unique",
        help="sequential ids (thread-1, ...) make the output reproducible byte for byte",
    )
    run.add_argument("--store", default="memory", metavar="URL", help="the store to write to; default memory")
    run.add_argument(
        "--batch",
        type=_positive,
        default=1,
        metavar="N",
        help="handle N lines per unit of work (one transaction on SQL stores); the output does not change",
    )
    run.add_argument("--quiet", action="store_true", help="no summary and no progress bar on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``threading-engine`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        repository = open_repository(args.store)
    except ThreadingError as error:
        parser.error(f"--store: {error.message}")
    policy = Policy(reopen_window=args.reopen_window, reopen_clock=args.reopen_clock)
    ids = SequentialIds() if args.ids == "sequential" else unique_id
    try:
        with Engine(repository, ids=ids, policy=policy) as engine, _opened(args.trace, args.out) as (source, sink):
            # A bar on a terminal that is also receiving the results would be torn up by them.
            results_on_terminal = args.out is None and sys.stdout.isatty()
            show_progress = not args.quiet and sys.stderr.isatty() and not results_on_terminal
            summary, elapsed = _replay_stream(engine, source, sink, show_progress, args.batch)
    except OSError as error:
        print(f"threading-engine: error: {error}", file=sys.stderr)
        return 1
    if not args.quiet:
        sys.stderr.write(summary.render(elapsed))
    return 0


def _replay_stream(
    engine: Engine, source: BinaryIO, sink: BinaryIO, show_progress: bool, batch_size: int
) -> tuple[Summary, float]:
    summary = Summary()
    started = time.perf_counter()
    with _progress_bar(_size(source) if show_progress else None, show_progress) as advance:
        for result in replay(_decoded_lines(source, advance), engine, batch_size=batch_size):
            summary.add(result)
            sink.write(dumps_line(result).encode("utf-8") + b"\n")
    sink.flush()
    return summary, time.perf_counter() - started


def _decoded_lines(source: BinaryIO, advance: Callable[[int], None]) -> Iterator[str]:
    # Bytes, not text, so that progress can count them and one badly encoded line cannot stop the replay:
    # undecodable bytes become U+FFFD and the line is judged like any other.
    for raw in source:
        advance(len(raw))
        yield raw.decode("utf-8", errors="replace")


@contextlib.contextmanager
def _opened(trace: str, out: str | None) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    with contextlib.ExitStack() as stack:
        source = sys.stdin.buffer if trace == "-" else stack.enter_context(open(trace, "rb"))
        sink = sys.stdout.buffer if out is None else stack.enter_context(open(out, "wb"))
        yield source, sink


def _size(source: BinaryIO) -> int | None:
    try:
        return os.fstat(source.fileno()).st_size or None
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _progress_bar(total: int | None, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A byte-counting progress bar on stderr, or a no-op when disabled or ``rich`` is not installed."""
    if enabled:
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:
            enabled = False
    if not enabled:
        yield _ignore
        return
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("replaying", total=total)
        yield lambda count: progress.advance(task, count)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _ignore(count: int) -> None:
    """Progress nobody is watching."""
