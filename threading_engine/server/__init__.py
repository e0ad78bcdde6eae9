"""``threading-engine serve``: a local HubSpot-compatible Custom Channels service around the engine.

Needs the ``server`` extra (Starlette, uvicorn, httpx). The engine makes every decision; this package is the
HTTP edge: HubSpot's paths, bodies, status codes and error body; bearer tokens mapped to portals; a webhook
dispatcher that signs as HubSpot signs; a manual clock for testing the 24-hour window. ``create_app`` gives
the ASGI application; ``verify_signature`` is for integrators checking webhooks on their side.

Importing this package loads no web framework (``threading-engine`` lists ``serve`` without the extra):
``create_app`` and ``ServiceConfig`` are imported from ``.app`` when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify_signature

if TYPE_CHECKING:
    from .app import ServiceConfig, create_app

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "ServiceConfig", "create_app", "sign", "verify_signature"]


def __getattr__(name: str) -> Any:
    if name in ("ServiceConfig", "create_app"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
