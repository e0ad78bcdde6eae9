"""A long, varied, reproducible trace for the replay tests that interrupt and resume replays (SPEC section 8).

The example's two channels (DELIVERY_IDENTIFIER with tickets, INTEGRATION_THREAD_ID), a few customers, and
every op: new threads, appends, replies, reopenings inside and outside R4's window, archives and restores,
duplicates (D1), and rejected lines of every kind (bad JSON, unknown ops, closed threads), so that a resumed
replay must re-derive changes, no-ops and rejections alike.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

Line = dict[str, Any]

_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
_STEPS = (timedelta(seconds=1), timedelta(minutes=7), timedelta(hours=3), timedelta(hours=23, minutes=59))


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support-line.jsonl"


def _participant(number: int) -> Line:
    return {"deliveryIdentifier": {"type": "HS_PHONE_NUMBER", "value": f"+1206555{number:04d}"}}


def _visitor(number: int) -> Line:
    return {"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": f"visitor-{number}"}}


def _setup() -> list[Line]:
    """The example's two channels and their accounts: ``sms`` and ``helpdesk``, ``chat`` and ``widget``."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith('{"op": "createChannel')]


def support_traffic(seed: int, size: int) -> list[str]:
    """``size`` lines of traffic after the four setup lines, the same for the same ``seed``."""
    rng = random.Random(seed)
    at = _START + timedelta(hours=1)
    lines: list[Line | str] = [
        line | {"at": (_START + timedelta(minutes=minute)).isoformat()} for minute, line in enumerate(_setup())
    ]
    landed: list[str] = []
    for index in range(size):
        at += rng.choice(_STEPS)
        ref = f"m{index}"
        kind = rng.choices(
            ["incoming", "chat", "reply", "lifecycle", "start", "duplicate", "broken"], [40, 12, 15, 15, 5, 5, 8]
        )[0]
        customer = _participant(rng.randrange(5))
        if kind == "incoming" or (kind in ("reply", "lifecycle") and not landed):
            body = {"messageDirection": "INCOMING", "senders": [customer], "text": f"Message {index}"}
            lines.append({"op": "publishMessage", "ref": ref, "account": "helpdesk"} | body)
            landed.append(ref)
        elif kind == "chat":
            conversation = f"conv-{rng.randrange(4)}"
            body = {"messageDirection": "INCOMING", "senders": [_visitor(rng.randrange(3))], "text": f"Chat {index}"}
            lines.append(
                {"op": "publishMessage", "ref": ref, "account": "widget", "integrationThreadId": conversation} | body
            )
            landed.append(ref)
        elif kind == "reply":
            lines.append({"op": "reply", "ref": ref, "thread": {"of": rng.choice(landed)}, "text": f"Reply {index}"})
        elif kind == "lifecycle":
            op = rng.choice(
                ["closeThread", "closeThread", "archiveThread", "restoreThread", "reopenThread", "closeTicket"]
            )
            lines.append({"op": op, "thread": {"of": rng.choice(landed)}})
        elif kind == "start":
            lines.append(
                {"op": "startConversation", "ref": ref, "account": "helpdesk", "recipients": [customer], "text": "Hi"}
            )
        elif kind == "duplicate":
            number = rng.randrange(3)
            body = {"messageDirection": "INCOMING", "senders": [_participant(200 + number)], "text": "Same"}
            key = f"sms-{number}"
            lines.append(
                {"op": "publishMessage", "ref": ref, "account": "helpdesk", "integrationIdempotencyId": key} | body
            )
        else:
            lines.append(rng.choice(['{"op": "publishMessage", "ref": "cut', '{"op": "deleteThread", "at": "x"}']))
            continue
        line = lines[-1]
        assert isinstance(line, dict)
        line["at"] = at.isoformat()
    return [line if isinstance(line, str) else json.dumps(line) for line in lines]
