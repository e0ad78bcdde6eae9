"""HubSpot's v3 webhook signature, for the service that signs and for integrators who verify.

HubSpot signs each webhook request with ``X-HubSpot-Signature-v3``: the base64 of the HMAC-SHA256, keyed by
the app's client secret, of the request's method, its full URI, its raw body and the value of
``X-HubSpot-Request-Timestamp`` (milliseconds since the epoch), concatenated as UTF-8. A receiver rejects a
request whose timestamp is more than five minutes old, so that a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_SECONDS = 300.0


def sign(client_secret: str, method: str, uri: str, body: bytes, timestamp_ms: int | str) -> str:
    """The ``X-HubSpot-Signature-v3`` value of one request."""
    source = method.upper().encode() + uri.encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(client_secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(
    client_secret: str,
    *,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now_ms: int | None = None,
    max_age_seconds: float = MAX_AGE_SECONDS,
) -> bool:
    """Whether a received webhook request was signed with ``client_secret`` and is recent.

    ``uri`` is the full URI the request was sent to (scheme, host, path and query, as the channel's
    ``webhookUrl`` names it), ``body`` the raw bytes received, ``signature`` and ``timestamp`` the values of
    the two headers (``None`` when absent). A timestamp older than ``max_age_seconds`` (or more than that in
    the future) fails, as does anything that is not a whole number of milliseconds.
    """
    if signature is None or timestamp is None or not timestamp.isascii() or not timestamp.isdigit():
        return False
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if abs(now - int(timestamp)) > max_age_seconds * 1000:
        return False
    expected = sign(client_secret, method, uri, body, timestamp)
    return hmac.compare_digest(expected.encode(), signature.encode())
