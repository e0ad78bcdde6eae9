"""Count the round trips a PostgreSQL client makes: a TCP relay between the client and the server.

Point the client at ``127.0.0.1:relay.port`` instead of the server. Every time the server answers after the
client has sent something, the client was waiting for that answer: one round trip. This counts the exchanges
on the wire themselves, whatever the driver does inside, so pipelining is proved rather than assumed::

    relay = RoundTripRelay("127.0.0.1", 5432)
    repository = PostgresRepository(f"host=127.0.0.1 port={relay.port} user=app dbname=inbox")
    ...
    print(relay.round_trips)
    relay.close()

A subclass may change what is forwarded by overriding ``_link`` (the failover tests' relay withholds the
answer to a COMMIT that way). When the server cannot be reached, a new client connection is closed at once, as
the server's own port would refuse it, so a client with several hosts goes on to the next. Needs no
third-party package.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable

__all__ = ["RoundTripRelay"]


class RoundTripRelay:
    """A TCP relay to ``host:port`` that counts the server's answers: one per round trip the client waited for."""

    def __init__(self, host: str, port: int, *, forward_at_once: bool = False) -> None:
        """``forward_at_once`` turns Nagle's algorithm off on both legs: no small packet waits for an ACK, which
        keeps long runs fast, but a pipeline the client flushes in pieces may then reach the server while its
        first answers are already coming back, and count as more than one round trip. Leave it off to count."""
        self._upstream = (host, port)
        self._forward_at_once = forward_at_once
        self.round_trips = 0
        self._lock = threading.Lock()
        self._closing = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept, name="round-trip-relay", daemon=True)
        self._accepting.start()

    def reset(self) -> None:
        """Start counting again from zero."""
        with self._lock:
            self.round_trips = 0

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._upstream, timeout=10)
            except OSError:
                client.close()  # as the server itself would refuse: a client with several hosts tries the next
                continue
            server.settimeout(None)
            if self._forward_at_once:
                for end in (client, server):
                    end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _link(self) -> Callable[[bool, bytes], bytes]:
        """What one relayed connection does with each chunk: called with whether the client sent it (else the
        server) and the chunk, it returns the bytes to forward. Here: count the round trips, forward everything."""
        client_spoke = False

        def forward(from_client: bool, data: bytes) -> bytes:
            nonlocal client_spoke
            # The server speaking after the client did ends one round trip the client waited for.
            if from_client:
                client_spoke = True
            elif client_spoke:
                with self._lock:
                    self.round_trips += 1
                client_spoke = False
            return data

        return forward

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, server)
        selector.register(server, selectors.EVENT_READ, client)
        forward = self._link()
        with client, server, selector:
            while not self._closing:
                for key, _ in selector.select(timeout=0.2):
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    try:
                        data = source.recv(65536)
                        if not data:
                            return  # either side gone: the other is closed too
                        key.data.sendall(forward(source is client, data))
                    except OSError:  # either side reset
                        return

    def close(self) -> None:
        """Stop accepting; the connections relayed so far end within 0.2 s."""
        self._closing = True
        with contextlib.suppress(OSError):
            self._listener.close()
