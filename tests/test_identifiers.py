"""Delivery identifiers: V4's validity rules, canonical forms and boundaries, and R0's keys built from them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threading_engine import DeliveryIdentifier, IdentifierType, ThreadingError, ValidationError
from threading_engine.identifiers import (
    KnownSpellings,
    canonical_value,
    is_known_canonical,
    key_identifiers,
    thread_key,
)
from threading_engine.storable import is_invisible
from threading_engine.testing.strategies import identifier_spellings, invalid_identifier_spellings

PHONE = IdentifierType.HS_PHONE_NUMBER
EMAIL = IdentifierType.HS_EMAIL_ADDRESS
SHORT = IdentifierType.HS_SHORT_CODE
OPAQUE = IdentifierType.CHANNEL_SPECIFIC_OPAQUE_ID


def canonical(identifier_type: IdentifierType, value: object) -> str:
    return DeliveryIdentifier.of(identifier_type, value).value


def rejected(identifier_type: object, value: object, *, field: str = "deliveryIdentifier") -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        DeliveryIdentifier.of(identifier_type, value, field=field)
    return caught.value


# -- V4: HS_PHONE_NUMBER -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "+15550100000",
        "+1 555 010 0000",
        "+1 (555) 010-0000",
        "+1.555.010.0000",
        "  +1-555-010-0000\t",
        "+1(555)0100000",
    ],
)
def test_v4_phone_punctuation_is_removed(spelling: str) -> None:
    assert canonical(PHONE, spelling) == "+15550100000"


def test_v4_phone_two_digits_is_the_shortest() -> None:
    assert canonical(PHONE, "+12") == "+12"
    assert rejected(PHONE, "+1").rule == "V4"


def test_v4_phone_fifteen_digits_is_the_longest() -> None:
    assert canonical(PHONE, "+" + "1" * 15) == "+" + "1" * 15
    assert rejected(PHONE, "+" + "1" * 16).rule == "V4"


@pytest.mark.parametrize("value", ["+0155501000", "+ 0 555 0100"])
def test_v4_phone_first_digit_is_not_zero(value: str) -> None:
    assert rejected(PHONE, value).field == "deliveryIdentifier.value"


@pytest.mark.parametrize(
    "value",
    ["15550100000", "555 0100", "++15550100", "+1 555 CALL", "+1/555/0100", "", "   ", "+١٢٣٤", "1-800-FLOWERS"],
)
def test_v4_phone_other_spellings_are_rejected(value: str) -> None:
    error = rejected(PHONE, value)
    assert error.value == value
    assert "E.164" in error.message


# -- V4: HS_EMAIL_ADDRESS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["ana@example.com", "Ana@Example.COM", "  ANA@EXAMPLE.COM  "])
def test_v4_email_is_trimmed_and_lower_cased(spelling: str) -> None:
    assert canonical(EMAIL, spelling) == "ana@example.com"


def test_v4_email_local_part_of_64_is_accepted_and_65_rejected() -> None:
    assert canonical(EMAIL, "a" * 64 + "@example.com") == "a" * 64 + "@example.com"
    error = rejected(EMAIL, "a" * 65 + "@example.com")
    assert "64" in error.message


def _email_of_length(total: int) -> str:
    domain_length = total - 64 - 1
    domain = "d" * 63 + "." + "d" * 63 + "." + "d" * (domain_length - 128)
    address = "a" * 64 + "@" + domain
    assert len(address) == total
    return address


def test_v4_email_of_254_characters_is_accepted_and_255_rejected() -> None:
    assert canonical(EMAIL, _email_of_length(254)) == _email_of_length(254)
    error = rejected(EMAIL, _email_of_length(255))
    assert "254" in error.message


@pytest.mark.parametrize(
    "value",
    ["ana", "ana@", "@example.com", "ana@@example.com", "a@b@example.com", "ana@example", "ana @example.com",
     "ana@exa mple.com", "ana@.com", "ana@example.", "a@b..com", ""],
)  # fmt: skip
def test_v4_email_other_spellings_are_rejected(value: str) -> None:
    error = rejected(EMAIL, value)
    assert error.field == "deliveryIdentifier.value"
    assert "e-mail" in error.message


# -- V4: HS_SHORT_CODE -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["123", "12345", "12345678", " 0123 "])
def test_v4_short_code_of_3_to_8_digits_is_accepted(value: str) -> None:
    assert canonical(SHORT, value) == value.strip()


@pytest.mark.parametrize("value", ["12", "123456789", "12a45", "+12345", "12 345", "12-345", "", "١٢٣٤"])
def test_v4_short_code_other_spellings_are_rejected(value: str) -> None:
    assert "short code" in rejected(SHORT, value).message


# -- V4: CHANNEL_SPECIFIC_OPAQUE_ID ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["AbC-123", "user:Ω/ß", "a b", "x"])
def test_v4_opaque_id_is_kept_exactly(value: str) -> None:
    assert canonical(OPAQUE, value) == value


def test_v4_opaque_id_is_trimmed_of_outer_white_space_only() -> None:
    assert canonical(OPAQUE, "  Bot 7 \n") == "Bot 7"


def test_v4_opaque_id_of_256_characters_is_accepted_and_257_rejected() -> None:
    assert canonical(OPAQUE, "x" * 256) == "x" * 256
    assert canonical(OPAQUE, " " + "x" * 256 + " ") == "x" * 256
    assert "256" in rejected(OPAQUE, "x" * 257).message


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_v4_opaque_id_must_not_be_empty(value: str) -> None:
    assert "empty" in rejected(OPAQUE, value).message


@pytest.mark.parametrize("value", ["bad\x00id", "tab\there", "line\nbreak", "del\x7f", "nel\x85x", "bell\x07"])
def test_v4_opaque_id_must_not_hold_control_characters(value: str) -> None:
    assert "control character" in rejected(OPAQUE, value).message


# -- V4: wrong types and what errors say -------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 15550100000, b"+15550100000", ["+15550100000"], 1.5])
@pytest.mark.parametrize("identifier_type", list(IdentifierType))
def test_v4_value_that_is_not_a_string_is_rejected(identifier_type: IdentifierType, value: object) -> None:
    error = rejected(identifier_type, value)
    assert error.field == "deliveryIdentifier.value"
    assert "not a string" in error.message


@pytest.mark.parametrize("identifier_type", ["PHONE", "hs_phone_number", "", None, 3, b"HS_PHONE_NUMBER"])
def test_v4_unknown_type_is_rejected_naming_the_known_ones(identifier_type: object) -> None:
    error = rejected(identifier_type, "+15550100000")
    assert error.field == "deliveryIdentifier.type"
    assert error.value == identifier_type
    assert error.rule == "V4"
    assert all(t.value in error.message for t in IdentifierType)


def test_v4_type_may_be_given_by_name() -> None:
    assert DeliveryIdentifier.of("HS_PHONE_NUMBER", "+1 555 0100") == DeliveryIdentifier(PHONE, "+15550100")


def test_v4_error_names_the_field_the_value_and_the_rule() -> None:
    error = rejected(PHONE, "+1 555 CALL", field="senders[2].deliveryIdentifier")
    assert isinstance(error, ThreadingError)
    assert isinstance(error, ValueError)
    assert error.code == "VALIDATION_ERROR"
    assert (error.field, error.value, error.rule) == ("senders[2].deliveryIdentifier.value", "+1 555 CALL", "V4")
    assert error.message.startswith("senders[2].deliveryIdentifier.value '+1 555 CALL' ")
    assert error.message.endswith("(V4)")


def test_v4_identifier_prints_as_type_and_value() -> None:
    assert str(DeliveryIdentifier.of(EMAIL, "Ana@Example.com")) == "HS_EMAIL_ADDRESS:ana@example.com"


# -- R0: keys are sets of canonical identifiers ------------------------------------------------------------


def test_r0_key_ignores_order_and_duplicates() -> None:
    a = DeliveryIdentifier.of(PHONE, "+15550100001")
    b = DeliveryIdentifier.of(EMAIL, "b@example.com")
    assert thread_key([a, b]) == thread_key([b, a, b, a])
    assert thread_key([a]) != thread_key([a, b])
    assert key_identifiers(thread_key([b, a, a])) == tuple(sorted({a, b}))


def test_r0_same_value_of_two_types_is_two_identifiers() -> None:
    short = DeliveryIdentifier.of(SHORT, "12345")
    opaque = DeliveryIdentifier.of(OPAQUE, "12345")
    assert thread_key([short]) != thread_key([opaque])
    assert len(key_identifiers(thread_key([short, opaque]))) == 2


# -- properties --------------------------------------------------------------------------------------------


@given(identifier_spellings())
def test_v4_canonicalisation_is_idempotent(pair: tuple[IdentifierType, str]) -> None:
    once = DeliveryIdentifier.of(*pair)
    assert DeliveryIdentifier.of(once.type, once.value) == once


@given(invalid_identifier_spellings())
def test_v4_invalid_spellings_are_rejected_naming_the_value(pair: tuple[IdentifierType, str]) -> None:
    identifier_type, value = pair
    error = rejected(identifier_type, value)
    assert (error.field, error.value, error.rule) == ("deliveryIdentifier.value", value, "V4")


_PUNCTUATION = st.sampled_from([" ", "-", ".", "(", ")", "\t", "  "])


@st.composite
def _phone_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A valid E.164 number and one way a person might type it (punctuation between digits, padding)."""
    digits = draw(st.sampled_from("123456789")) + draw(st.text("0123456789", min_size=1, max_size=14))
    pieces = ["+"]
    for digit in digits:
        pieces.append(draw(st.lists(_PUNCTUATION, max_size=2).map("".join)))
        pieces.append(digit)
    padding = draw(st.sampled_from(["", " ", "\t", "  \n"]))
    return "+" + digits, padding + "".join(pieces) + padding


@given(_phone_spellings())
def test_v4_any_accepted_phone_spelling_equals_the_canonical_one(case: tuple[str, str]) -> None:
    number, spelling = case
    assert canonical(PHONE, spelling) == number
    assert DeliveryIdentifier.of(PHONE, spelling) == DeliveryIdentifier.of(PHONE, number)


@given(st.text(max_size=20))
def test_v4_accepted_phone_is_always_e164(spelling: str) -> None:
    try:
        value = canonical(PHONE, spelling)
    except ValidationError as error:
        assert error.rule == "V4"
        return
    assert value.startswith("+")
    assert value[1:].isascii() and value[1:].isdigit()
    assert 2 <= len(value) - 1 <= 15
    assert value[1] != "0"


@given(identifier_spellings(types=(EMAIL,)))
def test_v4_email_case_does_not_matter(pair: tuple[IdentifierType, str]) -> None:
    _, spelling = pair
    assert DeliveryIdentifier.of(EMAIL, spelling.upper()) == DeliveryIdentifier.of(EMAIL, spelling.lower())


@given(st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=300))
def test_v4_opaque_id_is_the_trimmed_input_or_an_error(spelling: str) -> None:
    trimmed = spelling.strip()
    if 1 <= len(trimmed) <= 256 and not all(is_invisible(ch) for ch in trimmed):
        assert canonical(OPAQUE, spelling) == trimmed
    else:
        assert rejected(OPAQUE, spelling).rule == "V4"


# -- V4 with an engine's memo of spellings (KnownSpellings) -----------------------------------------------


def test_v4_memo_answers_a_spelling_checked_before_with_its_canonical_form() -> None:
    spellings = KnownSpellings(10)
    first = canonical_value(PHONE, "+1 (555) 010-0000", field="value", spellings=spellings)
    assert spellings.of_type[PHONE].get("+1 (555) 010-0000") == first == "+15550100000"
    assert canonical_value(PHONE, "+1 (555) 010-0000", field="value", spellings=spellings) == first
    assert len(spellings) == 1


def test_v4_memo_keeps_each_type_apart() -> None:
    """One text may be a spelling of two types (R0: two identifiers): known under one, it is not under the other."""
    spellings = KnownSpellings(10)
    canonical_value(SHORT, "12345", field="value", spellings=spellings)
    assert is_known_canonical(DeliveryIdentifier(SHORT, "12345"), spellings)
    assert not is_known_canonical(DeliveryIdentifier(OPAQUE, "12345"), spellings)


def test_v4_memo_forgets_everything_past_its_bound_and_counts_a_spelling_once() -> None:
    spellings = KnownSpellings(2)
    spellings.remember(SHORT, "123", "123")
    spellings.remember(SHORT, "123", "123")  # again: still one
    spellings.remember(OPAQUE, "x", "x")
    assert len(spellings) == 2
    spellings.remember(EMAIL, "a@b.example", "a@b.example")
    assert len(spellings) == 1
    assert spellings.of_type[SHORT] == {} and spellings.of_type[OPAQUE] == {}
    assert spellings.of_type[EMAIL] == {"a@b.example": "a@b.example"}


def test_v4_memo_of_no_size_remembers_nothing_and_still_answers() -> None:
    spellings = KnownSpellings(0)
    assert canonical_value(EMAIL, " A@B.example ", field="value", spellings=spellings) == "a@b.example"
    assert len(spellings) == 0 and all(not table for table in spellings.of_type.values())


@given(identifier_spellings())
def test_v4_memo_changes_no_answer(pair: tuple[IdentifierType, str]) -> None:
    """Checked twice through a memo (the second time answered by it) and once without: the same canonical form."""
    identifier_type, spelling = pair
    spellings = KnownSpellings(10)
    without = canonical_value(identifier_type, spelling, field="value")
    assert canonical_value(identifier_type, spelling, field="value", spellings=spellings) == without
    assert canonical_value(identifier_type, spelling, field="value", spellings=spellings) == without
