"""Identifiers as people type them: valid spellings of every type (not yet canonical, so that tests exercise V4's
canonicalisation) and spellings V4 refuses. Shared by ``strategies`` and ``extremes``."""

from __future__ import annotations

from hypothesis import strategies as st

from ..identifiers import IdentifierType
from ..storable import is_invisible


def _phone_spellings() -> st.SearchStrategy[str]:
    digits = st.integers(min_value=1, max_value=9).flatmap(
        lambda first: st.text("0123456789", min_size=5, max_size=13).map(lambda rest: f"{first}{rest}")
    )

    def spell(number: str, style: int) -> str:
        if style == 0:
            return f"+{number}"
        if style == 1:
            return f"+{number[:1]} ({number[1:4]}) {number[4:]}"
        if style == 2:
            return f" +{number[:2]}-{number[2:6]}-{number[6:]} "
        return f"+{'.'.join(number[i : i + 3] for i in range(0, len(number), 3))}"

    return st.builds(spell, digits, st.integers(0, 3))


def _email_spellings() -> st.SearchStrategy[str]:
    label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
    local = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", min_size=1, max_size=20)
    return st.builds(
        lambda user, host, tld, upper, pad: (
            (" " if pad else "") + (f"{user}@{host}.{tld}".upper() if upper else f"{user}@{host}.{tld}")
        ),
        local,
        label,
        st.sampled_from(["com", "org", "io", "co.uk"]),
        st.booleans(),
        st.booleans(),
    )


_VALID_SPELLINGS: dict[IdentifierType, st.SearchStrategy[str]] = {
    IdentifierType.HS_PHONE_NUMBER: _phone_spellings(),
    IdentifierType.HS_EMAIL_ADDRESS: _email_spellings(),
    IdentifierType.HS_SHORT_CODE: st.text("0123456789", min_size=3, max_size=8),
    # Not only invisible characters (V4): an id nobody can see or type.
    IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID: st.text(
        st.characters(blacklist_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]), min_size=1, max_size=40
    ).filter(lambda value: not all(map(is_invisible, value))),
}

_INVALID_SPELLINGS: dict[IdentifierType, st.SearchStrategy[str]] = {
    IdentifierType.HS_PHONE_NUMBER: st.sampled_from(
        ["555 0100", "+0 555 0100", "+1", "+1234567890123456", "+1 555 CALL", "", "++15550100", "1-800-FLOWERS"]
    ),
    IdentifierType.HS_EMAIL_ADDRESS: st.sampled_from(
        [
            "ana",
            "ana@",
            "@example.com",
            "ana@@example.com",
            "ana@example",
            "ana @example.com",
            "ana@.com",
            "a@b..com",
            "x" * 65 + "@example.com",
            "a@" + "b" * 250 + ".com",
            "a\x00b@example.com",
            "a\u200bb@example.com",
            "ana@exam\x7fple.com",
            "\ufeffana@example.com",
            "ana@example.com\ud800",
        ]
    ),
    IdentifierType.HS_SHORT_CODE: st.sampled_from(["12", "123456789", "12a45", "", "+12345"]),
    IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID: st.sampled_from(
        ["", "   ", "bad\x00id", "tab\there", "x" * 257, "\u200b", "\u200d\ufeff", "lone\ud800", "\U000e0001"]
    ),
}


def identifier_spellings(
    *, types: tuple[IdentifierType, ...] = tuple(IdentifierType)
) -> st.SearchStrategy[tuple[IdentifierType, str]]:
    """Valid ``(type, raw value)`` pairs, spelled as people type them (not yet canonical)."""
    return st.sampled_from(types).flatmap(lambda t: _VALID_SPELLINGS[t].map(lambda v: (t, v)))


def invalid_identifier_spellings(
    *, types: tuple[IdentifierType, ...] = tuple(IdentifierType)
) -> st.SearchStrategy[tuple[IdentifierType, str]]:
    """``(type, raw value)`` pairs that V4 rejects."""
    return st.sampled_from(types).flatmap(lambda t: _INVALID_SPELLINGS[t].map(lambda v: (t, v)))
