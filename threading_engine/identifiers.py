"""Delivery identifiers: their types, validation and canonical forms (SPEC V4) and thread keys (R0).

Two spellings of one phone number or e-mail address must land on one thread, so every identifier is brought
to a canonical form when it enters the engine, and only canonical identifiers are ever compared or stored.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable

import attrs

from .errors import ValidationError
from .storable import has_surrogate, is_invisible, shown


class IdentifierType(enum.StrEnum):
    """The kinds of delivery identifier HubSpot knows."""

    HS_EMAIL_ADDRESS = "HS_EMAIL_ADDRESS"
    HS_PHONE_NUMBER = "HS_PHONE_NUMBER"
    HS_SHORT_CODE = "HS_SHORT_CODE"
    CHANNEL_SPECIFIC_OPAQUE_ID = "CHANNEL_SPECIFIC_OPAQUE_ID"


class KnownSpellings:
    """Canonical forms (V4) of identifier spellings already checked: the same counterparties write again and
    again. At most ``limit`` of them; past it every one is forgotten and the memo starts again, as a
    :class:`~threading_engine.memos.Memo` does (what it holds never changes a result, only how soon it is known).

    One dictionary per identifier type, keyed by the spelling: a ``(type, spelling)`` key would be a tuple kept
    with every entry (56 bytes, for every new counterparty) and built for every lookup.
    """

    __slots__ = ("_count", "limit", "of_type")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count = 0
        # Type -> spelling -> canonical form, read as ``of_type[kind].get(spelling)`` for every identifier of
        # every message: a subscript and a lookup, where a method of this class would add a call.
        self.of_type: dict[IdentifierType, dict[str, str]] = {kind: {} for kind in IdentifierType}

    def remember(self, kind: IdentifierType, spelling: str, canonical: str) -> None:
        """Keep ``canonical`` as the form of ``spelling`` (forgetting everything first if the memo is full)."""
        if self._count >= self.limit:
            for table in self.of_type.values():
                table.clear()
            self._count = 0
            if not self.limit:
                return
        table = self.of_type[kind]
        self._count += spelling not in table
        table[spelling] = canonical

    def __len__(self) -> int:
        return self._count


_PHONE_PUNCTUATION = re.compile(r"[\s\-.()]")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_WHITESPACE = re.compile(r"\s")
_MAX_EMAIL = 254
_MAX_EMAIL_LOCAL = 64
_MAX_OPAQUE = 256


@attrs.frozen(order=True)
class DeliveryIdentifier:
    """A ``{type, value}`` pair. Build it with :meth:`of`, which validates and canonicalises (V4)."""

    type: IdentifierType
    value: str

    @classmethod
    def of(
        cls,
        type: object,
        value: object,
        *,
        field: str = "deliveryIdentifier",
        spellings: KnownSpellings | None = None,
    ) -> DeliveryIdentifier:
        """Validate ``type`` and ``value`` and return the identifier in canonical form.

        ``field`` names where the identifier came from, so the error points at it; ``spellings``, an engine's
        memo of spellings already checked, saves checking them again.
        """
        identifier_type = parse_identifier_type(type, field=f"{field}.type")
        return cls(
            identifier_type, canonical_value(identifier_type, value, field=f"{field}.value", spellings=spellings)
        )

    def __str__(self) -> str:
        return f"{self.type.value}:{self.value}"


def parse_identifier_type(raw: object, *, field: str = "deliveryIdentifier.type") -> IdentifierType:
    """Return the :class:`IdentifierType` named by ``raw`` or raise a ValidationError naming ``field``."""
    if isinstance(raw, IdentifierType):
        return raw
    if isinstance(raw, str):
        try:
            return IdentifierType(raw)
        except ValueError:
            pass
    known = ", ".join(t.value for t in IdentifierType)
    raise ValidationError(
        f"{field} {shown(raw)} is not a delivery identifier type (one of {known}) (V4)",
        field=field,
        value=raw,
        rule="V4",
    )


def canonical_value(
    identifier_type: IdentifierType, raw: object, *, field: str, spellings: KnownSpellings | None = None
) -> str:
    """Return the canonical form of ``raw`` for ``identifier_type``, or raise a ValidationError (V4).

    ``spellings`` remembers the spellings checked, and answers for those it has seen before."""
    if not isinstance(raw, str):
        raise ValidationError(f"{field} {shown(raw)} is not a string (V4)", field=field, value=raw, rule="V4")
    if spellings is None:
        return _canonical_value(identifier_type, raw, field)
    canonical = spellings.of_type[identifier_type].get(raw)
    if canonical is None:
        canonical = _canonical_value(identifier_type, raw, field)
        if len(raw) <= _MAX_REMEMBERED_SPELLING:  # padding around a short value is not worth the memory
            spellings.remember(identifier_type, raw, canonical)
    return canonical


_MAX_REMEMBERED_SPELLING = 320


def is_known_canonical(identifier: object, spellings: KnownSpellings) -> bool:
    """Whether ``identifier`` is a plain :class:`DeliveryIdentifier` that ``spellings`` saw in canonical form.

    A cheap check for the common case, so that validation can keep such an identifier as it is; ``False``
    only means "not known", and the caller then validates in full.
    """
    if type(identifier) is not DeliveryIdentifier:
        return False
    kind, value = identifier.type, identifier.value
    # Exact classes only: a plain string equals its IdentifierType, so it would find the type's entries.
    return kind.__class__ is IdentifierType and value.__class__ is str and spellings.of_type[kind].get(value) == value


def _canonical_value(identifier_type: IdentifierType, raw: str, field: str) -> str:
    if has_surrogate(raw):
        raise ValidationError(
            f"{field} {shown(raw)} is not valid Unicode: it holds a lone surrogate (V4)",
            field=field,
            value=raw,
            rule="V4",
        )
    value = raw.strip()
    if identifier_type is IdentifierType.HS_PHONE_NUMBER:
        phone = _PHONE_PUNCTUATION.sub("", value)
        if _E164.fullmatch(phone):
            return phone
        problem = "is not an E.164 phone number (+, then 2-15 digits, the first not 0)"
    elif identifier_type is IdentifierType.HS_EMAIL_ADDRESS:
        reason = _email_problem(value)
        if reason is None:
            return value.lower()
        problem = f"is not an e-mail address: {reason}"
    elif identifier_type is IdentifierType.HS_SHORT_CODE:
        if _SHORT_CODE.fullmatch(value):
            return value
        problem = "is not a short code (3-8 digits)"
    elif not value:
        problem = "is empty"
    elif len(value) > _MAX_OPAQUE:
        problem = f"is longer than {_MAX_OPAQUE} characters"
    elif any(unicodedata.category(ch) == "Cc" for ch in value):
        problem = "contains a control character"
    elif all(is_invisible(ch) for ch in value):
        problem = "holds only invisible characters"
    else:
        return value
    raise ValidationError(f"{field} {shown(raw)} {problem} (V4)", field=field, value=raw, rule="V4")


def _email_problem(value: str) -> str | None:
    if _WHITESPACE.search(value):
        return "it contains white space"
    if not value.isprintable() if value.isascii() else any(is_invisible(ch) for ch in value):
        return "it contains a control or invisible character"
    if value.count("@") != 1:
        return "it needs exactly one @"
    if len(value) > _MAX_EMAIL:
        return f"it is longer than {_MAX_EMAIL} characters"
    local, domain = value.split("@")
    if not local:
        return "the part before @ is empty"
    if len(local) > _MAX_EMAIL_LOCAL:
        return f"the part before @ is longer than {_MAX_EMAIL_LOCAL} characters"
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        return "the domain needs a dot between non-empty labels"
    return None


KEY_SEPARATOR = "\x1f"


def thread_key(identifiers: Iterable[DeliveryIdentifier]) -> str:
    """The canonical text of a key (R0): the sorted, de-duplicated ``TYPE:value`` pairs, joined by U+001F.

    A string rather than a set so that every backend can index it. It reads back unambiguously because no
    canonical value holds a control character (V4) and no type name holds a colon.
    """
    return KEY_SEPARATOR.join(sorted({key_part(i) for i in identifiers}))


def key_part(identifier: DeliveryIdentifier) -> str:
    """One identifier's part of a key's text: ``TYPE:value``."""
    # The ``TYPE:`` text made once per type, not formatted for every identifier: formatting a StrEnum member
    # runs through the enum's own ``__format__``, some four times the cost of this lookup and concatenation.
    return KEY_PREFIXES[identifier.type] + identifier.value


# Public for the per-message paths that write ``key_part`` out (a call costs more than the lookup and concatenation).
KEY_PREFIXES: dict[IdentifierType, str] = {member: f"{member.value}:" for member in IdentifierType}


def key_identifiers(key: str) -> tuple[DeliveryIdentifier, ...]:
    """The identifiers a key (from :func:`thread_key`) was made of, in the key's order (an engine remembers the
    participants of the keys its agents reply on: ``rules.remembered.Memos.key_participants``)."""
    if not key:
        return ()
    return tuple(
        DeliveryIdentifier(type=_TYPES_BY_NAME.get(kind) or IdentifierType(kind), value=value)
        for kind, _, value in (pair.partition(":") for pair in key.split(KEY_SEPARATOR))
    )


# A dictionary read first: ``IdentifierType(kind)`` runs through the enum's metaclass (it stays for the error).
_TYPES_BY_NAME: dict[str, IdentifierType] = {member.value: member for member in IdentifierType}
