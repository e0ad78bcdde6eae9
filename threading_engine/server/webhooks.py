"""The webhook dispatcher: delivers the outbox's webhook events (E1) to each channel's ``webhookUrl``.

Theory of operation. The engine writes every event into its outbox in the same transaction as the change it
describes; the outbox keeps an event pending until it is acknowledged. The dispatcher, one thread, reads the
pending events in sequence order and acknowledges each one only after its channel's ``webhookUrl`` answered
2xx, so an event survives a failed request, a restart and a SIGKILL of the service: delivery resumes from the
outbox (at least once; a kill between the receiver's 2xx and the acknowledgement repeats that one event).
Domain events (E2) are the engine's own and are acknowledged without delivery.

Each request carries HubSpot's v3 signature (``signatures``). A failed request (a status other than 2xx, a
refused connection, a timeout) is retried after an exponential backoff with jitter; while an event of an
account waits, later events of that account wait too, so each account's events arrive in order. Events of
other accounts go on. After ``max_attempts`` the event is kept as a failed delivery in the service's state
(listed by ``GET /_engine/webhooks/failed``, retried by hand with ``POST .../{eventId}/retry``) and
acknowledged, and the account's later events go on.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import attrs
import httpx

from ..engine import Engine
from ..errors import ThreadingError
from ..events import ChannelAccountCreated, ChannelAccountUpdated, EventRecord, OutgoingMessageCreated
from ..hubspot import DEFAULT_PORTAL_ID, event_to_json
from .logs import log
from .signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from .state import FailedDelivery, ServiceState


@attrs.frozen
class DeliveryPolicy:
    """How the dispatcher retries: ``timeout`` bounds each request (seconds), ``max_attempts`` bounds the
    requests per event, and the n-th retry waits ``backoff_base * 2**(n-1)`` seconds (at most
    ``backoff_max``), times a random factor from 0.5 to 1 (jitter)."""

    timeout: float = 5.0
    max_attempts: int = 10
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    poll_interval: float = 1.0

    def backoff(self, attempts: int) -> float:
        delay: float = min(self.backoff_max, self.backoff_base * 2.0 ** (attempts - 1))
        return delay * random.uniform(0.5, 1.0)


def account_of(record: EventRecord) -> tuple[str | None, str | None]:
    """The channel account and channel a webhook event concerns (``None``, ``None`` for a domain event)."""
    event = record.event
    if isinstance(event, ChannelAccountCreated | ChannelAccountUpdated):
        return event.account.id, event.account.channel_id
    if isinstance(event, OutgoingMessageCreated):
        return event.message.channel_account_id, event.channel_id
    return None, None


class Dispatcher:
    """Delivers webhook events from ``engine``'s outbox, signed with ``client_secret``, in its own thread.

    ``portal_lock`` is held by whoever creates an account and records its portal, so that the dispatcher never
    reads an account's first event before its portal is known."""

    def __init__(
        self,
        engine: Engine,
        state: ServiceState,
        client_secret: str,
        policy: DeliveryPolicy,
        portal_lock: threading.Lock,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.state = state
        self.client_secret = client_secret
        self.policy = policy
        self.portal_lock = portal_lock
        self._now = now
        self._attempts: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(policy.timeout), follow_redirects=False)
        self.delivered = 0

    # -- running -------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (a command just committed events)."""
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the delivery in flight, then stop; pending events stay in the outbox for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                wait = self.step()
            except ThreadingError as error:  # the store failed: try again later, nothing is lost
                log("webhook.outbox_unreadable", logging.ERROR, error=error.message, code=error.code)
                wait = self.policy.poll_interval
            self._wake.wait(wait)
            self._wake.clear()

    def step(self) -> float:
        """Deliver what is due; returns how long to wait before the next step (seconds)."""
        with self.portal_lock:
            # All of them: a batch could be filled by the events of accounts that wait, and starve the others.
            records = self.engine.pending_events()
            portals = {}
            for record in records:
                account_id, _ = account_of(record)
                if account_id is not None and account_id not in portals:
                    portals[account_id] = self.state.portal_of(account_id) or DEFAULT_PORTAL_ID
        domain = [record.event_id for record in records if not record.event.webhook]
        if domain:
            self.engine.acknowledge(domain)
        waiting: set[str] = set()
        wait = self.policy.poll_interval
        for record in records:
            if self._stopping.is_set():
                break
            account_id, channel_id = account_of(record)
            if account_id is None or channel_id is None or account_id in waiting:
                continue
            due = self._retry_at.get(record.event_id, 0.0) - self._now()
            if due > 0:
                waiting.add(account_id)
                wait = min(wait, due)
                continue
            if not self._deliver(record, account_id, channel_id, portals[account_id]):
                waiting.add(account_id)
                wait = min(wait, max(0.0, self._retry_at.get(record.event_id, 0.0) - self._now()))
        return wait

    # -- one event -----------------------------------------------------------------------------------------

    def _deliver(self, record: EventRecord, account_id: str, channel_id: str, portal_id: str) -> bool:
        """One attempt; True when the event is settled (delivered, given up on, or nowhere to go)."""
        body = json.dumps(event_to_json(record, portal_id=portal_id), separators=(",", ":"), ensure_ascii=False)
        url = self.engine.channel(channel_id).webhook_url
        if url is None:
            log("webhook.no_url", event_id=record.event_id, channel_id=channel_id, type=record.event.type)
            self.engine.acknowledge([record.event_id])
            return True
        error = self.post(url, body.encode())
        if error is None:
            self.engine.acknowledge([record.event_id])
            self._attempts.pop(record.event_id, None)
            self._retry_at.pop(record.event_id, None)
            self.delivered += 1
            log("webhook.delivered", event_id=record.event_id, type=record.event.type, url=url)
            return True
        attempts = self._attempts.get(record.event_id, 0) + 1
        self._attempts[record.event_id] = attempts
        if attempts >= self.policy.max_attempts:
            failed_at = datetime.now(UTC).isoformat()
            failed = FailedDelivery(
                event_id=record.event_id,
                sequence=record.sequence,
                channel_account_id=account_id,
                url=url,
                body=body,
                attempts=attempts,
                last_error=error,
                failed_at=failed_at,
            )
            self.state.add_failed(failed)
            self.engine.acknowledge([record.event_id])
            self._attempts.pop(record.event_id, None)
            self._retry_at.pop(record.event_id, None)
            log("webhook.failed", logging.ERROR, event_id=record.event_id, attempts=attempts, error=error, url=url)
            return True
        delay = self.policy.backoff(attempts)
        self._retry_at[record.event_id] = self._now() + delay
        log("webhook.retry", logging.WARNING, event_id=record.event_id, attempts=attempts, error=error, delay=delay)
        return False

    def post(self, url: str, body: bytes) -> str | None:
        """POST one signed request; ``None`` on a 2xx answer, else what went wrong."""
        timestamp = str(time.time_ns() // 1_000_000)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "threading-engine-serve",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.client_secret, "POST", url, body, timestamp),
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def retry_failed(self, event_id: str) -> tuple[bool, str | None]:
        """Deliver a failed event once more, by hand: ``(found, error)``; delivered ones leave the failed list."""
        for failed in self.state.failed():
            if failed.event_id == event_id:
                if failed.url is None:
                    return True, "no webhookUrl"
                error = self.post(failed.url, failed.body.encode())
                if error is None:
                    self.state.remove_failed(event_id)
                    self.delivered += 1
                    log("webhook.delivered", event_id=event_id, url=failed.url, by_hand=True)
                return True, error
        return False, None
