"""A TCP relay to a PostgreSQL server that can withhold the answer to a COMMIT: the failover tests' scalpel.

Clients connect to ``127.0.0.1:relay.port`` and the relay forwards both ways to the server. After
:meth:`HoldingRelay.hold_next_commit_answer`, the next connection whose client sends a pipeline ending in
``COMMIT`` has every later byte from the server kept back: the server commits, and the client waits for an
answer that never comes. :attr:`HoldingRelay.held` is set once the server's ``CommandComplete`` for that COMMIT
has reached the relay, that is once the commit has taken effect (and, under synchronous replication, reached
the standby, since the server answers only then). When the server dies, the relay closes the client's side
without forwarding what it held: the client sees its connection lost between COMMIT and its answer. Should the
pipeline fail before committing (a lost race), the relay forwards the answer and holds the next one instead.
"""

from __future__ import annotations

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
        self._armed = False
        self.held = threading.Event()
        super().__init__(host, port, forward_at_once=True)

    def hold_next_commit_answer(self) -> None:
        """Withhold the server's answers on the next connection that sends a COMMIT pipeline."""
        with self._lock:
            self._armed = True
            self.held.clear()

    def _arm(self, armed: bool) -> bool:
        """Set whether the next COMMIT is to be held; whether it was (so one connection claims each arming)."""
        with self._lock:
            was, self._armed = self._armed, armed
            return was

    def _link(self) -> Callable[[bool, bytes], bytes]:
        answer: ServerMessages | None = None  # the answer being held, if any
        tail = b""  # the end of the last client chunk, should the COMMIT straddle two chunks

        def forward(from_client: bool, data: bytes) -> bytes:
            nonlocal answer, tail
            if from_client:
                if answer is None and PIPELINED_COMMIT in tail + data and self._arm(False):
                    answer = ServerMessages()
                tail = data[-len(PIPELINED_COMMIT) :]
                return data
            if answer is None:
                return data
            if self.held.is_set():
                return b""  # held for good: the client never hears how its commit went
            answer.feed(data)
            if answer.committed:
                self.held.set()
            elif answer.ended:  # the pipeline failed before COMMIT: let it through, hold the next one
                held, answer = answer.received, None
                self._arm(True)
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
