"""What every store can keep and give back unchanged: the one definition of a storable value.

Validation (``validation.py``, ``identifiers.py``, the normalizers and the HubSpot parsers) applies these rules
to every value before anything is read, so that what the engine accepts, the memory, SQLite and PostgreSQL stores
all keep, read back and render identically:

- **Strings** are valid Unicode: no lone surrogate (U+D800-U+DFFF), which has no UTF-8 form and so cannot be
  written to SQLite or PostgreSQL. Each string field has a maximum length, in characters (code points), chosen
  far above what a real integration sends (see the ``MAX_*`` constants and the README's "Limits").
- **Ids** (every id the engine makes or a caller passes, inbox ids, idempotency ids and integration thread ids)
  are non-empty, hold no control character (PostgreSQL's text cannot hold NUL, and keys use U+001F as their
  separator), are not made only of invisible characters, and are short enough that any two of them fit one
  row of PostgreSQL's B-tree indexes (2,704 bytes) even at four UTF-8 bytes a character.
- **Times** are timezone-aware with a UTC form (the stores and the renderers convert to UTC), so they lie
  between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z; as integer microseconds since 1970 that is
  within +-2.6e17, which every store's 64-bit integers hold. They are kept with a fixed UTC offset
  (``datetime.timezone``) of whole seconds, which every store writes and reads back exactly.

This module decides; the callers raise the typed error that fits where the value came from. It has no state.
"""

from __future__ import annotations

import enum
import re
import reprlib
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone

import attrs

MAX_TEXT_LENGTH = 1_000_000
"""A message's ``text``."""
MAX_NAME_LENGTH = 1_000
"""A channel's, an account's or a participant's ``name``."""
MAX_URL_LENGTH = 8_192
"""``webhookUrl`` and ``channelLogoUrl``."""
MAX_ID_LENGTH = 128
"""Every id the engine makes (channel, account, thread, ticket, message and event ids), every id a caller passes
to name one, and ``inboxId``."""
MAX_EXTERNAL_ID_LENGTH = 512
"""The integration's own ids: ``integrationIdempotencyId`` and ``integrationThreadId``."""
MAX_CAPABILITY_ENTRY_LENGTH = 256
"""Each entry of ``richText``, ``outgoingAttachmentTypes`` and ``allowedFileAttachmentMimeTypes``."""
MAX_LIST_LENGTH = 1_000
"""Senders, recipients, and each capability list."""
MAX_COUNT = 2**63 - 1
"""The count capabilities (``maxFileAttachmentCount`` and the size limits): a 64-bit integer."""
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

_SURROGATE = re.compile("[\ud800-\udfff]")
# Unicode's Default_Ignorable_Code_Point characters (DerivedCoreProperties.txt): they draw nothing. Listed here
# rather than derived from ``unicodedata``, whose categories date from the running Python's Unicode version.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate (no UTF-8 form). ASCII, the common case, is decided at once."""
    return not value.isascii() and _SURROGATE.search(value) is not None


def is_invisible(character: str) -> bool:
    """Whether a character draws nothing: white space and separators, control and format characters
    (zero-width spaces and joiners, direction marks, the byte order mark), and Unicode's other
    default-ignorable characters (variation selectors, Hangul fillers, tags)."""
    return (
        character.isspace()
        or unicodedata.category(character) in _INVISIBLE_CATEGORIES
        or _DEFAULT_IGNORABLE.match(character) is not None
    )


def text_problem(value: str, limit: int) -> str | None:
    """Why the string ``value`` cannot be stored in a field of at most ``limit`` characters, or ``None``."""
    if len(value) > limit:
        return f"is longer than {limit:,} characters"
    if has_surrogate(value):
        return "is not valid Unicode: it holds a lone surrogate"
    return None


def is_plain_text(value: object, limit: int) -> bool:
    """Whether :func:`text_problem` finds nothing, decided cheaply: for the validation fast paths."""
    return isinstance(value, str) and len(value) <= limit and not has_surrogate(value)


def id_problem(value: str, limit: int) -> str | None:
    """Why the string ``value`` cannot be an id of at most ``limit`` characters, or ``None``."""
    if not value.strip():
        return "is empty"
    problem = text_problem(value, limit)
    if problem is not None:
        return problem
    if any(unicodedata.category(character) == "Cc" for character in value):
        return "holds a control character"
    if all(is_invisible(character) for character in value):
        return "holds only invisible characters"
    return None


def is_plain_id(value: object, limit: int) -> bool:
    """Whether :func:`id_problem` finds nothing, decided cheaply for printable ASCII (nearly every id); ``False``
    only means "check in full"."""
    return (
        type(value) is str
        and 0 < len(value) <= limit
        and value.isascii()
        and value.isprintable()
        and not value.isspace()
    )


def is_id(value: object, limit: int = MAX_ID_LENGTH) -> bool:
    """Whether ``value`` is an id of at most ``limit`` characters (see :func:`id_problem`)."""
    return is_plain_id(value, limit) or (isinstance(value, str) and id_problem(value, limit) is None)


def is_plain_moment(value: object) -> bool:
    """Whether ``value`` is a storable time as it is, decided cheaply: a UTC datetime (as the default clock and
    ``...Z`` give) in a year whose every instant has a UTC form; ``False`` only means "check in full"."""
    return isinstance(value, datetime) and value.tzinfo is UTC and 1 < value.year < 9999


def moment_problem(value: datetime) -> str | None:
    """Why the datetime ``value`` cannot be stored, or ``None``: it must be aware and have a UTC form."""
    try:
        offset = value.utcoffset()
    except Exception:  # a tzinfo of the caller's own that fails: its time has no offset anyone can read
        return "has a timezone whose offset cannot be read"
    if offset is None:
        return "has no timezone offset"
    if offset.microseconds:
        # Python writes such an offset (+00:00:00.000001) in a form it does not always read back the same.
        return "has a UTC offset with a fraction of a second: offsets are whole seconds"
    try:
        value.astimezone(UTC)
    except OverflowError:
        return f"has no UTC form: it lies outside {_iso(EARLIEST)} to {_iso(LATEST)}"
    return None


def fixed_offset(value: datetime) -> datetime:
    """``value`` (aware, with a UTC form) with its offset as a plain ``datetime.timezone``: a time zone's rules
    (and its folds) do not survive a store, its offset does."""
    if value.tzinfo.__class__ is timezone:
        return value
    offset = value.utcoffset()
    assert offset is not None
    return value.replace(tzinfo=timezone(offset), fold=0)


def time_text(value: datetime) -> str:
    """A time as an error shows it: ISO-8601, or the type's name for a value that cannot say."""
    try:
        return value.isoformat()
    except Exception:  # a tzinfo of the caller's own that fails
        return f"<{type(value).__name__}>"


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat() + "Z"


class _Shown(reprlib.Repr):
    """``repr`` for error messages, bounded in depth and size: a value nested 100,000 deep or a string of a
    million characters gives a short message, never a RecursionError or a huge one."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 4
        self.maxtuple = self.maxlist = self.maxarray = self.maxdict = 32
        self.maxset = self.maxfrozenset = self.maxdeque = 32
        self.maxstring = 300
        self.maxother = 300

    def repr_str(self, x: str, level: int) -> str:
        if len(x) <= self.maxstring:
            return repr(x)
        return f"{x[:100]!r}... ({len(x):,} characters)"

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<an integer of {x.bit_length():,} bits>"
        return repr(x)

    def repr_instance(self, x: object, level: int) -> str:
        if isinstance(x, enum.Enum):
            return repr(x)
        if isinstance(x, str):  # a subclass: shown as the text it holds
            return self.repr_str(str.__str__(x), level)
        if isinstance(x, bytes | bytearray):
            return repr(x[: self.maxother]) + ("..." if len(x) > self.maxother else "")
        if isinstance(x, datetime) and x.tzinfo.__class__ not in (timezone, type(None)):
            return f"datetime {time_text(x)}"  # a time zone of the caller's own may not show itself safely
        if isinstance(x, bool | float | date | time | timedelta | type(None)):
            return repr(x)
        if isinstance(x, int):
            return self.repr_int(int(x), level)
        for container, name in (
            (list, "list"),
            (tuple, "tuple"),
            (dict, "dict"),
            (set, "set"),
            (frozenset, "frozenset"),
        ):
            if isinstance(x, container):
                shown: str = getattr(self, f"repr_{name}")(x, level)
                return shown
        kind = type(x)
        if attrs.has(kind):
            if level <= 0:
                return f"{kind.__name__}(...)"
            fields = ", ".join(f"{f.name}={self.repr1(getattr(x, f.name), level - 1)}" for f in attrs.fields(kind))
            return f"{kind.__name__}({fields})"
        return f"<{type(x).__name__} object>"


_shown = _Shown()
_MAX_SHOWN = 600


def shown(value: object) -> str:
    """``value`` as an error message shows it: its ``repr``, shortened when it is huge or deeply nested (at
    most some 600 characters in all, however many escaped characters it holds)."""
    text = _shown.repr(value)
    if len(text) <= _MAX_SHOWN:
        return text
    return f"{text[:500]}... ({len(text) - 500:,} characters more)"


def masked(text: str) -> str:
    """``text`` with the password of any URL in it shown as ``***``."""
    return _PASSWORD.sub(r"\1***@", text)


_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
