"""A TCP relay to a PostgreSQL server that can withhold the answer to a commit: the failover tests' scalpel.

Clients connect to ``127.0.0.1:relay.port`` and the relay forwards both ways to the server. After
:meth:`HoldingRelay.hold_next_commit_answer`, the next connection whose client sends a committing pipeline that
writes what the caller names has every later byte from the server kept back: the server commits, and the client
waits for an answer that never comes. A committing pipeline is one that ends in ``COMMIT`` or, with
``implicit``, one sent outside any transaction with no ``BEGIN`` (the one-round-trip pipeline of a remembered
view, which its Sync commits). :attr:`HoldingRelay.held` is set once the server has answered that the commit
took effect (the ``CommandComplete`` of ``COMMIT``, or the ``ReadyForQuery`` that ends an implicit
transaction's pipeline with no error); under synchronous replication the commit has then reached the standby
too, since the server answers only then. When the server dies, the relay closes the client's side without
forwarding what it held: the client sees its connection lost between its commit and the answer. Should the
pipeline fail before committing (a lost race, a stale view's guard), the relay forwards the answer and holds
the next one instead.
"""

from __future__ import annotations

import re
import struct
import threading
from collections.abc import Callable

from threading_engine.testing.roundtrips import RoundTripRelay

COMMIT = b"COMMIT\x00"  # the tag of the CommandComplete that answers a COMMIT
# A pipeline's COMMIT as the client sends it: Parse of the unnamed statement "COMMIT", with no parameter types.
# A transaction that wrote nothing ends with a simple query instead, whose answer is not worth holding.
PIPELINED_COMMIT = b"P" + struct.pack("!i", 4 + 1 + len(COMMIT) + 2) + b"\x00" + COMMIT + b"\x00\x00"
BEGIN = b"BEGIN"  # the start of an explicit transaction (``BEGIN ISOLATION LEVEL READ COMMITTED``)
# The ReadyForQuery that ends the server's answer to a Sync outside any transaction (status "I", idle).
READY_IDLE = b"Z" + struct.pack("!i", 5) + b"I"
READY = READY_IDLE[:-1]


class HoldingRelay(RoundTripRelay):
    """A relay from a loopback port to ``host:port`` that can withhold the answer to one commit."""

    def __init__(self, host: str, port: int) -> None:
        self._naming: re.Pattern[bytes] | None = None
        self._implicit = False
        self.held = threading.Event()
        self.withheld: bytes | None = None  # what ``naming`` found in the commit whose answer is withheld
        super().__init__(host, port, forward_at_once=True)

    def hold_next_commit_answer(self, naming: re.Pattern[bytes], *, implicit: bool = False) -> None:
        """Withhold the server's answers on the next connection that sends a committing pipeline in which
        ``naming`` is found (for instance the idempotency id of a message it stores): one that ends in ``COMMIT``
        or, with ``implicit``, one with no ``BEGIN`` sent outside any transaction. :attr:`withheld` is then the
        match."""
        with self._lock:
            self._naming, self._implicit, self.withheld = naming, implicit, None
            self.held.clear()

    def _claim(self, request: bytes, implicit: bool) -> bool:
        """Whether this connection, which sent ``request`` (``implicit``: outside any transaction, with no
        ``BEGIN``; else a pipeline ending in ``COMMIT``), is the one to hold (one per arming)."""
        with self._lock:
            found = None if self._naming is None or implicit != self._implicit else self._naming.search(request)
            if found is None:
                return False
            self._naming, self.withheld = None, found.group(0)
            return True

    def _link(self) -> Callable[[bool, bytes], bytes]:
        answer: ServerMessages | None = None  # the answer being held, if any
        request = b""  # what the client sent since the server last answered
        naming, implicit = None, False  # what this connection claimed the arming with
        idle = False  # the server's last answer ended outside any transaction, and no BEGIN was sent since

        def forward(from_client: bool, data: bytes) -> bytes:
            nonlocal answer, request, naming, implicit, idle
            if from_client:
                request += data
                idle = idle and BEGIN not in request
                if answer is None and (idle or PIPELINED_COMMIT in request):
                    naming, implicit = self._naming, self._implicit
                    if self._claim(request, implicit=idle):
                        answer = ServerMessages(implicit=idle)
                return data
            request = b""
            if data[-6:-1] == READY:  # an answer to a Sync ends here: is a transaction open?
                idle = data[-6:] == READY_IDLE
            if answer is None:
                return data
            if self.held.is_set():
                return b""  # held for good: the client never hears how its commit went
            answer.feed(data)
            if answer.committed:
                self.held.set()
            elif answer.ended:  # the pipeline failed before COMMIT: let it through, hold the next one
                held, answer = answer.received, None
                if naming is not None:
                    self.hold_next_commit_answer(naming, implicit=implicit)
                return held
            return b""

        return forward


class ServerMessages:
    """The server's side of the protocol (a type byte, then a length that counts itself), read as it arrives.

    ``implicit``: the answer to a pipeline that runs as an implicit transaction, committed by its Sync."""

    def __init__(self, *, implicit: bool = False) -> None:
        self.received = b""
        self._unread = b""
        self._implicit = implicit
        self._failed = False  # an ErrorResponse arrived: an implicit transaction rolls back at the Sync
        self.committed = False  # a CommandComplete tagged COMMIT arrived, or the Sync committed
        self.ended = False  # a ReadyForQuery arrived: the server has answered the whole pipeline

    def feed(self, data: bytes) -> None:
        self.received += data
        self._unread += data
        while len(self._unread) >= 5:
            kind = self._unread[:1]
            (length,) = struct.unpack("!i", self._unread[1:5])
            if len(self._unread) < 1 + length:
                return
            body, self._unread = self._unread[5 : 1 + length], self._unread[1 + length :]
            self._failed = self._failed or kind == b"E"
            self.committed = self.committed or (kind == b"C" and body == COMMIT)
            if kind == b"Z":
                self.ended = True
                self.committed = self.committed or (self._implicit and not self._failed and body == b"I")
