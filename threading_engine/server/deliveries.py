"""``threading-engine deliveries``: the webhook deliveries of a store that ``serve`` runs on, listed and retried.

It reads what the service reads: the engine's outbox in ``--store`` (webhook events not yet delivered) and
the service's own state file beside it (deliveries that gave up; ``--state`` as for ``serve``), so it works
while the service runs or after it stopped. ``--retry EVENT_ID`` and ``--retry-all`` send failed events again
exactly as the service's retry endpoint does (signed with ``--client-secret``; delivered ones leave the failed
list). A memory store lives inside its serving process: ask that process (``GET /_engine/webhooks/failed``).

    threading-engine deliveries [--store URL] [--state PATH] [--failed] [--retry EVENT_ID | --retry-all] [--json]

The exit status (:data:`EXIT_STATUSES`) tells a script whether anything is still failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..engine import Engine
from ..errors import ThreadingError
from ..stores import open_repository
from .command import DEFAULT_STORE
from .state import FailedDelivery, ServiceState, default_state_path

EXIT_CLEAR = 0  # a listing found no failed delivery, or every event retried was delivered
EXIT_FAILED = 1  # a listing found failed deliveries, or a retried event was not delivered
EXIT_USAGE = 2  # bad options (argparse's own status)
EXIT_UNREADABLE = 3  # the store or the service's state could not be opened
EXIT_UNKNOWN_EVENT = 4  # --retry names no failed delivery
EXIT_STATUSES = {
    EXIT_CLEAR: "no failed delivery listed, or every retried event delivered",
    EXIT_FAILED: "failed deliveries listed, or a retried event not delivered",
    EXIT_USAGE: "bad options",
    EXIT_UNREADABLE: "the store or the service's state could not be opened",
    EXIT_UNKNOWN_EVENT: "--retry names no failed delivery",
}


class UnreadableError(Exception):
    """The store or the state file is not there to read."""


def add_arguments(deliveries: argparse.ArgumentParser) -> None:
    deliveries.add_argument(
        "--store", default=DEFAULT_STORE, metavar="URL", help=f"the store serve runs on; default {DEFAULT_STORE}"
    )
    deliveries.add_argument(
        "--state",
        default=None,
        metavar="PATH",
        help="the service's state file; default beside a SQLite store (STORE.serve), required for other stores",
    )
    deliveries.add_argument("--failed", action="store_true", help="list only the failed deliveries")
    retry = deliveries.add_mutually_exclusive_group()
    retry.add_argument("--retry", metavar="EVENT_ID", help="send one failed event again")
    retry.add_argument("--retry-all", action="store_true", help="send every failed event again, oldest first")
    deliveries.add_argument(
        "--client-secret", default=None, help="the app's client secret that signs a retry; default serve's"
    )
    deliveries.add_argument("--webhook-timeout", type=float, default=5.0, metavar="SECONDS")
    deliveries.add_argument("--json", action="store_true", help="one JSON document on stdout instead of text")
    statuses = "; ".join(f"{status} {meaning}" for status, meaning in EXIT_STATUSES.items())
    deliveries.epilog = f"Exit statuses: {statuses}."
    deliveries.set_defaults(command_parser=deliveries)


def run(args: argparse.Namespace) -> int:
    try:
        state_path, store = _paths(args.store, args.state)
        state = ServiceState(state_path)
    except UnreadableError as error:
        return _refuse(EXIT_UNREADABLE, str(error))
    try:
        if args.retry is not None or args.retry_all:
            return _retry(args, store, state)
        return _list(args, store, state)
    except ThreadingError as error:
        return _refuse(EXIT_UNREADABLE, f"--store: {error.message}")
    finally:
        state.close()


def _paths(store: str, state: str | None) -> tuple[str, str]:
    """The state file and the store URL, both checked to exist: a listing must not create an empty store."""
    if store == "memory" or urlsplit(store).path in ("/:memory:", ":memory:"):
        raise UnreadableError("a memory store lives inside its serving process: ask it (GET /_engine/webhooks/failed)")
    if state is None:
        state = default_state_path(store)
        if state is None:
            raise UnreadableError(f"store {urlsplit(store).scheme}:// needs --state PATH, as serve did")
    if not Path(state).is_file():
        raise UnreadableError(f"no service state at {state}: has threading-engine serve run on this store?")
    if urlsplit(store).scheme == "sqlite":
        path = urlsplit(store).path
        path = path[1:] if path.startswith("/") else path
        if not Path(path).is_file():
            raise UnreadableError(f"no store at {path}")
    return state, store


def _pending(store: str) -> list[dict[str, Any]]:
    """The webhook events the outbox still holds: the service has not delivered them yet."""
    with Engine(open_repository(store)) as engine:
        records = [record for record in engine.pending_events() if record.event.webhook]
    return [{"eventId": r.event_id, "sequence": r.sequence, "type": r.event.type} for r in records]


def _list(args: argparse.Namespace, store: str, state: ServiceState) -> int:
    failed = state.failed()
    pending = [] if args.failed else _pending(store)
    if args.json:
        document: dict[str, Any] = {"failed": [f.to_json() for f in failed]}
        if not args.failed:
            document["pending"] = pending
        print(json.dumps(document, indent=2))
    else:
        lines = [f"failed deliveries: {len(failed)}", *(_line(f) for f in failed)]
        if not args.failed:
            lines.append(f"pending webhook events in the outbox: {len(pending)}")
            lines += [f"  {p['eventId']}  #{p['sequence']}  {p['type']}" for p in pending]
        summary = f"{len(failed)} failed" + ("" if args.failed else f", {len(pending)} pending")
        if failed:
            summary += "; retry with --retry EVENT_ID or --retry-all"
        print("\n".join([*lines, summary]))
    return EXIT_FAILED if failed else EXIT_CLEAR


def _line(failed: FailedDelivery) -> str:
    kind = json.loads(failed.body).get("type", "?")
    return (
        f"  {failed.event_id}  #{failed.sequence}  {kind}  account {failed.channel_account_id}  "
        f"{failed.attempts} attempts, last {failed.failed_at}: {failed.last_error}  -> {failed.url}"
    )


def _retry(args: argparse.Namespace, store: str, state: ServiceState) -> int:
    import threading

    from .app import DEFAULT_CLIENT_SECRET
    from .webhooks import DeliveryPolicy, Dispatcher

    failed = state.failed()
    chosen = [f.event_id for f in failed] if args.retry_all else [args.retry]
    if args.retry is not None and args.retry not in {f.event_id for f in failed}:
        return _refuse(EXIT_UNKNOWN_EVENT, f"--retry {args.retry!r} names no failed delivery (see --failed)")
    secret = args.client_secret or DEFAULT_CLIENT_SECRET
    outcomes: list[dict[str, Any]] = []
    with Engine(open_repository(store)) as engine:
        policy = DeliveryPolicy(timeout=args.webhook_timeout)
        dispatcher = Dispatcher(engine, state, secret, policy, threading.Lock())
        try:
            for event_id in chosen:
                _, error = dispatcher.retry_failed(event_id)
                outcomes.append({"eventId": event_id, "delivered": error is None, "error": error})
        finally:
            dispatcher.stop()
    delivered = sum(1 for outcome in outcomes if outcome["delivered"])
    left = len(state.failed())
    if args.json:
        print(json.dumps({"retried": outcomes, "failedLeft": left}, indent=2))
    else:
        for outcome in outcomes:
            shown = "delivered" if outcome["delivered"] else f"not delivered: {outcome['error']}"
            print(f"  {outcome['eventId']}  {shown}")
        print(f"retried {len(outcomes)}: {delivered} delivered, {len(outcomes) - delivered} not; {left} failed left")
    return EXIT_CLEAR if delivered == len(outcomes) else EXIT_FAILED


def _refuse(status: int, message: str) -> int:
    sys.stderr.write(f"threading-engine deliveries: {message}\n")
    return status
