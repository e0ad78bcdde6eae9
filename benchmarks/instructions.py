"""Instructions per append on the memory store, for callgrind: the figure to compare between two versions.

Run it twice under callgrind, once doing the appends and once doing only the setup, and divide the difference
by the number of appends::

    valgrind --tool=callgrind --callgrind-out-file=all.out python -m benchmarks.instructions
    valgrind --tool=callgrind --callgrind-out-file=setup.out python -m benchmarks.instructions --setup-only

Unlike times, instruction counts do not depend on what else the machine is doing. The setup opens ``--threads``
threads on one account and builds every command's arguments; the measured part appends ``--appends``
INCOMING messages to them in turn through :meth:`Engine.publish_message`. ``--no-fast-paths`` builds the engine
with ``fast_paths=False``: every cache and fast path off.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from threading_engine import (
    Capabilities,
    DeliveryIdentifier,
    Direction,
    Engine,
    IdentifierType,
    Participant,
    SequentialIds,
    ThreadingModel,
)
from threading_engine.backends.memory import MemoryRepository


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--appends", type=int, default=10_000)
    parser.add_argument("--setup-only", action="store_true", help="open the threads, append nothing")
    parser.add_argument("--no-fast-paths", action="store_true", help="Engine(fast_paths=False)")
    arguments = parser.parse_args(argv)
    moments = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=n) for n in itertools.count())
    # Passed only when asked for, so that the same script also measures a version without the switch.
    options: dict[str, Any] = {"fast_paths": False} if arguments.no_fast_paths else {}
    engine = Engine(MemoryRepository(), clock=lambda: next(moments), ids=SequentialIds(), **options)
    channel = engine.create_channel(
        "bench",
        Capabilities(
            delivery_identifier_types=(IdentifierType.HS_PHONE_NUMBER,),
            threading_model=ThreadingModel.DELIVERY_IDENTIFIER,
        ),
    )
    assert channel.channel_id is not None
    account = engine.create_channel_account(
        channel.channel_id,
        name="inbox",
        inbox_id="inbox-1",
        delivery_identifier=DeliveryIdentifier.of("HS_PHONE_NUMBER", "+15550000000"),
    ).channel_account_id
    assert account is not None
    senders = [
        (Participant(DeliveryIdentifier.of("HS_PHONE_NUMBER", f"+1555{n:07d}")),)
        for n in range(1, arguments.threads + 1)
    ]
    for sender in senders:
        engine.publish_message(account, direction=Direction.INCOMING, senders=sender, text="hello")
    texts = [f"message {n}" for n in range(arguments.appends)]
    if arguments.setup_only:
        return 0
    for n, text in enumerate(texts):
        engine.publish_message(account, direction=Direction.INCOMING, senders=senders[n % len(senders)], text=text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
