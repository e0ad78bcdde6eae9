"""Store URLs open the backend they name, and a URL that names none is a VALIDATION_ERROR on field ``store``."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from threading_engine import ValidationError
from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.stores import open_repository


def test_memory_and_sqlite_urls_open_their_backends(tmp_path: Path) -> None:
    assert isinstance(open_repository("memory"), MemoryRepository)
    full = open_repository(f"sqlite:///{tmp_path / 'full.db'}")
    normal = open_repository(f"sqlite:///{tmp_path / 'normal.db'}?synchronous=normal&view_cache=0")
    try:
        assert isinstance(full, SQLiteRepository) and isinstance(normal, SQLiteRepository)
        assert (tmp_path / "full.db").exists() and (tmp_path / "normal.db").exists()
        assert (full._views.size, normal._views.size) == (10_000, 0)
    finally:
        full.close()
        normal.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite:///x.db?synchronous=off", "synchronous=full|normal"),
        ("sqlite:///x.db?journal=wal", "synchronous=full|normal"),
        ("sqlite:///x.db?view_cache=-1", "view_cache=<number of keys>"),
        ("sqlite:///x.db?view_cache=many", "view_cache=<number of keys>"),
        ("sqlite://host/x.db", "use one of"),
        ("sqlite:///", "use one of"),
        ("redis://127.0.0.1:6379", "use one of"),
        ("", "use one of"),
    ],
)
def test_urls_naming_no_store_are_validation_errors_on_the_store_field(url: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as raised:
        open_repository(url)
    assert raised.value.field == "store" and raised.value.value == url


def test_python_dash_m_runs_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m threading_engine`` is the ``threading-engine`` script (run in process, so it is measured)."""
    monkeypatch.setattr(sys, "argv", ["threading-engine", "--help"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("threading_engine", run_name="__main__")
    assert exited.value.code == 0
    assert "replay" in capsys.readouterr().out
