"""``threading-engine serve``: its options, and running the service under uvicorn.

This module imports no web framework at import time, so the ``threading-engine`` command can list ``serve``
among its commands without the ``server`` extra installed; running it needs the extra.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import datetime

from ..errors import ThreadingError

DEFAULT_STORE = "sqlite:///threading-engine.db"


def _token(text: str) -> tuple[str, str]:
    token, equals, portal = text.partition("=")
    if not equals or not token or not (portal.isascii() and portal.isdigit() and len(portal) <= 20):
        raise argparse.ArgumentTypeError(f"{text!r} is not TOKEN=PORTAL (a portal is 1 to 20 digits)")
    return token, portal


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time with an offset")
    return moment


def _positive(kind: type[float] | type[int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not above 0")
        return value

    return parse


def add_arguments(serve: argparse.ArgumentParser) -> None:
    """The options of ``threading-engine serve``."""
    serve.add_argument(
        "--store", default=DEFAULT_STORE, metavar="URL", help=f"the engine's store; default {DEFAULT_STORE}"
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on; default 127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="the port to listen on; default 8080")
    serve.add_argument(
        "--token",
        type=_token,
        action="append",
        default=[],
        metavar="TOKEN=PORTAL",
        help="a bearer token and the portal it acts for (repeatable); default: one token for portal 1, printed",
    )
    serve.add_argument("--client-secret", default=None, help="the app's client secret, which signs webhooks")
    serve.add_argument(
        "--state",
        default=None,
        metavar="PATH",
        help="the service's own SQLite file; default beside "
        "a SQLite store (STORE.serve), in memory for the memory store; required for other stores",
    )
    serve.add_argument(
        "--clock",
        choices=("system", "manual"),
        default="system",
        help="manual: the engine's clock stands still until POST /_engine/clock/advance",
    )
    serve.add_argument(
        "--clock-start",
        type=_moment,
        default=None,
        metavar="TIME",
        help="where a new manual clock starts (ISO 8601 with offset); default now",
    )
    serve.add_argument("--webhook-timeout", type=_positive(float), default=5.0, metavar="SECONDS")
    serve.add_argument("--webhook-max-attempts", type=_positive(int), default=10, metavar="N")
    serve.add_argument(
        "--webhook-backoff",
        type=_positive(float),
        default=0.5,
        metavar="SECONDS",
        help="the first retry's delay; each next one doubles, with jitter",
    )
    serve.add_argument("--webhook-backoff-max", type=_positive(float), default=60.0, metavar="SECONDS")
    serve.add_argument("--max-body-bytes", type=_positive(int), default=None, metavar="N")
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    serve.set_defaults(command_parser=serve)


def run(args: argparse.Namespace) -> int:
    """Start the service and serve until interrupted; returns the exit status."""
    try:
        import uvicorn

        from . import app, logs
        from .webhooks import DeliveryPolicy
    except ImportError as error:
        sys.stderr.write(
            f"threading-engine serve needs the server extra: pip install 'threading-engine[server]' ({error})\n"
        )
        return 2
    tokens = dict(args.token) or {app.DEFAULT_TOKEN: app.DEFAULT_PORTAL}
    config = app.ServiceConfig(
        store=args.store,
        tokens=tokens,
        client_secret=args.client_secret or app.DEFAULT_CLIENT_SECRET,
        state=args.state,
        clock=args.clock,
        clock_start=args.clock_start,
        delivery=DeliveryPolicy(
            timeout=args.webhook_timeout,
            max_attempts=args.webhook_max_attempts,
            backoff_base=args.webhook_backoff,
            backoff_max=args.webhook_backoff_max,
        ),
        max_body_bytes=args.max_body_bytes or app.MAX_BODY_BYTES,
    )
    logs.configure(logging.getLevelNamesMapping()[args.log_level.upper()])
    try:
        application = app.create_app(config)
    except ThreadingError as error:
        sys.stderr.write(f"threading-engine serve: {error.message}\n")
        return 3 if error.code == "STORAGE_ERROR" else 2
    base = f"http://{args.host}:{args.port}"
    lines = [f"threading-engine serve: HubSpot Custom Channels on {base} (store {args.store}, clock {args.clock})"]
    lines += [f"  token {token} -> portal {portal}" for token, portal in tokens.items()]
    if args.client_secret is None:
        lines.append(f"  webhooks signed with client secret {app.DEFAULT_CLIENT_SECRET}")
    lines.append(f'  try: curl -H "Authorization: Bearer {next(iter(tokens))}" {base}/conversations/v3/custom-channels')
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
    uvicorn.run(application, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=10)
    return 0
