"""A TCP relay to a PostgreSQL server that can withhold the answer to a COMMIT: the failover tests' scalpel.

Clients connect to ``127.0.0.1:relay.port`` and the relay forwards both ways to the server. After
:meth:`HoldingRelay.hold_next_commit_answer`, the next connection whose client sends a pipeline that ends in
``COMMIT`` and writes what the caller names has every later byte from the server kept back: the server
commits, and the client waits for an answer that never comes. :attr:`HoldingRelay.held` is set once the
server's ``CommandComplete`` for that COMMIT has reached the relay, that is once the commit has taken effect
(and, under synchronous replication, reached the standby, since the server answers only then). When the server
dies, the relay closes the client's side without forwarding what it held: the client sees its connection lost
between COMMIT and its answer. Should the pipeline fail before committing (a lost race), the relay forwards the
answer and holds the next one instead.
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


class HoldingRelay(RoundTripRelay):
    """A relay from a loopback port to ``host:port`` that can withhold the answer to one COMMIT."""

    def __init__(self, host: str, port: int) -> None:
        self._naming: re.Pattern[bytes] | None = None
        self.held = threading.Event()
        self.withheld: bytes | None = None  # what ``naming`` found in the commit whose answer is withheld
        super().__init__(host, port, forward_at_once=True)

    def hold_next_commit_answer(self, naming: re.Pattern[bytes]) -> None:
        """Withhold the server's answers on the next connection that sends a COMMIT pipeline in which ``naming``
        is found (for instance the idempotency id of a message it stores); :attr:`withheld` is then the match."""
        with self._lock:
            self._naming, self.withheld = naming, None
            self.held.clear()

    def _claim(self, request: bytes) -> bool:
        """Whether this connection, which sent ``request``, is the one to hold (one per arming)."""
        with self._lock:
            found = None if self._naming is None else self._naming.search(request)
            if found is None:
                return False
            self._naming, self.withheld = None, found.group(0)
            return True

    def _link(self) -> Callable[[bool, bytes], bytes]:
        answer: ServerMessages | None = None  # the answer being held, if any
        request = b""  # what the client sent since the server last answered
        naming = None  # what this connection claimed the arming with

        def forward(from_client: bool, data: bytes) -> bytes:
            nonlocal answer, request, naming
            if from_client:
                request += data
                if answer is None and PIPELINED_COMMIT in request:
                    naming = self._naming
                    if self._claim(request):
                        answer = ServerMessages()
                return data
            request = b""
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
                    self.hold_next_commit_answer(naming)
                return held
            return b""

        return forward


class ServerMessages:
    """The server's side of the protocol (a type byte, then a length that counts itself), read as it arrives."""

    def __init__(self) -> None:
        self.received = b""
        self._unread = b""
        self.committed = False  # a CommandComplete tagged COMMIT arrived
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
            self.committed = self.committed or (kind == b"C" and body == COMMIT)
            self.ended = self.ended or kind == b"Z"
