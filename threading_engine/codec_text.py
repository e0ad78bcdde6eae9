"""JSON text written out for the values stored with every message (its message and its events).

``codec.dumps(codec.to_primitive(value))`` builds a dict per value and walks it again to encode it. For the values
every publish stores the text is written out directly instead, with the C string encoder ``dumps`` itself uses, so
the text is the same to the byte (``tests/test_codec.py`` checks it). :mod:`codec` decides when these apply;
every name here answers only for the classes it was written for.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

import attrs

from .attachments import Attachment
from .events import EVENT_TYPES, Event, ThreadEvent
from .model import Message, Participant


def field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(kind))


def _quoted(value: str | None) -> str:
    # A StrEnum member is a str: its text is its value, as ``_enum_value`` gives it.
    return "null" if value is None else encode_basestring(value)


def _participant_text(participant: Participant) -> str:
    identifier, name = participant.delivery_identifier, participant.name
    return (
        f'{{"delivery_identifier":[{encode_basestring(identifier.type)},{encode_basestring(identifier.value)}],'
        f'"name":{"null" if name is None else encode_basestring(name)}}}'
    )


def _participants_text(participants: tuple[Participant, ...]) -> str:
    # One participant, nearly always: its text written here, without a call, a list comprehension and a join.
    if len(participants) == 1:
        identifier, name = participants[0].delivery_identifier, participants[0].name
        return (
            f'{{"delivery_identifier":[{encode_basestring(identifier.type)},{encode_basestring(identifier.value)}],'
            f'"name":{"null" if name is None else encode_basestring(name)}}}'
        )
    return ",".join([_participant_text(p) for p in participants])


def _attachments_text(attachments: tuple[Attachment, ...]) -> str:
    return ",".join(
        [f'{{"type":{encode_basestring(a.type)},"document":{encode_basestring(a.document)}}}' for a in attachments]
    )


def message_text(value: Message, timestamp_text: str, received_at_text: str) -> str:
    # Each optional field is quoted inline rather than through ``_quoted``: a call per field, on every message.
    integration, idempotency_id = value.integration_thread_id, value.integration_idempotency_id
    status, status_error, actor_id = value.status, value.status_error, value.actor_id
    rich_text, in_reply_to_id = value.rich_text, value.in_reply_to_id
    return (
        f'{{"id":{encode_basestring(value.id)},"thread_id":{encode_basestring(value.thread_id)},'
        f'"channel_account_id":{encode_basestring(value.channel_account_id)},'
        f'"direction":{encode_basestring(value.direction)},'
        f'"senders":[{_participants_text(value.senders)}],"recipients":[{_participants_text(value.recipients)}],'
        f'"text":{encode_basestring(value.text)},"timestamp":"{timestamp_text}",'
        f'"received_at":"{received_at_text}","origin":{encode_basestring(value.origin)},'
        f'"integration_thread_id":{"null" if integration is None else encode_basestring(integration)},'
        f'"integration_idempotency_id":{"null" if idempotency_id is None else encode_basestring(idempotency_id)},'
        f'"status":{"null" if status is None else encode_basestring(status)},'
        f'"status_error":{"null" if status_error is None else encode_basestring(status_error)},'
        f'"attachments":[{_attachments_text(value.attachments) if value.attachments else ""}],'
        f'"actor_id":{"null" if actor_id is None else encode_basestring(actor_id)},'
        f'"rich_text":{"null" if rich_text is None else encode_basestring(rich_text)},'
        f'"in_reply_to_id":{"null" if in_reply_to_id is None else encode_basestring(in_reply_to_id)}}}'
    )


def _flat_event_fields(kind: type[Event]) -> tuple[tuple[str, str], ...]:
    """(attribute, its JSON key with quotes and colon) for each field of an event class, in attrs order."""
    fields = _EVENT_FIELDS.get(kind)
    if fields is None:
        fields = _event_fields(kind)
    return fields


def _event_fields(kind: type[Event]) -> tuple[tuple[str, str], ...]:
    return tuple((name, f"{encode_basestring(name)}:") for name in field_names(kind))


_EVENT_FIELDS: dict[type[Event], tuple[tuple[str, str], ...]] = {
    kind: _event_fields(kind) for kind in EVENT_TYPES.values()
}


def _flat_event_text(event: Event) -> str | None:
    """The event's JSON if every field is text or null (every thread and ticket event), else ``None``."""
    parts = []
    for name, prefix in _flat_event_fields(type(event)):
        field = getattr(event, name)
        if field is not None and not isinstance(field, str):
            return None
        parts.append(prefix + _quoted(field))
    parts.append(f'"type":{encode_basestring(event.type)}')
    return "{" + ",".join(parts) + "}"


# What reads an event's fields at once (as ``Any``: whether each is text is known only once it is quoted).
_FieldsGetter = Callable[[Event], tuple[Any, ...]]


def _text_fields_template(kind: type[Event]) -> tuple[_FieldsGetter, str]:
    """What reads an event class's fields at once, and its JSON as a ``%`` template that takes each field's
    quoted text in turn."""
    fields = _EVENT_FIELDS[kind]
    parts = [prefix.replace("%", "%%") + "%s" for _, prefix in fields]
    parts.append(f'"type":{encode_basestring(kind.type)}'.replace("%", "%%"))
    return operator.attrgetter(*(name for name, _ in fields)), "{" + ",".join(parts) + "}"


# The thread and ticket events (one is stored with every message, and all their fields are text): their JSON, when
# no field is ``None``, is one ``%`` formatting of their fields' quoted texts. (Each has two fields at least, so
# its ``attrgetter`` gives a tuple.) Any other event, or one with a ``None``, is written by
# :func:`_flat_event_text` or the generic encoder.
_TEXT_FIELDS_TEMPLATES: dict[type[Event], tuple[_FieldsGetter, str]] = {
    kind: _text_fields_template(kind)
    for kind in EVENT_TYPES.values()
    if issubclass(kind, ThreadEvent) and len(_EVENT_FIELDS[kind]) >= 2
}


def event_text(event: Event) -> str | None:
    """The event's JSON (its fields, then ``type``) if every field is text or null, else ``None``."""
    template = _TEXT_FIELDS_TEMPLATES.get(type(event))
    if template is not None:
        fields = template[0](event)
        if None not in fields:
            try:
                return template[1] % tuple(map(encode_basestring, fields))
            except TypeError:  # a field that is not text: encode_basestring takes nothing else
                pass
    return _flat_event_text(event)
