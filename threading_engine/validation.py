"""The V rules: checks that need no stored state, and the few that need only the channel.

Each check raises a :class:`ValidationError` that names the field, the value and the rule, before anything is
written, so a rejected command leaves the store unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeGuard

from .errors import NotAllowedError, NotFoundError, ValidationError
from .identifiers import DeliveryIdentifier, IdentifierType, KnownSpellings, canonical_value, is_known_canonical
from .model import Channel, ChannelAccount, Participant
from .storable import (
    MAX_ID_LENGTH,
    MAX_LIST_LENGTH,
    MAX_NAME_LENGTH,
    fixed_offset,
    id_problem,
    is_id,
    is_plain_id,
    is_plain_moment,
    is_plain_text,
    moment_problem,
    shown,
    text_problem,
    time_text,
)


def fail(field: str, value: object, problem: str, rule: str) -> ValidationError:
    """A ValidationError whose message reads "<field> <value> <problem> (<rule>)", the value shortened if huge."""
    return ValidationError(f"{field} {shown(value)} {problem} ({rule})", field=field, value=value, rule=rule)


def not_found(field: str, value: object, names: str, rule: str | None, problem: str | None = None) -> NotFoundError:
    """A NotFoundError: ``value`` of ``field`` names no ``names``; ``problem`` says why no stored id can be it."""
    why = "" if problem is None else f": it {problem}"
    where = "" if rule is None else f" ({rule})"
    return NotFoundError(f"{field} {shown(value)} names no {names}{why}{where}", field=field, value=value, rule=rule)


def check_reference(value: object, field: str, names: str, rule: str | None) -> str:
    """An id a caller passes to name something stored. A value that cannot be an id names nothing: NOT_FOUND,
    decided here, so that no store is asked about it (and every store answers alike)."""
    if is_plain_id(value, MAX_ID_LENGTH):
        return value  # type: ignore[return-value]  # is_plain_id checked that it is a str
    problem = id_problem(value, MAX_ID_LENGTH) if isinstance(value, str) else "is not a string"
    if problem is not None:
        raise not_found(field, value, names, rule, problem)
    return value  # type: ignore[return-value]  # a str, checked above


def check_text(value: object, field: str, *, rule: str = "V5", allow_empty: bool = True, limit: int) -> str:
    """A string of at most ``limit`` characters, valid Unicode; not blank unless ``allow_empty``."""
    if not isinstance(value, str):
        raise fail(field, value, "is not a string", rule)
    problem = text_problem(value, limit)
    if problem is not None:
        raise fail(field, value, problem, rule)
    if not allow_empty and not value.strip():
        raise fail(field, value, "is empty", rule)
    return value


def check_optional_text(value: object, field: str, *, rule: str = "V5", limit: int = MAX_NAME_LENGTH) -> str | None:
    return None if value is None else check_text(value, field, rule=rule, allow_empty=False, limit=limit)


def check_id(value: object, field: str, *, rule: str, limit: int = MAX_ID_LENGTH) -> str:
    """An id the engine will store and index: see ``storable.id_problem``."""
    if is_plain_id(value, limit):
        return value  # type: ignore[return-value]  # is_plain_id checked that it is a str
    if not isinstance(value, str):
        raise fail(field, value, "is not a string", rule)
    problem = id_problem(value, limit)
    if problem is not None:
        raise fail(field, value, problem, rule)
    return value


def check_moment(value: object, field: str, rule: str = "V5") -> datetime:
    """V5: an aware time with a UTC form, returned with a fixed offset (see ``storable``).

    Naive datetimes are rejected everywhere, because a naive time cannot be put on the 24 h clock.
    """
    if is_plain_moment(value):
        return value  # type: ignore[return-value]  # is_plain_moment checked that it is a datetime
    if not isinstance(value, datetime):
        raise fail(field, value, "is not a datetime", rule)
    problem = moment_problem(value)
    if problem is not None:
        raise fail(field, time_text(value), problem, rule)
    return fixed_offset(value)


def check_clock(now: object) -> datetime:
    """The engine's time (R4's "now"), which it stores: it must be a storable time like any other (V5)."""
    if isinstance(now, datetime) and now.tzinfo is None:
        raise ValidationError(
            f"clock returned naive time {now.isoformat()}: the engine's clock must be timezone-aware (V5)",
            field="clock",
            value=now,
            rule="V5",
        )
    return check_moment(now, "clock")


def checked_ids(factory: Callable[[str], str]) -> Callable[[str], str]:
    """``factory`` with every id it makes checked: an id factory of the caller's own must make ids every store
    can keep and index (``storable``), as the built-in ones do."""

    def made(kind: str) -> str:
        made_id = factory(kind)
        if not is_id(made_id):
            raise ValidationError(
                f"ids {shown(made_id)}, made for a new {kind}, is not an id every store can keep: at most "
                f"{MAX_ID_LENGTH} characters, no control character, valid Unicode",
                field="ids",
                value=made_id,
            )
        return made_id

    return made


def check_list(values: object, field: str, what: str) -> list[Any]:
    """``values`` as a list, from any iterable but a string; else a ValidationError naming ``field``."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError(f"{field} {shown(values)} is not a list of {what}", field=field, value=values)
    return list(values)


def check_identifier(identifier: object, field: str, spellings: KnownSpellings | None = None) -> DeliveryIdentifier:
    """Re-validate an identifier built without :meth:`DeliveryIdentifier.of`, returning its canonical form;
    ``spellings`` is an engine's memo of the spellings it checked."""
    if not isinstance(identifier, DeliveryIdentifier):
        raise fail(field, identifier, "is not a delivery identifier {type, value}", "V4")
    return DeliveryIdentifier.of(identifier.type, identifier.value, field=field, spellings=spellings)


def check_participants(
    participants: object, field: str, spellings: KnownSpellings | None = None
) -> tuple[Participant, ...]:
    """Canonical participants (V4), each a :class:`Participant` with a valid identifier.

    With ``spellings``, an engine's memo, a tuple known to be canonical already comes back as it is, so that a
    caller can tell by identity that nothing changed.
    """
    if spellings is not None and are_known_canonical(participants, spellings):
        return participants
    if not isinstance(participants, tuple | list):
        raise fail(field, participants, "is not a list of participants", "V5")
    if len(participants) > MAX_LIST_LENGTH:
        raise fail(field, participants, f"holds more than {MAX_LIST_LENGTH:,} participants", "V5")
    result = []
    unchanged = True
    for index, participant in enumerate(participants):
        known = _plain_participant(participant, spellings)
        if known is not None:
            unchanged = unchanged and known is participant
            result.append(known)
            continue
        unchanged = False
        where = f"{field}[{index}]"
        if not isinstance(participant, Participant):
            raise fail(where, participant, "is not a participant {deliveryIdentifier, name?}", "V5")
        original = participant.delivery_identifier
        identifier = check_identifier(original, f"{where}.deliveryIdentifier", spellings)
        name = check_optional_text(participant.name, f"{where}.name")
        # The type by identity: a plain string equals its IdentifierType, but only the enum is canonical.
        canonical = identifier.type is original.type and identifier.value == original.value
        result.append(
            participant
            if canonical and name == participant.name
            else Participant(delivery_identifier=identifier, name=name)
        )
    # The tuple itself when nothing changed, so that a caller can tell by identity (as with ``spellings`` above).
    return participants if unchanged and type(participants) is tuple else tuple(result)


def _plain_participant(participant: object, spellings: KnownSpellings | None) -> Participant | None:
    """The canonical form of a plain participant that passes every check, found without the field names an error
    would need (each a string formatted per participant); ``None`` for any other, which is then checked in full
    and, if wrong, rejected with those names."""
    if type(participant) is not Participant:
        return None
    original = participant.delivery_identifier
    if type(original) is not DeliveryIdentifier or original.type.__class__ is not IdentifierType:
        return None
    name = participant.name
    try:
        value = canonical_value(original.type, original.value, field="", spellings=spellings)
        if name is not None:
            check_text(name, "", allow_empty=False, limit=MAX_NAME_LENGTH)
    except ValidationError:
        return None
    if value == original.value:
        return participant
    return Participant(delivery_identifier=DeliveryIdentifier(type=original.type, value=value), name=name)


def are_known_canonical(participants: object, spellings: KnownSpellings) -> TypeGuard[tuple[Participant, ...]]:
    """Whether :func:`check_participants` would return ``participants`` as they are, decided without building
    anything from what ``spellings`` knows; ``False`` only means "not known", and the caller then checks in full.
    """
    if type(participants) is not tuple or len(participants) > MAX_LIST_LENGTH:
        return False
    for participant in participants:
        if not isinstance(participant, Participant) or not is_known_canonical(
            participant.delivery_identifier, spellings
        ):
            return False
        name = participant.name
        if name is not None and not (is_plain_text(name, MAX_NAME_LENGTH) and name.strip()):
            return False
    return True


def check_types_allowed(participants: Iterable[Participant], channel: Channel, field: str, rule: str) -> None:
    """V2/V5: every identifier's type must be one the channel declared."""
    allowed = channel.capabilities.delivery_identifier_types
    for participant in participants:  # run for every message: the position is found only for the error
        if participant.delivery_identifier.type not in allowed:
            for index, wrong in enumerate(participants):
                identifier = wrong.delivery_identifier
                if identifier.type not in allowed:
                    raise fail(
                        f"{field}[{index}].deliveryIdentifier.type",
                        identifier.type.value,
                        f"is not one of the channel's deliveryIdentifierTypes {[t.value for t in allowed]}",
                        rule,
                    )


def check_takes_messages(account: ChannelAccount, channel: Channel) -> None:
    """A1: an archived channel or account takes no messages; V5: nor does an account with ``authorized: false``."""
    if channel.archived:
        raise NotAllowedError(
            f"channel {shown(channel.id)} is archived (A1)", field="channelId", value=channel.id, rule="A1"
        )
    if account.archived:
        raise NotAllowedError(
            f"channelAccountId {shown(account.id)} is archived (A1)",
            field="channelAccountId",
            value=account.id,
            rule="A1",
        )
    if not account.authorized:
        raise NotAllowedError(
            f"channelAccountId {shown(account.id)} is not authorized (V5)",
            field="channelAccountId",
            value=account.id,
            rule="V5",
        )


_MAX_PORTAL_ID_DIGITS = 20


def check_portal_id(portal_id: object) -> str:
    """``portal_id`` if it is a HubSpot portal (account) id: a string of ASCII digits (P1), else a
    :class:`ValidationError` naming ``portalId``."""
    if not (
        isinstance(portal_id, str)
        and 0 < len(portal_id) <= _MAX_PORTAL_ID_DIGITS
        and portal_id.isascii()
        and portal_id.isdigit()
    ):
        raise ValidationError(
            f"portalId {shown(portal_id)} is not a HubSpot portal id: 1 to {_MAX_PORTAL_ID_DIGITS} digits (P1)",
            field="portalId",
            value=portal_id,
            rule="P1",
        )
    return portal_id


_AGENT_ACTOR = re.compile(r"A-[0-9]{1,20}")


def check_agent_actor(actor_id: object) -> str | None:
    """N1: the agent who sends an agent's message, as HubSpot names agents (``A-`` and up to 20 digits)."""
    if actor_id is None or (isinstance(actor_id, str) and _AGENT_ACTOR.fullmatch(actor_id)):
        return actor_id
    raise fail("senderActorId", actor_id, "is not an agent's actor id (A- and 1 to 20 digits)", "N1")
