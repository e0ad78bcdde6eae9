"""Store URLs open the backend they name, and a URL that names none is a VALIDATION_ERROR on field ``store``."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from threading_engine import Capabilities, Engine, IdentifierType, ValidationError, store_schemes
from threading_engine.backends.memory import MemoryRepository
from threading_engine.backends.sqlite import SQLiteRepository
from threading_engine.stores import ENTRY_POINT_GROUP, open_repository


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


# -- schemes other packages register -------------------------------------------------------------------------

# A store package as pip installs one: its module, and a dist-info folder whose entry points name its opener.
_STORE_MODULE = """
from threading_engine import ValidationError
from threading_engine.backends.memory import MemoryRepository

opened = []


def open_store(url):
    if not url.startswith("teststore://shop/"):
        raise ValidationError(f"store {url!r} names no shop", field="store", value=url)
    opened.append(url)
    return MemoryRepository()
"""


@pytest.fixture
def installed_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package named ``teststore-backend`` installed on ``sys.path``: its module and its dist-info."""
    (tmp_path / "teststore_backend.py").write_text(_STORE_MODULE, encoding="utf-8")
    info = tmp_path / "teststore_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: teststore-backend\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nteststore = teststore_backend:open_store\n"
        # A package may not take a built-in scheme over.
        "sqlite = teststore_backend:open_store\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "teststore_backend", raising=False)
    return "teststore"


def test_the_built_in_schemes_are_listed() -> None:
    assert {"memory", "sqlite", "postgresql", "postgres"} <= set(store_schemes())


def test_an_installed_package_adds_its_scheme_through_the_entry_point_group(installed_store: str) -> None:
    assert installed_store in store_schemes()
    url = "teststore://shop/main"
    with Engine(open_repository(url)) as engine:
        assert isinstance(engine.repository, MemoryRepository)
        import teststore_backend  # type: ignore[import-not-found]  # the package the fixture installed

        assert teststore_backend.opened == [url]
        channel = engine.create_channel("c", Capabilities(delivery_identifier_types=(IdentifierType.HS_PHONE_NUMBER,)))
        assert channel.channel_id is not None
        assert engine.channel(channel.channel_id).name == "c"


def test_an_installed_package_refuses_its_own_urls_and_cannot_take_a_built_in_scheme(
    installed_store: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="names no shop") as refused:
        open_repository("teststore://elsewhere")
    assert refused.value.field == "store"
    repository = open_repository(f"sqlite:///{tmp_path / 'built-in.db'}")
    try:
        assert isinstance(repository, SQLiteRepository)
    finally:
        repository.close()


def test_an_unknown_scheme_names_the_installed_ones_too(installed_store: str) -> None:
    with pytest.raises(ValidationError, match=r"use one of: memory, .*registered: teststore$"):
        open_repository("redis://127.0.0.1:6379")
