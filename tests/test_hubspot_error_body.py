"""The engine's typed errors as HubSpot's error body (``hubspot.error_to_json``) and HTTP status: every body
validates against the shipped ``Error`` schema, written from HubSpot's OpenAPI files, and names the field,
the rule and the engine's code (SPEC section 7)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from threading_engine import hubspot as hs
from threading_engine.errors import (
    IdempotencyConflictError,
    KeyConflictError,
    NotAllowedError,
    NotFoundError,
    StorageError,
    ThreadingError,
    ThreadNotOpenError,
    ValidationError,
    WriteConflict,
)
from threading_engine.hubspot import schemas
from threading_engine.testing.strategies import publish_message_bodies

ERROR_SCHEMA = Draft202012Validator(schemas.bundled("Error"))
CORRELATION = "aeb5f871-7f07-4993-9211-075dc63e7cbf"

EXPECTED = [
    (ValidationError("text is required (V5)", field="text", rule="V5"), 400, "VALIDATION_ERROR"),
    (
        NotFoundError("no thread 'thread-9' (R3)", field="threadId", value="thread-9", rule="R3"),
        404,
        "OBJECT_NOT_FOUND",
    ),
    (NotAllowedError("outgoing messages are off (R3)", field="text", rule="R3"), 403, "VALIDATION_ERROR"),
    (ThreadNotOpenError("thread-1 is closed (R3)", field="threadId", value="thread-1", rule="R3"), 409, "CONFLICT"),
    (KeyConflictError("another thread is open for the key (R8)", rule="R8"), 409, "CONFLICT"),
    (
        IdempotencyConflictError("idem-1 was used otherwise (D1)", field="integrationIdempotencyId", rule="D1"),
        409,
        "CONFLICT",
    ),
    (WriteConflict("lost a race (U1)", rule="U1"), 409, "CONFLICT"),
    (StorageError("the disk is full"), 503, "SERVICE_UNAVAILABLE"),
]


@pytest.mark.parametrize(("error", "status", "category"), EXPECTED, ids=lambda v: getattr(v, "code", str(v)))
def test_every_error_is_hubspots_body_with_its_status(error: ThreadingError, status: int, category: str) -> None:
    body = hs.error_to_json(error, correlation_id=CORRELATION)
    ERROR_SCHEMA.validate(body)
    assert hs.http_status(error) == status
    assert (body["status"], body["category"], body["subCategory"]) == ("error", category, error.code)
    assert (body["message"], body["correlationId"]) == (error.message, CORRELATION)
    [detail] = body["errors"]
    assert detail.get("in") == error.field and detail["code"] == error.code
    assert detail.get("context", {}).get("rule") == ([error.rule] if error.rule else None)


def test_the_value_is_shown_shortened_in_the_context() -> None:
    error = ValidationError("text is too long (V5)", field="text", value="x" * 100_000, rule="V5")
    body = hs.error_to_json(error, correlation_id=str(uuid.UUID(int=1)))
    ERROR_SCHEMA.validate(body)
    [shown] = body["errors"][0]["context"]["value"]
    assert len(shown) < 1_000


@pytest.mark.parametrize("correlation_id", ["", "not-a-uuid", CORRELATION[:-1], CORRELATION + "0", 42])
def test_a_correlation_id_must_be_a_uuid(correlation_id: object) -> None:
    with pytest.raises(ValidationError) as raised:
        hs.error_to_json(ValidationError("x"), correlation_id=correlation_id)  # type: ignore[arg-type]
    assert raised.value.field == "correlationId"


@settings(max_examples=200)
@given(body=publish_message_bodies("account-1"))
def test_whatever_a_hostile_body_is_refused_with_renders_as_hubspots_error(body: dict[str, object]) -> None:
    try:
        hs.parse_publish_message(body)
    except ThreadingError as error:
        ERROR_SCHEMA.validate(hs.error_to_json(error, correlation_id=CORRELATION))
        assert 400 <= hs.http_status(error) < 600
