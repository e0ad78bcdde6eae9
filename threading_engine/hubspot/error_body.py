"""The engine's typed errors as HubSpot's error body and HTTP status, for an edge that speaks HubSpot's API.

HubSpot answers a refused request with ``{status: "error", message, correlationId, category, subCategory?,
errors: [{message, in?, code?, context?}]}`` (its ``Error`` schema). The engine's error code, field, rule and
value map onto it: ``category`` is HubSpot's word for the kind of failure, ``subCategory`` the engine's own
code (SPEC section 7), and the one ``errors[]`` entry names the field (``in``) and carries the rule and the
value (as shown in the message) in its ``context``.
"""

from __future__ import annotations

import re
from typing import Final

from ..errors import (
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
from ..storable import shown
from .rendering import Json

# By class, most specific first: (HTTP status, HubSpot's category).
_STATUS_AND_CATEGORY: Final[tuple[tuple[type[ThreadingError], int, str], ...]] = (
    (ValidationError, 400, "VALIDATION_ERROR"),
    (NotFoundError, 404, "OBJECT_NOT_FOUND"),
    (NotAllowedError, 403, "VALIDATION_ERROR"),
    (ThreadNotOpenError, 409, "CONFLICT"),
    (KeyConflictError, 409, "CONFLICT"),
    (IdempotencyConflictError, 409, "CONFLICT"),
    (WriteConflict, 409, "CONFLICT"),
    (StorageError, 503, "SERVICE_UNAVAILABLE"),
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _status_and_category(error: ThreadingError) -> tuple[int, str]:
    for kind, status, category in _STATUS_AND_CATEGORY:
        if isinstance(error, kind):
            return status, category
    return 500, "INTERNAL_ERROR"


def http_status(error: ThreadingError) -> int:
    """The HTTP status a HubSpot-compatible edge answers ``error`` with: 400 for invalid input, 403 for what a
    channel's capabilities forbid, 404 for an unknown id, 409 for a conflict with the stored state, 503 when
    the store failed (a client may retry, with its idempotency id)."""
    return _status_and_category(error)[0]


def error_to_json(error: ThreadingError, *, correlation_id: str) -> Json:
    """HubSpot's error body for ``error``. ``correlation_id`` identifies the request (a UUID, which the edge
    makes and logs); it is a parameter so that the body is a pure function of its inputs."""
    if not (isinstance(correlation_id, str) and _UUID.fullmatch(correlation_id)):
        raise ValidationError(
            f"correlationId {shown(correlation_id)} is not a UUID", field="correlationId", value=correlation_id
        )
    category = _status_and_category(error)[1]
    detail: Json = {"message": error.message, "code": error.code}
    if error.field is not None:
        detail["in"] = error.field
    context: dict[str, list[str]] = {}
    if error.rule is not None:
        context["rule"] = [error.rule]
    if error.field is not None and error.value is not None:
        context["value"] = [shown(error.value)]
    if context:
        detail["context"] = context
    return {
        "status": "error",
        "message": error.message,
        "correlationId": correlation_id,
        "category": category,
        "subCategory": error.code,
        "errors": [detail],
    }
