"""The V1 and V3 rules: a channel's capabilities, its URLs and its description, checked before anything is
written, each failure a :class:`ValidationError` naming the field, the value and the rule."""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from .identifiers import DeliveryIdentifier, IdentifierType
from .model import Capabilities, ThreadingModel
from .storable import MAX_CAPABILITY_ENTRY_LENGTH, MAX_COUNT, MAX_LIST_LENGTH, MAX_URL_LENGTH, is_invisible
from .validation import check_text, fail

MAX_DESCRIPTION = 1000
_BOOLEAN_CAPABILITIES = frozenset(
    {"allow_outgoing_messages", "allow_conversation_start", "allow_multiple_recipients", "allow_inline_images"}
)
_LIST_CAPABILITIES = frozenset({"rich_text", "outgoing_attachment_types", "allowed_file_attachment_mime_types"})
_COUNT_CAPABILITIES = frozenset(
    {"max_file_attachment_count", "max_file_attachment_size_bytes", "max_total_file_attachment_size_bytes"}
)


def check_url(value: object, field: str, *, schemes: tuple[str, ...], rule: str) -> str | None:
    if value is None:
        return None
    text = check_text(value, field, rule=rule, limit=MAX_URL_LENGTH)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - read for its check: a port that is not a number from 0 to 65535 raises
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in schemes
        or not parts.hostname
        or not (text.isprintable() and " " not in text if text.isascii() else not any(map(is_invisible, text)))
    ):
        raise fail(field, value, f"is not an absolute {' or '.join(schemes)} URL", rule)
    return text


def check_logo_url(value: object) -> str | None:
    return check_url(value, "channelLogoUrl", schemes=("https",), rule="V3")


def check_webhook_url(value: object) -> str | None:
    # http is allowed too: integrations under test listen on plain-HTTP local servers.
    return check_url(value, "webhookUrl", schemes=("https", "http"), rule="V3")


def check_redirect_url(value: object) -> str | None:
    # http is allowed too, as for webhooks: integrations under test listen on plain-HTTP local servers.
    return check_url(value, "channelAccountConnectionRedirectUrl", schemes=("https", "http"), rule="V3")


def check_description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("channelDescription", value, "is not a string", "V3")
    if len(value) > MAX_DESCRIPTION:
        raise fail("channelDescription", f"{value[:20]}...", f"is longer than {MAX_DESCRIPTION} characters", "V3")
    return check_text(value, "channelDescription", rule="V3", limit=MAX_DESCRIPTION)


def check_capabilities(capabilities: object) -> Capabilities:
    """V1 and the type checks of the other capability keys; returns them in canonical form.

    Lists are accepted where tuples are stored, and type or model names as strings, because that is how
    people write them; duplicates in ``deliveryIdentifierTypes`` are dropped.
    """
    if not isinstance(capabilities, Capabilities):
        raise fail("capabilities", capabilities, "is not a Capabilities value", "V1")
    field = "capabilities.deliveryIdentifierTypes"
    types = capabilities.delivery_identifier_types
    if not isinstance(types, tuple | list) or not types:
        raise fail(field, types, "must be a non-empty list of delivery identifier type names", "V1")
    if len(types) > MAX_LIST_LENGTH:
        raise fail(field, types, f"holds more than {MAX_LIST_LENGTH:,} entries", "V1")
    canonical_types = tuple(dict.fromkeys(_identifier_type(item, field) for item in types))
    model = capabilities.threading_model
    if not isinstance(model, ThreadingModel):
        if model not in tuple(ThreadingModel):
            raise fail(
                "capabilities.threadingModel", model, "is not INTEGRATION_THREAD_ID or DELIVERY_IDENTIFIER", "V1"
            )
        model = ThreadingModel(model)
    lists: dict[str, tuple[str, ...]] = {}
    for attribute in attrs.fields(Capabilities):
        value = getattr(capabilities, attribute.name)
        name = f"capabilities.{_camel(attribute.name)}"
        if attribute.name in _BOOLEAN_CAPABILITIES and not isinstance(value, bool):
            raise fail(name, value, "is not a boolean", "V1")
        if attribute.name in _LIST_CAPABILITIES:
            lists[attribute.name] = _capability_list(value, name)
        if (
            attribute.name in _COUNT_CAPABILITIES
            and value is not None
            and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT)
        ):
            raise fail(name, value, f"is not an integer from 0 to {MAX_COUNT:,}", "V1")
    canonical = attrs.evolve(
        capabilities,
        delivery_identifier_types=canonical_types,
        threading_model=model,
        rich_text=lists["rich_text"],
        outgoing_attachment_types=lists["outgoing_attachment_types"],
        allowed_file_attachment_mime_types=lists["allowed_file_attachment_mime_types"],
    )
    return capabilities if canonical == capabilities else canonical


def _capability_list(value: object, field: str) -> tuple[str, ...]:
    if not (isinstance(value, tuple | list) and all(isinstance(v, str) for v in value)):
        raise fail(field, value, "is not a list of strings", "V1")
    if len(value) > MAX_LIST_LENGTH:
        raise fail(field, value, f"holds more than {MAX_LIST_LENGTH:,} entries", "V1")
    for index, entry in enumerate(value):
        check_text(entry, f"{field}[{index}]", rule="V1", limit=MAX_CAPABILITY_ENTRY_LENGTH)
    return tuple(value)


def _identifier_type(item: object, field: str) -> IdentifierType:
    if isinstance(item, IdentifierType):
        return item
    if isinstance(item, str) and item in tuple(IdentifierType):
        return IdentifierType(item)
    if isinstance(item, DeliveryIdentifier | dict):
        raise fail(
            field,
            item,
            'holds a {type, value} identifier: a common mistake. It takes type names, such as ["HS_PHONE_NUMBER"]',
            "V1",
        )
    known = ", ".join(t.value for t in IdentifierType)
    raise fail(field, item, f"is not a delivery identifier type name (one of {known})", "V1")


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)
