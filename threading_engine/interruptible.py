"""Lines from a pipe or a terminal that a Ctrl-C always interrupts.

Python acts on a signal between two steps of its own code. A SIGINT that arrives just before a blocking read
of a pipe begins is noted, but the read then waits for input that may never come: ``threading-engine replay -``
fed by a writer that has gone quiet would sit there with the user's Ctrl-C lost (and a writer that closes the
pipe at that moment would see the replay finish as if nothing had been pressed). Waiting with ``select`` for at
most :data:`WAIT_SECONDS` at a time bounds that: a signal noted before a wait is acted on when the wait ends.
"""

from __future__ import annotations

import io
import os
import select
import stat
from collections.abc import Iterable, Iterator
from typing import BinaryIO

WAIT_SECONDS = 0.2
_CHUNK = 1 << 16


def lines(stream: BinaryIO) -> Iterable[bytes]:
    """``stream``'s lines, each with its newline (the last one may lack it), as iterating ``stream`` gives them.

    A regular file is iterated as it is (reading it never waits). Anything else on a POSIX system (a pipe, a
    terminal) is read from its file descriptor between waits of at most :data:`WAIT_SECONDS`; ``stream`` must
    then not have been read from before, since what it buffered would be skipped.
    """
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):
        return stream
    if os.name != "posix" or stat.S_ISREG(mode):
        return stream
    return _waited_lines(stream.fileno())


def _waited_lines(descriptor: int) -> Iterator[bytes]:
    parts: list[bytes] = []  # the line being read, in chunks: a long line is copied once, not once per chunk
    while True:
        if not select.select([descriptor], [], [], WAIT_SECONDS)[0]:
            continue
        chunk = os.read(descriptor, _CHUNK)
        if not chunk:
            break
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            parts.append(chunk[start : end + 1])
            yield b"".join(parts)
            parts = []
            start = end + 1
        if start < len(chunk):
            parts.append(chunk[start:])
    if parts:
        yield b"".join(parts)
