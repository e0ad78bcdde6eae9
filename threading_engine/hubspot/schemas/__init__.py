"""JSON Schemas (draft 2020-12) of the documents HubSpot's Custom Channels and Conversations APIs exchange.

One file per document, named after HubSpot's schema (``PublicConversationsMessage``, ``PublicChannelAccount``,
``ChannelIntegrationMessageEgg``, ...), written from HubSpot's published OpenAPI specifications; the webhook
bodies (``OutgoingChannelMessageCreatedWebhook``, ``ChannelAccountCreatedWebhook``,
``ChannelAccountUpdatedWebhook``), which HubSpot's specifications leave out, and the engine's ``DomainEvent``
are the engine's decisions. Each schema is closed: a key it does not list is an error. The one key HubSpot does
not define that rendered messages, accounts and threads may carry is ``threadingEngine``, which holds the
engine's own facts; webhook bodies never carry it.

Schemas refer to each other by relative ``$ref`` (``"PublicDeliveryIdentifier.json"``) under the base
:data:`SCHEMA_BASE`; :func:`bundled` returns one with everything it refers to embedded, which any draft 2020-12
validator resolves without a registry. Nothing here validates: use a JSON Schema library, for example
``jsonschema.Draft202012Validator(bundled("PublicThread")).validate(document)``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ...errors import NotFoundError

__all__ = ["SCHEMA_BASE", "bundled", "names", "schema"]

SCHEMA_BASE = "https://threading-engine.invalid/hubspot/"
"""The base of every schema's ``$id`` (``.invalid``: an identifier, never fetched)."""

_SUFFIX = ".json"


def names() -> tuple[str, ...]:
    """The names of every shipped schema, sorted (each is a file ``<name>.json`` beside this module)."""
    found = (entry.name for entry in resources.files(__name__).iterdir() if entry.name.endswith(_SUFFIX))
    return tuple(sorted(name.removesuffix(_SUFFIX) for name in found))


def schema(name: str) -> dict[str, Any]:
    """The schema ``name`` as shipped (a new dict on each call), its ``$ref`` to other schemas left relative."""
    if name not in names():
        raise NotFoundError(
            f"name {name!r} is not a shipped schema (see threading_engine.hubspot.schemas.names())",
            field="name",
            value=name,
        )
    text = resources.files(__name__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def bundled(name: str) -> dict[str, Any]:
    """The schema ``name`` with every schema it refers to, directly or not, embedded under ``$defs``.

    Each embedded schema keeps its ``$id``, so the relative references resolve inside the one document
    (JSON Schema 2020-12's compound documents): no registry or file access is needed to validate with it.
    """
    root = schema(name)
    embedded: dict[str, dict[str, Any]] = {}
    pending = sorted(_references(root))
    while pending:
        referred = pending.pop()
        if referred == name or referred in embedded:
            continue
        embedded[referred] = schema(referred)
        pending.extend(sorted(_references(embedded[referred])))
    if embedded:
        root["$defs"] = {**root.get("$defs", {}), **dict(sorted(embedded.items()))}
    return root


def _references(node: object) -> set[str]:
    """The names of the schemas ``node`` refers to: every ``$ref`` in a shipped schema is ``"<name>.json"``."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _references(item)
        return found
    if not isinstance(node, dict):
        return found
    for value in node.values():
        found |= _references(value)
    if "$ref" in node:
        found.add(node["$ref"].removesuffix(_SUFFIX))
    return found
