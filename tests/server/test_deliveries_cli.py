"""``threading-engine deliveries`` run as a real process on the store a real ``serve`` process runs on.

The service delivers to a real receiver that answers 503 for as long as the test says; the command reads the
same outbox and state file, while the service runs and after it stopped, lists what failed and what is
pending, and retries failed events to the receiver, which checks every signature.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from threading_engine.cli import main

from .harness import SECRET, Receiver, connect, running, wait_until

FAILED = "/_engine/webhooks/failed"


Run = Callable[..., subprocess.CompletedProcess[str]]


def as_process(store: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "threading_engine", "deliveries", "--store", store, *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def in_this_process(store: str, *options: str) -> subprocess.CompletedProcess[str]:
    """The same command through ``cli.main``, so that coverage sees it (a child interpreter is not measured)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["deliveries", "--store", store, *options])
    return subprocess.CompletedProcess(["deliveries"], status, out.getvalue(), err.getvalue())


@pytest.fixture(params=[as_process, in_this_process], ids=["process", "in-process"])
def deliveries(request: pytest.FixtureRequest) -> Run:
    run: Run = request.param
    return run


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    started.failures = 1_000  # every request gets a 503 until a test says otherwise
    yield started
    started.stop()


def test_failed_deliveries_are_listed_and_retried_by_the_command(
    tmp_path: Path, receiver: Receiver, deliveries: Run
) -> None:
    # One attempt: the account's CHANNEL_ACCOUNT_CREATED fails at once and is kept as failed.
    with running(tmp_path, "--webhook-max-attempts", "1") as server:
        client = server.client()
        connect(client, receiver.url)
        wait_until(lambda: len(client.get(FAILED).json()["results"]) == 1, what="the failed delivery")
        event_id = client.get(FAILED).json()["results"][0]["eventId"]
        store = server.store

    listed = deliveries(store, "--failed")
    assert listed.returncode == 1, listed.stderr
    assert event_id in listed.stdout and "CHANNEL_ACCOUNT_CREATED" in listed.stdout and "HTTP 503" in listed.stdout
    assert listed.stdout.splitlines()[-1] == "1 failed; retry with --retry EVENT_ID or --retry-all"

    as_json = json.loads(deliveries(store, "--json").stdout)
    assert [failed["eventId"] for failed in as_json["failed"]] == [event_id]
    assert as_json["failed"][0]["event"]["type"] == "CHANNEL_ACCOUNT_CREATED"
    assert as_json["pending"] == []  # the failed event left the outbox: nothing else waits

    still_failing = deliveries(store, "--retry", event_id, "--client-secret", SECRET)
    assert still_failing.returncode == 1
    assert "not delivered: HTTP 503" in still_failing.stdout
    assert still_failing.stdout.splitlines()[-1] == "retried 1: 0 delivered, 1 not; 1 failed left"

    receiver.failures = 0
    retried = deliveries(store, "--retry", event_id, "--client-secret", SECRET)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert retried.stdout.splitlines()[-1] == "retried 1: 1 delivered, 0 not; 0 failed left"
    assert [event["eventId"] for event in receiver.events] == [event_id]  # signed as the service signs
    assert receiver.bad_signatures == 0

    clear = deliveries(store, "--failed")
    assert clear.returncode == 0
    assert clear.stdout.splitlines() == ["failed deliveries: 0", "0 failed"]


def test_pending_events_are_listed_while_the_service_runs(tmp_path: Path, receiver: Receiver, deliveries: Run) -> None:
    # A long backoff: after its first 503 the event waits in the outbox, pending, for the whole test.
    with running(tmp_path, "--webhook-backoff", "60", "--webhook-backoff-max", "60") as server:
        client = server.client()
        connect(client, receiver.url)
        wait_until(lambda: receiver.failures < 1_000, what="the first attempt")
        listed = deliveries(server.store)
        document = json.loads(deliveries(server.store, "--json").stdout)

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "failed deliveries: 0"
    assert lines[1] == "pending webhook events in the outbox: 1"
    assert "CHANNEL_ACCOUNT_CREATED" in lines[2]
    assert lines[-1] == "0 failed, 1 pending"
    assert [pending["type"] for pending in document["pending"]] == ["CHANNEL_ACCOUNT_CREATED"]


def test_retry_all_goes_oldest_first_and_an_unknown_event_is_refused(
    tmp_path: Path, receiver: Receiver, deliveries: Run
) -> None:
    with running(tmp_path, "--webhook-max-attempts", "1") as server:
        client = server.client()
        connect(client, receiver.url, phone="+15550100101")
        connect(client, receiver.url, phone="+15550100102")
        wait_until(lambda: len(client.get(FAILED).json()["results"]) == 2, what="two failed deliveries")
        failed = [f["eventId"] for f in client.get(FAILED).json()["results"]]
        store = server.store

    unknown = deliveries(store, "--retry", "no-such-event")
    assert unknown.returncode == 4
    assert "names no failed delivery" in unknown.stderr

    receiver.failures = 0
    retried = deliveries(store, "--retry-all", "--client-secret", SECRET, "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {
        "retried": [{"eventId": event_id, "delivered": True, "error": None} for event_id in failed],
        "failedLeft": 0,
    }
    assert [event["eventId"] for event in receiver.events] == failed


@pytest.mark.parametrize(
    ("store", "state", "message"),
    [
        ("memory", None, "lives inside its serving process"),
        ("sqlite:///{dir}/absent.db", None, "no service state at"),
        ("sqlite:///{dir}/absent.db", "{dir}/state.serve", "no store at"),
        ("postgresql://127.0.0.1/test", None, "needs --state PATH"),
    ],
)
def test_a_store_or_state_that_is_not_there_is_exit_3(
    tmp_path: Path, store: str, state: str | None, message: str, deliveries: Run
) -> None:
    options = []
    if state is not None:
        state_path = Path(state.format(dir=tmp_path))
        state_path.write_bytes(b"")
        options = ["--state", str(state_path)]
    refused = deliveries(store.format(dir=tmp_path), *options)
    assert refused.returncode == 3
    assert message in refused.stderr
    assert not (tmp_path / "absent.db").exists()  # a listing creates no store
