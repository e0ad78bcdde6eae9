"""The V rules: checks that need no stored state, and the few that need only the channel.

Each check raises a :class:`ValidationError` that names the field, the value and the rule, before anything is
written, so a rejected command leaves the store unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypeGuard
from urllib.parse import urlsplit

import attrs

from .errors import NotAllowedError, ValidationError
from .identifiers import DeliveryIdentifier, IdentifierType, is_known_canonical
from .model import Capabilities, Channel, ChannelAccount, Participant, ThreadingModel

MAX_DESCRIPTION = 1000
_BOOLEAN_CAPABILITIES = frozenset(
    {"allow_outgoing_messages", "allow_conversation_start", "allow_multiple_recipients", "allow_inline_images"}
)
_LIST_CAPABILITIES = frozenset({"rich_text", "outgoing_attachment_types", "allowed_file_attachment_mime_types"})
_COUNT_CAPABILITIES = frozenset(
    {"max_file_attachment_count", "max_file_attachment_size_bytes", "max_total_file_attachment_size_bytes"}
)


def fail(field: str, value: object, problem: str, rule: str) -> ValidationError:
    """A ValidationError whose message reads "<field> <value> <problem> (<rule>)"."""
    return ValidationError(f"{field} {value!r} {problem} ({rule})", field=field, value=value, rule=rule)


def check_text(value: object, field: str, *, rule: str = "V5", allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise fail(field, value, "is not a string", rule)
    if not allow_empty and not value.strip():
        raise fail(field, value, "is empty", rule)
    return value


def check_optional_text(value: object, field: str, *, rule: str = "V5") -> str | None:
    return None if value is None else check_text(value, field, rule=rule, allow_empty=False)


def check_aware(value: object, field: str) -> datetime:
    """V5: naive datetimes are rejected everywhere, because a naive time cannot be put on the 24 h clock."""
    if not isinstance(value, datetime):
        raise fail(field, value, "is not a datetime", "V5")
    if value.tzinfo is None or value.utcoffset() is None:
        raise fail(field, value.isoformat(), "has no timezone offset", "V5")
    return value


def check_url(value: object, field: str, *, schemes: tuple[str, ...], rule: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(field, value, "is not a string", rule)
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc or any(ch.isspace() for ch in value):
        raise fail(field, value, f"is not an absolute {' or '.join(schemes)} URL", rule)
    return value


def check_logo_url(value: object) -> str | None:
    return check_url(value, "channelLogoUrl", schemes=("https",), rule="V3")


def check_webhook_url(value: object) -> str | None:
    # http is allowed too: integrations under test listen on plain-HTTP local servers.
    return check_url(value, "webhookUrl", schemes=("https", "http"), rule="V3")


def check_description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("channelDescription", value, "is not a string", "V3")
    if len(value) > MAX_DESCRIPTION:
        raise fail("channelDescription", f"{value[:20]}...", f"is longer than {MAX_DESCRIPTION} characters", "V3")
    return value


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
            if not (isinstance(value, tuple | list) and all(isinstance(v, str) for v in value)):
                raise fail(name, value, "is not a list of strings", "V1")
            lists[attribute.name] = tuple(value)
        if (
            attribute.name in _COUNT_CAPABILITIES
            and value is not None
            and (not isinstance(value, int) or isinstance(value, bool) or value < 0)
        ):
            raise fail(name, value, "is not a non-negative integer", "V1")
    canonical = attrs.evolve(
        capabilities,
        delivery_identifier_types=canonical_types,
        threading_model=model,
        rich_text=lists["rich_text"],
        outgoing_attachment_types=lists["outgoing_attachment_types"],
        allowed_file_attachment_mime_types=lists["allowed_file_attachment_mime_types"],
    )
    return capabilities if canonical == capabilities else canonical


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


def check_identifier(identifier: object, field: str) -> DeliveryIdentifier:
    """Re-validate an identifier built without :meth:`DeliveryIdentifier.of`, returning its canonical form."""
    if not isinstance(identifier, DeliveryIdentifier):
        raise fail(field, identifier, "is not a delivery identifier {type, value}", "V4")
    return DeliveryIdentifier.of(identifier.type, identifier.value, field=field)


def check_participants(participants: object, field: str) -> tuple[Participant, ...]:
    """Canonical participants (V4), each a :class:`Participant` with a valid identifier.

    A tuple that is canonical already comes back as it is, so that a caller can tell by identity that nothing
    changed.
    """
    if are_known_canonical(participants):
        return participants
    if not isinstance(participants, tuple | list):
        raise fail(field, participants, "is not a list of participants", "V5")
    result = []
    for index, participant in enumerate(participants):
        where = f"{field}[{index}]"
        if not isinstance(participant, Participant):
            raise fail(where, participant, "is not a participant {deliveryIdentifier, name?}", "V5")
        original = participant.delivery_identifier
        identifier = check_identifier(original, f"{where}.deliveryIdentifier")
        name = check_optional_text(participant.name, f"{where}.name")
        # The type by identity: a plain string equals its IdentifierType, but only the enum is canonical.
        canonical = identifier.type is original.type and identifier.value == original.value
        result.append(participant if canonical and name == participant.name else Participant(identifier, name))
    return tuple(result)


def are_known_canonical(participants: object) -> TypeGuard[tuple[Participant, ...]]:
    """Whether :func:`check_participants` would return ``participants`` as they are, decided without building
    anything; ``False`` only means "not known", and the caller then checks in full.
    """
    if type(participants) is not tuple:
        return False
    for participant in participants:
        if not isinstance(participant, Participant) or not is_known_canonical(participant.delivery_identifier):
            return False
        name = participant.name
        if name is not None and not (isinstance(name, str) and name.strip()):
            return False
    return True


def check_types_allowed(participants: Iterable[Participant], channel: Channel, field: str, rule: str) -> None:
    """V2/V5: every identifier's type must be one the channel declared."""
    allowed = channel.capabilities.delivery_identifier_types
    for index, participant in enumerate(participants):
        identifier = participant.delivery_identifier
        if identifier.type not in allowed:
            raise fail(
                f"{field}[{index}].deliveryIdentifier.type",
                identifier.type.value,
                f"is not one of the channel's deliveryIdentifierTypes {[t.value for t in allowed]}",
                rule,
            )


def check_authorized(account: ChannelAccount) -> None:
    """V5: an account with ``authorized: false`` accepts no messages."""
    if not account.authorized:
        raise NotAllowedError(
            f"channelAccountId {account.id!r} is not authorized (V5)",
            field="channelAccountId",
            value=account.id,
            rule="V5",
        )
