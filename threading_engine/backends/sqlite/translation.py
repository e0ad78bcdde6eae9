"""The one place where ``sqlite3`` errors become the library's errors."""

from __future__ import annotations

import sqlite3
from typing import NoReturn

from ...errors import StorageError, WriteConflict
from ...repository import id_taken
from .schema import CONFLICTS, INSERTED_IDS

_UNIQUE_FAILED = "UNIQUE constraint failed: "


def translate(error: sqlite3.Error, inserted_id: str | None = None) -> Exception:
    """The one place where ``sqlite3`` errors become the library's errors.

    Only a uniqueness rule a concurrent writer can break (U1-U4) is a lost race (WriteConflict); any other
    refused row is a StorageError at once, an id taken (U0) naming ``inserted_id``, the id being inserted.
    """
    if isinstance(error, sqlite3.IntegrityError):
        columns = str(error).removeprefix(_UNIQUE_FAILED)
        conflict = CONFLICTS.get(columns)
        if conflict is not None:
            rule, index = conflict
            return WriteConflict(f"{index} ({rule}) refused the commit: a concurrent writer won ({error})", rule=rule)
        field = INSERTED_IDS.get(columns)
        if field is not None:
            return id_taken(field, inserted_id)
        return StorageError(f"SQLite refused a row: {error}")
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        if "locked" in message or "busy" in message:
            return WriteConflict(f"the database stayed locked: {error}")
    if isinstance(error, sqlite3.DatabaseError):
        return StorageError(f"SQLite failed: {error}")
    return error


def raise_translated(error: sqlite3.Error) -> NoReturn:
    """Raise :func:`translate`'s error for ``error``, or ``error`` itself if it stays as it is."""
    translated = translate(error)
    if translated is error:
        raise error
    raise translated from error


class Translated:
    """``with translated:`` raises :func:`translate`'s error for a ``sqlite3`` error in its block.

    A stateless class rather than ``@contextmanager``: it is entered several times per command, and a
    generator-based context manager costs a new generator and several calls each time.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if isinstance(error, sqlite3.Error):
            translated = translate(error)
            if translated is not error:
                raise translated from error


translated = Translated()
