"""Publishes per second over HTTP against the engine called directly, on the memory and SQLite stores.

The service is ``threading-engine serve`` in its own process (uvicorn, on a loopback port, manual clock, logs
at warning), driven by one httpx client with keep-alive that sends one publish at a time and waits for its
201; the engine is an :class:`~threading_engine.Engine` in this process on a store of the same backend. Both
start alike: one channel without a ``webhookUrl`` (the dispatcher acknowledges events without posting them),
one account, and ``open_threads`` counterparts who each wrote once, so that every measured publish appends
to an open thread (the append scenario). Each round's publishes are built before it is timed: the JSON bodies
for the service, and for the engine the commands the HubSpot edge parses from the same bodies (parsing is the
service's work, so only the HTTP side pays for it). The rounds alternate (engine, service, engine, ...), and
both clocks move on by a second between rounds (the service's by its advance endpoint). The ratio, HTTP over
direct, is what the edge costs: JSON, HTTP, the event loop, a thread hop per engine call, the dispatcher.
The service's floor is measured in the same rounds: ``GET /_engine/health``, a request that does no work,
over the same connection, tells how much of a publish's time is HTTP itself.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx

from threading_engine import Engine
from threading_engine.hubspot import parse_create_account, parse_create_channel, parse_publish_message
from threading_engine.ids import HubSpotIds

from .backends import Stores
from .results import HttpRow
from .timing import LoopSettings, Round, SteppingClock, measure_together
from .workload import START, TEXT

HTTP_BACKENDS = ("memory", "sqlite-normal")
TOKEN = "benchmark-token"
PORTAL = "1"
CHANNELS = "/conversations/v3/custom-channels"
CHANNEL = {
    "name": "Benchmark SMS",
    "capabilities": {"deliveryIdentifierTypes": ["HS_PHONE_NUMBER"], "threadingModel": "DELIVERY_IDENTIFIER"},
}
ACCOUNT = {
    "name": "Benchmark desk",
    "inboxId": "100",
    "authorized": True,
    "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": "+15550100000"},
}
Json = dict[str, Any]


def publish_body(account_id: str, who: int, number: int) -> Json:
    """Counterpart ``who``'s ``number``-th message, as an integration posts it."""
    return {
        "channelAccountId": account_id,
        "messageDirection": "INCOMING",
        "senders": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": f"+44{who:010d}"}}],
        "text": TEXT,
        "integrationIdempotencyId": f"wamid.{number}",
    }


def run_http(stores: Stores, backends: Sequence[str], loop: LoopSettings, *, open_threads: int) -> list[HttpRow]:
    """One row per selected backend among :data:`HTTP_BACKENDS`."""
    rows = []
    for backend in (name for name in HTTP_BACKENDS if name in backends):
        with served(stores.url(backend), stores.workdir / f"serve-{backend}.log") as client:
            rows.append(_measure(backend, client, stores, loop, open_threads))
    return rows


def _measure(backend: str, client: httpx.Client, stores: Stores, loop: LoopSettings, open_threads: int) -> HttpRow:
    clock = SteppingClock(START)
    engine = Engine(stores.open(backend), clock=clock, ids=HubSpotIds())
    direct_account = _connect_directly(engine)
    channel = client.post(CHANNELS, json=CHANNEL).json()
    http_account = client.post(f"{CHANNELS}/{channel['id']}/channel-accounts", json=ACCOUNT).json()["id"]
    numbers = itertools.count(1)
    for who in range(open_threads):  # every counterpart's thread, open before the first round
        number = next(numbers)
        engine.execute(parse_publish_message(publish_body(direct_account, who, number)))
        client.post(f"{CHANNELS}/{channel['id']}/messages", json=publish_body(http_account, who, number))
    picker = random.Random(1)
    url = f"{CHANNELS}/{channel['id']}/messages"
    headers = {"Content-Type": "application/json"}

    def direct_round(size: int) -> Round:
        clock.next_round()
        commands = [
            parse_publish_message(publish_body(direct_account, picker.randrange(open_threads), next(numbers)))
            for _ in range(size)
        ]
        return Round(size, lambda: [engine.execute(command) for command in commands], ["APPENDED"] * size)

    def http_round(size: int) -> Round:
        client.post("/_engine/clock/advance", json={"seconds": 1})
        bodies = [
            json.dumps(publish_body(http_account, picker.randrange(open_threads), next(numbers))).encode()
            for _ in range(size)
        ]

        def run() -> list[tuple[str, str]]:
            answers = [client.post(url, content=body, headers=headers) for body in bodies]
            return [(str(answer.status_code), answer.text[:200]) for answer in answers]

        return Round(size, run, ["201"] * size)

    def empty_round(size: int) -> Round:
        def run() -> list[tuple[str, str]]:
            return [(str(client.get("/_engine/health").status_code), "") for _ in range(size)]

        return Round(size, run, ["200"] * size)

    direct, http, empty = measure_together([direct_round, http_round, empty_round], loop)
    engine.close()
    return HttpRow(backend=backend, http=http, direct=direct, empty=empty)


def _connect_directly(engine: Engine) -> str:
    channel = engine.execute(parse_create_channel(CHANNEL))
    assert channel.channel_id is not None
    command = attrs.evolve(parse_create_account(channel.channel_id, ACCOUNT), portal_id=PORTAL)
    account = engine.execute(command)
    assert account.channel_account_id is not None
    return account.channel_account_id


@contextlib.contextmanager
def served(store: str, log: Path) -> Iterator[httpx.Client]:
    """``threading-engine serve`` on ``store`` in its own process, its output in ``log``; an httpx client with
    the portal's token."""
    port = _free_port()
    command = [
        sys.executable, "-m", "threading_engine", "serve", "--store", store, "--port", str(port),
        "--clock", "manual", "--clock-start", START.isoformat(), "--token", f"{TOKEN}={PORTAL}",
        "--log-level", "warning",
    ]  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, process, log)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
            yield client
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + "/_engine/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    output = log.read_text(encoding="utf-8", errors="replace")
    raise RuntimeError(f"threading-engine serve did not start on {base}: {output[-2000:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
