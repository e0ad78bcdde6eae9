"""The manual clock's control: ``{"seconds": N}`` or an ISO 8601 duration, forward only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from threading_engine.errors import ValidationError
from threading_engine.server.clock import parse_advance

from .harness import conforms, running


@pytest.mark.parametrize(
    ("body", "by"),
    [
        ({"seconds": 86_340}, timedelta(hours=23, minutes=59)),
        ({"seconds": 0.5}, timedelta(milliseconds=500)),
        ({"duration": "PT23H59M"}, timedelta(hours=23, minutes=59)),
        ({"duration": "P1DT1S"}, timedelta(days=1, seconds=1)),
        ({"duration": "P2W"}, timedelta(weeks=2)),
        ({"duration": "PT0.25S"}, timedelta(milliseconds=250)),
    ],
)
def test_an_advance_is_seconds_or_an_iso_duration(body: dict[str, object], by: timedelta) -> None:
    assert parse_advance(body) == by


@pytest.mark.parametrize(
    "body",
    [
        {"seconds": -1},
        {"seconds": True},
        {"seconds": "60"},
        {"duration": "P"},
        {"duration": "PT"},
        {"duration": "P1Y"},
        {"duration": "1 day"},
        {"duration": 60},
        {"seconds": 1, "duration": "PT1S"},
        {},
        [60],
        {"seconds": 1e13},
    ],
    ids=repr,
)
def test_anything_else_is_a_validation_error(body: object) -> None:
    with pytest.raises(ValidationError):
        parse_advance(body)


def test_the_system_clock_cannot_be_advanced_and_health_says_which_clock_runs(tmp_path: Path) -> None:
    with running(tmp_path, "--clock", "system", store="memory") as server, server.client() as client:
        refused = client.post("/_engine/clock/advance", json={"seconds": 60})
        assert refused.status_code == 409
        conforms("Error", refused.json())
        health = httpx.get(server.base + "/_engine/health").json()
        assert health["status"] == "ok" and health["clock"] == "system"
