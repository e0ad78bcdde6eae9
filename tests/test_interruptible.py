"""``interruptible.lines``: a pipe read between bounded waits gives the lines iterating it would give, and a
Ctrl-C noted just before a wait is acted on when the wait ends (``test_replay_resume.py`` sends a real one)."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threading_engine import interruptible


@given(data=st.binary(max_size=3_000), cuts=st.lists(st.integers(0, 3_000)))
def test_a_pipe_gives_the_lines_iterating_it_would_whatever_its_writes(data: bytes, cuts: list[int]) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader:

        def write() -> None:
            with os.fdopen(write_end, "wb", buffering=0) as writer:
                start = 0
                for cut in sorted({min(c, len(data)) for c in cuts}):
                    writer.write(data[start:cut])
                    start = cut
                writer.write(data[start:])

        writing = threading.Thread(target=write)
        writing.start()
        got = list(interruptible.lines(reader))
        writing.join()
    assert got == list(io.BytesIO(data))


def test_a_regular_file_is_iterated_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_bytes(b"one\ntwo")
    with path.open("rb") as source:
        assert interruptible.lines(source) is source


def test_a_signal_that_arrives_while_no_input_comes_is_acted_on_within_a_wait() -> None:
    """The interrupt raised from the handler reaches the reader within WAIT_SECONDS, though nothing is written."""
    read_end, write_end = os.pipe()

    def interrupt(number: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with os.fdopen(read_end, "rb") as reader:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            started = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                list(interruptible.lines(reader))
            assert time.monotonic() - started < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.close(write_end)
