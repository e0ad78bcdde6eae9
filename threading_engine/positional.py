"""Building a value by position, for the few values made for every message, checked when the module loads.

An argument passed by keyword costs a lookup, which on the per-message path adds up (the README's Benchmarks
section gives the figures), so the constructors called for every message take their arguments by position.
By position, a field added mid-list would silently shift every later argument into the wrong slot: each
such constructor is therefore reached through :func:`by_position`, which checks, when the calling module is
imported, that the class still has the fields the caller names, in that order. Everything else is built by
keyword (``tests/test_positional.py`` holds the library to that).
"""

from __future__ import annotations

from typing import TypeVar

import attrs

_T = TypeVar("_T")


def by_position(cls: type[_T], *names: str) -> type[_T]:
    """``cls`` itself, once its fields are checked to begin with ``names`` and to need no others.

    Call it at import, naming the fields in the order the call sites pass them:
    ``_Message = by_position(Message, "id", "thread_id", ...)``, then ``_Message(message_id, thread_id, ...)``.
    A call site may pass fewer arguments than ``names`` when the fields it leaves out have defaults.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # any attrs class; mypy cannot say so of a TypeVar
    actual = tuple(field.name for field in fields)
    if actual[: len(names)] != names:
        raise TypeError(
            f"{cls.__qualname__} is built by position as ({', '.join(names)}), but its fields are ({', '.join(actual)})"
        )
    required = [field.name for field in fields[len(names) :] if field.default is attrs.NOTHING]
    if required:
        raise TypeError(f"{cls.__qualname__} is built by position without {', '.join(required)}, which it requires")
    return cls
