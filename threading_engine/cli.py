"""The ``threading-engine`` command line. ``replay`` replays a trace file (SPEC section 8); ``serve`` serves
HubSpot's API locally (``threading_engine.server.command``, with the ``server`` extra); ``deliveries`` lists
and retries its webhook deliveries (``threading_engine.server.deliveries``).

    threading-engine replay TRACE.jsonl [--out PATH] [--reopen-window 24h] [--reopen-clock arrival]
                                        [--ids sequential|unique|hubspot] [--store URL] [--batch N] [--resume] [--quiet]

Results go to stdout (or ``--out``) as JSON Lines, each flushed as it is written. A summary goes to stderr, and
so does a progress bar when stderr is a terminal not also showing the results and ``rich`` is installed (the
``cli`` extra). The exit status says how the replay ended (:data:`EXIT_STATUSES`): rejected lines are results
too, so a replay with rejected lines still exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import BinaryIO

import attrs

from . import hubspot
from .decisions import Policy, ReopenClock
from .engine import Engine
from .errors import StorageError, ThreadingError, ValidationError
from .ids import HubSpotIds, SequentialIds, UniqueIds
from .replay import Replay, StoreStop, dumps_line
from .resume import ResumeError, ResumePoint
from .stores import open_repository
from .tracefile import Json

EXIT_DONE = 0  # every line was replayed; some may have been rejected
EXIT_IO = 1  # the trace could not be read, or the results could not be written
EXIT_USAGE = 2  # a bad option or store URL (argparse's own status)
EXIT_STORE = 3  # the store failed: lines from the first failed one on were not applied
EXIT_NOT_RESUMABLE = 4  # --resume found a store that does not hold a replay of this trace's first lines
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
EXIT_STATUSES = {
    EXIT_DONE: "every line replayed (rejected lines included)",
    EXIT_IO: "the trace could not be read or the results written",
    EXIT_USAGE: "bad options",
    EXIT_STORE: "a store error stopped the replay; rerun with --resume once the store is fixed",
    EXIT_NOT_RESUMABLE: "--resume refused: the store holds something other than this trace's replay",
    EXIT_INTERRUPTED: "interrupted; rerun with --resume to finish",
}

_NUMBER = r"\d+(?:\.\d+)?"
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# A bare number of seconds, or parts with units in the order d, h, m, s, each at most once: "1d12h", "1h 30m".
_DURATION = re.compile(
    rf"(?P<bare>{_NUMBER})|" + r"\s*".join(rf"(?:(?P<{unit}>{_NUMBER})\s*{unit})?" for unit in _UNIT_SECONDS),
    re.ASCII,
)


def parse_duration(text: str) -> timedelta:
    """A reopen window (R4): ``24h``, ``90m``, ``3600s``, ``1d``, parts of those in that order (``1h30m``,
    ``1d 12h``), or a bare number of seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or not any(match.groups()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration such as 24h, 90m, 1h30m, 3600s, 1d or 86400 (parts in the order d, h, m, s)"
        )
    try:
        if match["bare"] is not None:
            return timedelta(seconds=float(match["bare"]))
        return timedelta(seconds=sum(float(match[unit] or 0) * seconds for unit, seconds in _UNIT_SECONDS.items()))
    except OverflowError:
        longest = timedelta.max.days
        raise argparse.ArgumentTypeError(f"{text!r} is longer than the longest duration, {longest}d") from None


def _portal_id(text: str) -> str:
    try:
        return hubspot.check_portal_id(text)
    except ValidationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``threading-engine`` command, with its ``replay`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="threading-engine", description="Decide which conversation thread every message belongs to."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    statuses = "; ".join(f"{status} {meaning}" for status, meaning in EXIT_STATUSES.items())
    run = commands.add_parser(
        "replay",
        help="replay a trace file of commands, one JSON result per line",
        description="Replay a JSON Lines trace (SPEC section 8) and write one JSON result per trace line.",
        epilog=f"Exit statuses: {statuses}.",
    )
    run.add_argument("trace", type=_path, metavar="TRACE.jsonl", help="the trace to replay; - reads standard input")
    run.add_argument("--out", type=_path, metavar="PATH", help="write results here instead of standard output")
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
        choices=("sequential", "unique", "hubspot"),
        default="unique",
        help="sequential ids (thread-1, ...) make the output reproducible byte for byte; hubspot makes numeric "
        "ids (32 hex digits for messages), shaped as HubSpot's",
    )
    run.add_argument("--store", default="memory", metavar="URL", help="the store to write to; default memory")
    run.add_argument(
        "--batch",
        type=_positive,
        default=1,
        metavar="N",
        help="handle N lines per unit of work (one transaction on SQL stores); the output does not change",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue a replay that stopped midway onto the same store (needs --ids sequential); "
        "--out is rewritten whole",
    )
    run.add_argument(
        "--portal-id",
        type=_portal_id,
        default=hubspot.DEFAULT_PORTAL_ID,
        metavar="ID",
        help=f"the HubSpot portal (account id, digits) the webhooks carry (P1); default {hubspot.DEFAULT_PORTAL_ID}",
    )
    run.add_argument("--quiet", action="store_true", help="no summary and no progress bar on stderr")
    run.set_defaults(command_parser=run)
    from .server.command import add_arguments  # no web framework is imported until ``serve`` runs

    add_arguments(commands.add_parser("serve", help="serve HubSpot's Custom Channels API locally (server extra)"))
    from .server import deliveries

    deliveries.add_arguments(
        commands.add_parser("deliveries", help="list the webhook deliveries of a served store; retry failed ones")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``threading-engine`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from .server.command import run as serve

        return serve(args)
    if args.command == "deliveries":
        from .server.deliveries import run as deliveries

        return deliveries(args)
    parser: argparse.ArgumentParser = args.command_parser
    if args.resume and args.ids != "sequential":
        parser.error("--resume needs --ids sequential: a resumed replay must make the ids the first run made")
    try:
        repository = open_repository(args.store)
    except StorageError as error:
        return _fail(EXIT_STORE, f"--store: {error.message}")
    except ThreadingError as error:
        parser.error(f"--store: {error.message}")
    policy = Policy(reopen_window=args.reopen_window, reopen_clock=args.reopen_clock)
    ids = {"sequential": SequentialIds, "unique": UniqueIds, "hubspot": HubSpotIds}[args.ids]()
    summary = Summary()
    replay: Replay | None = None
    status, problem = EXIT_DONE, ""
    started = time.perf_counter()
    try:
        with (
            Engine(repository, ids=ids, policy=policy) as engine,
            _opened_trace(args.trace) as source,
            _Output.opened(args.out, args.resume) as output,
        ):
            replay = Replay(engine, portal_id=args.portal_id)
            _replay_stream(replay, source, output, summary, args)
    except OSError as error:
        status, problem = EXIT_IO, str(error)
    except ResumeError as error:
        status, problem, replay = EXIT_NOT_RESUMABLE, error.message, None
    except StorageError as error:  # outside any line: reading what the store holds, or closing it
        status, problem = EXIT_STORE, error.message
    except KeyboardInterrupt:
        status, problem = EXIT_INTERRUPTED, f"interrupted after {summary.lines} lines: rerun with --resume to finish"
    if replay is not None:
        summary.stopped, summary.resumed = replay.stopped, replay.resumed
        if status == EXIT_DONE and replay.stopped is not None:
            status = EXIT_STORE
        if not args.quiet:
            sys.stderr.write(summary.render(time.perf_counter() - started))
    if problem:
        _fail(status, problem)
    return status


def _replay_stream(
    replay: Replay, source: BinaryIO, output: _Output, summary: Summary, args: argparse.Namespace
) -> None:
    # A bar on a terminal that is also receiving the results would be torn up by them.
    results_on_terminal = args.out is None and sys.stdout.isatty()
    show_progress = not args.quiet and sys.stderr.isatty() and not results_on_terminal

    def verified() -> None:
        output.settle()
        summary.verified()

    with _progress_bar(_size(source) if show_progress else None, show_progress) as advance:
        lines = _decoded_lines(source, advance)
        for result in replay.run(lines, args.batch, resume=args.resume, on_verified=verified):
            summary.add(result)
            # Flushed line by line: after a kill, every result the store committed is in --out but those in flight.
            output.sink.write(dumps_line(result).encode("utf-8") + b"\n")
            output.sink.flush()


def _decoded_lines(source: BinaryIO, advance: Callable[[int], None]) -> Iterator[str]:
    # Bytes, not text, so that progress can count them and one badly encoded line cannot stop the replay: an
    # undecodable byte arrives as a lone surrogate, which makes that line (and only it) an error line.
    for raw in source:
        advance(len(raw))
        yield raw.decode("utf-8", errors="surrogateescape")


@contextlib.contextmanager
def _opened_trace(trace: str) -> Iterator[BinaryIO]:
    if trace == "-":
        yield sys.stdin.buffer
        return
    with open(trace, "rb") as source:
        yield source


@attrs.define
class _Output:
    """Where results go. A resumed replay writes beside ``--out`` until the store is verified (:meth:`settle`),
    so that a refused resume leaves the earlier results in place."""

    sink: BinaryIO
    pending: str | None = None
    target: str | None = None

    @classmethod
    @contextlib.contextmanager
    def opened(cls, out: str | None, resume: bool) -> Iterator[_Output]:
        if out is None:
            yield cls(sys.stdout.buffer)
            return
        # Only a regular file is replaced by renaming: never a device or a pipe named by --out.
        replaceable = resume and (os.path.isfile(out) or not os.path.exists(out))
        path = f"{out}.resuming" if replaceable else out
        with open(path, "wb") as sink:
            output = cls(sink, path, out) if replaceable else cls(sink)
            try:
                yield output
            finally:
                if output.pending is not None:
                    with contextlib.suppress(OSError):
                        os.remove(output.pending)

    def settle(self) -> None:
        """The results so far are the store's: they replace ``--out``, and the rest follows them there."""
        if self.pending is not None and self.target is not None:
            self.sink.flush()
            os.replace(self.pending, self.target)
            self.pending = None


@attrs.define
class Summary:
    """Counts over a replay's results, for the report on stderr. Threads, tickets and messages are those created.

    Store failures are counted apart from rejected lines: a rejected line is a result, a store failure is not.
    """

    lines: int = 0
    outcomes: Counter[str] = attrs.field(factory=Counter)
    errors: Counter[str] = attrs.field(factory=Counter)
    store_failures: int = 0
    threads: int = 0
    tickets: int = 0
    messages: int = 0
    events: int = 0
    messages_rederived: int = 0
    stopped: StoreStop | None = None
    resumed: ResumePoint | None = None

    def add(self, result: Json) -> None:
        self.lines += 1
        if not result["ok"]:
            code = result["error"]["code"]
            if code == StorageError.code:
                self.store_failures += 1
            else:
                self.errors[code] += 1
            return
        self.outcomes[result["outcome"]] += 1
        types = Counter(event["type"] for event in result["events"])
        self.threads += types["THREAD_CREATED"]
        self.tickets += types["TICKET_CREATED"]
        self.messages += types["MESSAGE_APPENDED"]
        self.events += len(result["events"])

    def verified(self) -> None:
        """The results so far were re-derived from what the store held, not written by this run."""
        self.messages_rederived = self.messages

    def render(self, elapsed: float) -> str:
        """A few human-readable lines; messages per second counts the messages this replay stored."""
        stored = self.messages - self.messages_rederived
        rate = stored / elapsed if elapsed > 0 else 0.0
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())) or "none"
        errors = ", ".join(f"{code} {count}" for code, count in sorted(self.errors.items())) or "none"
        report = f"lines: {self.lines}\noutcomes: {outcomes}\nerrors: {errors}\n"
        if self.store_failures or self.stopped is not None:
            plural = "" if self.store_failures == 1 else "s"
            report += f"store errors: {self.store_failures} line{plural} not applied\n"
        if self.stopped is not None:
            report += (
                f"stopped: the store failed at line {self.stopped.line} ({self.stopped.error.message}); "
                "later lines were not replayed. Rerun with --resume once the store is fixed\n"
            )
        if self.resumed is not None:
            report += (
                f"resumed: the store held lines 1-{self.resumed.line} ({self.resumed.events} events), "
                "re-derived without writing them again\n"
            )
        return report + (
            f"threads: {self.threads}, tickets: {self.tickets}, messages: {self.messages}, events: {self.events}\n"
            f"elapsed: {elapsed:.3f} s, {rate:.0f} messages/s\n"
        )


def _fail(status: int, message: str) -> int:
    print(f"threading-engine: error: {message}", file=sys.stderr)
    return status


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


def _path(text: str) -> str:
    """A file name the system can take (``-`` included): no NUL, and encodable as the file system wants."""
    try:
        if "\0" not in text and os.fsencode(text):
            return text
    except UnicodeError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a file name")


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
