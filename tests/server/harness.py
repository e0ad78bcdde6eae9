"""The service as a real process on a loopback port, and a real webhook receiver that checks signatures.

Nothing here stands in for a part of the project: the service is ``python -m threading_engine serve`` under
uvicorn, driven over HTTP with httpx; the receiver is an ``http.server`` on another loopback port that verifies
every request with the integrators' helper, ``threading_engine.server.verify_signature``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from threading_engine.hubspot import schemas
from threading_engine.server import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

TOKEN, PORTAL = "token-of-portal-1", "1"
OTHER_TOKEN, OTHER_PORTAL = "token-of-portal-2", "2"
SECRET = "the-app-client-secret"
CLOCK_START = "2026-01-05T09:00:00Z"
Json = dict[str, Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def conforms(name: str, document: object) -> None:
    """``document`` validates against HubSpot's schema ``name`` as the engine ships it."""
    Draft202012Validator(schemas.bundled(name)).validate(document)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Server:
    """``threading-engine serve`` in a subprocess, on a manual clock, with two portals' tokens."""

    def __init__(self, directory: Path, *options: str, store: str | None = None) -> None:
        self.directory = directory
        self.store = store or f"sqlite:///{directory / 'engine.db'}"
        self.options = options
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "serve.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        for _ in range(3):  # a port found free may be taken before the service binds it: try another
            self.port = free_port()
            command = [
                sys.executable, "-m", "threading_engine", "serve", "--store", self.store, "--port", str(self.port),
                "--clock", "manual", "--clock-start", CLOCK_START, "--client-secret", SECRET,
                "--token", f"{TOKEN}={PORTAL}", "--token", f"{OTHER_TOKEN}={OTHER_PORTAL}",
                "--webhook-backoff", "0.05", "--webhook-backoff-max", "0.2", "--webhook-timeout", "2",
                "--log-level", "warning", *self.options,
            ]  # fmt: skip
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=log)
            if self._ready():
                return self
            self.stop()
        raise AssertionError(f"the service did not start: {self.log.read_text()[-2000:]}")

    def _ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.base + "/_engine/health", timeout=1).status_code == 200:
                    return True
            except httpx.TransportError:
                time.sleep(0.05)
        return False

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=10)


class Receiver:
    """A webhook endpoint on a loopback port: records the bodies of well-signed requests, refuses others.

    ``failures`` requests from now on get a 503 (the service must retry them); ``slow`` requests from now on
    are recorded but answered only after ``slow_seconds`` (past the service's timeout, it must retry them)."""

    def __init__(self, port: int | None = None, secret: str = SECRET) -> None:
        self.port = port or free_port()
        self.secret = secret
        self.events: list[Json] = []
        self.bad_signatures = 0
        self.failures = 0
        self.slow = 0
        self.slow_seconds = 1.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hubspot/webhook?source=test"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                signed = verify_signature(
                    receiver.secret,
                    method="POST",
                    uri=f"http://127.0.0.1:{receiver.port}{self.path}",
                    body=body,
                    signature=self.headers.get(SIGNATURE_HEADER),
                    timestamp=self.headers.get(TIMESTAMP_HEADER),
                )
                with receiver._lock:
                    if not signed:
                        receiver.bad_signatures += 1
                        status = 401
                    elif receiver.failures > 0:
                        receiver.failures -= 1
                        status = 503
                    else:
                        receiver.events.append(json.loads(body))
                        status = 204
                    slow, receiver.slow = receiver.slow > 0, max(0, receiver.slow - 1)
                if slow:
                    time.sleep(receiver.slow_seconds)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of_type(self, kind: str) -> list[Json]:
        with self._lock:
            return [event for event in self.events if event["type"] == kind]

    def wait_for(self, count: int, kind: str | None = None, timeout: float = 10.0) -> list[Json]:
        def arrived() -> list[Json]:
            with self._lock:
                return [e for e in self.events if kind is None or e["type"] == kind]

        wait_until(lambda: len(arrived()) >= count, timeout, f"{count} webhook events of type {kind}")
        return arrived()


@contextmanager
def running(directory: Path, *options: str, store: str | None = None) -> Iterator[Server]:
    server = Server(directory, *options, store=store).start()
    try:
        yield server
    finally:
        server.stop()


# -- HubSpot's request bodies -------------------------------------------------------------------------------


def channel_body(webhook_url: str | None, *, threading_model: str = "DELIVERY_IDENTIFIER") -> Json:
    body: Json = {
        "name": "SMS line",
        "capabilities": {
            "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"],
            "threadingModel": threading_model,
            "allowOutgoingMessages": True,
        },
    }
    if webhook_url is not None:
        body["webhookUrl"] = webhook_url
    return body


def account_body(phone: str = "+15550100100") -> Json:
    return {
        "name": "Support desk",
        "inboxId": "100",
        "authorized": True,
        "deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": phone},
    }


def incoming_body(account_id: str, text: str, sender: str = "+442079460001") -> Json:
    return {
        "channelAccountId": account_id,
        "messageDirection": "INCOMING",
        "senders": [{"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": sender}, "name": "Ana"}],
        "recipients": [],
        "attachments": [],
        "text": text,
        "timestamp": CLOCK_START,
    }


def reply_body(channel_id: str, account_id: str, text: str) -> Json:
    return {
        "type": "MESSAGE",
        "text": text,
        "senderActorId": "A-1",
        "channelId": channel_id,
        "channelAccountId": account_id,
        "recipients": [],
        "attachments": [],
    }


CHANNELS = "/conversations/v3/custom-channels"
THREADS = "/conversations/v3/conversations/threads"


def connect(client: httpx.Client, webhook_url: str | None, phone: str = "+15550100100") -> tuple[str, str]:
    """A new channel and one account on it: their ids."""
    channel = client.post(CHANNELS, json=channel_body(webhook_url))
    assert channel.status_code == 201, channel.text
    account = client.post(f"{CHANNELS}/{channel.json()['id']}/channel-accounts", json=account_body(phone))
    assert account.status_code == 201, account.text
    return channel.json()["id"], account.json()["id"]


def publish(client: httpx.Client, channel_id: str, account_id: str, text: str, sender: str = "+442079460001") -> Json:
    response = client.post(f"{CHANNELS}/{channel_id}/messages", json=incoming_body(account_id, text, sender))
    assert response.status_code == 201, response.text
    message: Json = response.json()
    return message
