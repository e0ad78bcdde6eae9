"""Reading a trace's lines (SPEC section 8): what makes a line readable, and the errors of the format itself.

A line is one JSON object in UTF-8. Whatever else it holds, reading it never raises anything but a
:class:`ValidationError` naming the field and the rule, so that one bad line becomes one error line and the
replay goes on. The limits here are the trace format's own, stated in the README:

- a UTF-8 byte order mark before the first line is skipped; lines of spaces and tabs only are skipped (they
  still count in line numbers);
- a line that is not UTF-8, or whose JSON escapes name a lone surrogate (``"\\ud800"``, which no UTF-8 text
  can hold), is refused, as are ``NaN`` and ``Infinity``, which are not JSON;
- objects and arrays nest at most :data:`MAX_NESTING` deep (a HubSpot body needs four), and integer literals
  are at most 4,300 digits long (Python's own bound on reading integers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import ValidationError

Json = dict[str, Any]

TRACE_RULE = "SPEC section 8"
MAX_NESTING = 32
# How much of a refused value an error message quotes: a trace line can be long, and the caller has its number.
_QUOTED = 80
_BOM = "\ufeff"
_BLANK = " \t\r\n"
_SURROGATE = re.compile("[\ud800-\udfff]")


def trace_error(field: str | None, value: object, problem: str) -> ValidationError:
    """A line that breaks the trace format: ``<field> <value> <problem> (SPEC section 8)``."""
    where = field if field is not None else "line"
    return ValidationError(
        f"{where} {quoted(value)} {problem} ({TRACE_RULE})", field=field, value=value, rule=TRACE_RULE
    )


def quoted(value: object) -> str:
    """``repr`` of a value, cut short: an error message names the value without repeating a megabyte of it."""
    if isinstance(value, list | dict) and len(value) > _QUOTED:
        return f"<{type(value).__name__} of {len(value)} items>"
    shown = repr(value)
    return shown if len(shown) <= _QUOTED else shown[: _QUOTED - 1] + "…"


def numbered_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """The lines to replay with their physical line numbers: blank lines are skipped but counted."""
    for number, line in enumerate(lines, start=1):
        text = line.removeprefix(_BOM) if number == 1 else line
        if text.strip(_BLANK):
            yield number, text


def decode_line(text: str) -> Json:
    """The JSON object a trace line holds; raises the line's :class:`ValidationError`."""
    text = text.rstrip("\r\n")
    bad_byte = _SURROGATE.search(text)
    if bad_byte is not None:
        # Readers decode with ``surrogateescape``: an undecodable byte arrives as a lone surrogate.
        raise trace_error(None, _excerpt(text), f"is not UTF-8 text: column {bad_byte.start() + 1}")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise trace_error(None, _excerpt(text), f"is not valid JSON: {error.msg} at column {error.pos + 1}") from None
    except RecursionError:
        raise _too_deep(text) from None
    except ValueError as error:  # an integer of more than 4,300 digits, NaN, Infinity
        raise trace_error(None, _excerpt(text), f"is not valid JSON: {str(error).split(';')[0]}") from None
    if not isinstance(data, dict):
        raise trace_error(None, data, "is not a JSON object")
    _check_values(data, text)
    return data


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _excerpt(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text.strip(_BLANK)[:40])


def _too_deep(text: str) -> ValidationError:
    return trace_error(None, _excerpt(text), f"nests objects and arrays more than {MAX_NESTING} deep")


def _check_values(data: Json, text: str) -> None:
    """Refuse nesting beyond :data:`MAX_NESTING` and strings that hold a lone surrogate, naming the field."""
    escaped = "\\u" in text  # without an escape, the text check above already saw every character
    pending: list[tuple[str | None, object, int]] = [(None, data, 1)]
    while pending:
        path, value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_NESTING:
            raise _too_deep(text)
        if isinstance(value, dict):
            for key, item in value.items():
                where = key if path is None else f"{path}.{key}"
                if escaped and _SURROGATE.search(key):
                    raise trace_error(path, key, "has a key holding a lone surrogate, which is not a character")
                pending.append((where, item, depth + 1))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))
        elif escaped and isinstance(value, str) and _SURROGATE.search(value):
            raise trace_error(path, value, "holds a lone surrogate, which is not a character")
