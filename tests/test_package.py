"""The package's promises about itself: what importing it costs, and what it exports."""

from __future__ import annotations

import subprocess
import sys

import threading_engine


def test_importing_the_package_loads_no_driver_and_no_test_library() -> None:
    """Servers import the engine without paying for drivers they do not use; users' tests pay for Hypothesis."""
    probe = (
        "import sys, threading_engine; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'psycopg', 'psycopg_pool', 'sqlite3', 'hypothesis', 'pytest', 'rich'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "[]"


def test_every_public_name_is_exported() -> None:
    for name in threading_engine.__all__:
        assert hasattr(threading_engine, name), name
