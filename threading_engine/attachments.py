"""Message attachments (V8): HubSpot's seven attachment types, checked for shape and kept as given.

An attachment plays no part in threading: the engine checks its shape against HubSpot's publish schema, keeps
it as canonical JSON text (keys sorted, compact) so that every store keeps and gives back the same value, and
renders it back. Only an agent's message is held to the channel's capabilities (``check_agent_attachments``).
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .errors import NotAllowedError, ValidationError
from .storable import shown, text_problem

if TYPE_CHECKING:  # the model holds attachments, so this module cannot import it at run time
    from .model import Capabilities


class AttachmentType(enum.StrEnum):
    FILE = "FILE"
    LOCATION = "LOCATION"
    CONTACT = "CONTACT"
    UNSUPPORTED_CONTENT = "UNSUPPORTED_CONTENT"
    MESSAGE_HEADER = "MESSAGE_HEADER"
    QUICK_REPLIES = "QUICK_REPLIES"
    SOCIAL_MEDIA_METADATA = "SOCIAL_MEDIA_METADATA"


@attrs.frozen
class Attachment:
    """One attachment: its type, and HubSpot's attachment object as canonical JSON text (``type`` included)."""

    type: AttachmentType
    document: str

    def body(self) -> dict[str, Any]:
        """HubSpot's attachment object."""
        loaded: dict[str, Any] = json.loads(self.document)
        return loaded


MAX_ATTACHMENTS = 100
MAX_ATTACHMENT_TEXT = 8_192  # each string in an attachment: URLs, names, labels, descriptions
MAX_INT64 = 2**63 - 1

# The shapes of HubSpot's publish schema (``ChannelIntegrationMessageEgg.attachments``), with the keys its
# rendered messages add (a file's ``name`` and ``url``, the quick replies' two flags). A shape maps each key to
# its kind; ``_REQUIRED`` names the keys an object must have.
_Shape = Mapping[str, object]
_ADDRESS_TYPES = ("HOME", "WORK")
_CONTACT_PROFILE: _Shape = {
    "addresses": (
        "list",
        {k: "string" for k in ("city", "country", "countryCode", "state", "street", "zip")}
        | {"type": ("enum", _ADDRESS_TYPES)},
    ),
    "emails": ("list", {"email": "string", "type": ("enum", _ADDRESS_TYPES)}),
    "phones": ("list", {"phone": "string", "type": ("enum", ("CELL", "HOME", "MAIN", "WORK"))}),
    "urls": ("list", {"url": "string", "type": ("enum", _ADDRESS_TYPES)}),
    "name": ("object", {k: "string" for k in ("firstName", "lastName", "middleName", "prefix", "suffix")}),
    "org": ("object", {k: "string" for k in ("company", "department", "title")}),
}
_SOCIAL_MEDIA_TYPES = (
    "ARTICLE",
    "AUDIO",
    "CAROUSEL",
    "DOCUMENT",
    "GIF",
    "LINK",
    "NONE",
    "PHOTO",
    "POLL",
    "STORY",
    "VIDEO",
)
_SHAPES: dict[AttachmentType, _Shape] = {
    AttachmentType.FILE: {
        "fileId": "string",
        "fileUsageType": ("enum", ("AUDIO", "IMAGE", "OTHER", "STICKER", "VOICE_RECORDING")),
        "name": "string",
        "url": "string",
    },
    AttachmentType.LOCATION: {
        "latitude": "latitude",
        "longitude": "longitude",
        "address": "string",
        "name": "string",
        "url": "string",
    },
    AttachmentType.CONTACT: {"contactProfile": ("object", _CONTACT_PROFILE)},
    AttachmentType.UNSUPPORTED_CONTENT: {},
    AttachmentType.MESSAGE_HEADER: {"fileId": "int64", "text": "string"},
    AttachmentType.QUICK_REPLIES: {
        "quickReplies": ("list", {"label": "string", "value": "string", "valueType": ("enum", ("TEXT", "URL"))}),
        "allowMultiSelect": "boolean",
        "allowUserInput": "boolean",
    },
    AttachmentType.SOCIAL_MEDIA_METADATA: {
        "socialMetadata": (
            "object",
            {k: "string" for k in ("description", "id", "mediaTitle", "mediaUrl", "mediaUrlString", "thumbnailUrl")}
            | {"mediaType": ("enum", _SOCIAL_MEDIA_TYPES)},
        )
    },
}
_REQUIRED: dict[int, frozenset[str]] = {
    id(_SHAPES[AttachmentType.FILE]): frozenset({"fileId"}),
    id(_SHAPES[AttachmentType.LOCATION]): frozenset({"latitude", "longitude"}),
    id(_SHAPES[AttachmentType.CONTACT]): frozenset({"contactProfile"}),
    id(_SHAPES[AttachmentType.QUICK_REPLIES]): frozenset({"quickReplies"}),
    id(_SHAPES[AttachmentType.SOCIAL_MEDIA_METADATA]): frozenset({"socialMetadata"}),
    id(_CONTACT_PROFILE): frozenset({"addresses", "emails", "phones", "urls"}),
}
_REQUIRED_IN_LISTS = {"emails": "email", "phones": "phone", "urls": "url", "quickReplies": "value"}


def _fail(field: str, value: object, problem: str) -> ValidationError:
    return ValidationError(f"{field} {shown(value)} {problem} (V8)", field=field, value=value, rule="V8")


def _check_value(value: object, kind: object, field: str, key: str) -> None:
    if kind == "string":
        if not isinstance(value, str):
            raise _fail(field, value, "is not a string")
        problem = text_problem(value, MAX_ATTACHMENT_TEXT)
        if problem is not None:
            raise _fail(field, value, problem)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(field, value, "is not a boolean")
    elif kind == "int64":
        if not isinstance(value, int) or isinstance(value, bool) or not -MAX_INT64 - 1 <= value <= MAX_INT64:
            raise _fail(field, value, "is not a 64-bit integer")
    elif kind in ("latitude", "longitude"):
        limit = 90 if kind == "latitude" else 180
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise _fail(field, value, "is not a number")
        if not -limit <= value <= limit:
            raise _fail(field, value, f"is not a {kind} from -{limit} to {limit}")
    elif isinstance(kind, tuple) and kind[0] == "enum":
        if value not in kind[1]:
            raise _fail(field, value, f"is not one of {list(kind[1])}")
    elif isinstance(kind, tuple) and kind[0] == "object":
        _check_object(value, kind[1], field)
    elif isinstance(kind, tuple) and kind[0] == "list":
        if not isinstance(value, list):
            raise _fail(field, value, "is not a list")
        if len(value) > MAX_ATTACHMENTS:
            raise _fail(field, f"{len(value)} entries", f"holds more than {MAX_ATTACHMENTS}")
        for index, item in enumerate(value):
            _check_object(item, kind[1], f"{field}[{index}]", _REQUIRED_IN_LISTS.get(key))


def _check_object(value: object, shape: _Shape, field: str, required_key: str | None = None) -> None:
    if not isinstance(value, dict):
        raise _fail(field, value, "is not a JSON object")
    required = _REQUIRED.get(id(shape), frozenset()) | ({required_key} if required_key else set())
    for key in sorted(required - value.keys()):
        raise _fail(f"{field}.{key}", None, "is required")
    for key, item in value.items():
        if key not in shape:
            raise _fail(f"{field}.{key}", item, "is not a field of this attachment")
        _check_value(item, shape[key], f"{field}.{key}", key)


def parse_attachment(value: object, field: str) -> Attachment:
    """HubSpot's attachment object, checked for shape (V8), as an :class:`Attachment`."""
    if isinstance(value, Attachment):
        value = _loaded(value, field)
    if not isinstance(value, dict):
        raise _fail(field, value, "is not a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in AttachmentType.__members__:
        raise _fail(f"{field}.type", kind, f"is not one of {[t.value for t in AttachmentType]}")
    attachment_type = AttachmentType(kind)
    _check_object({k: v for k, v in value.items() if k != "type"}, _SHAPES[attachment_type], field)
    document = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Attachment(type=attachment_type, document=document)


def _loaded(attachment: Attachment, field: str) -> object:
    try:
        return json.loads(attachment.document)
    except (TypeError, ValueError, RecursionError):
        raise _fail(field, attachment.document, "is not an attachment's JSON text") from None


def check_attachments(value: object, field: str = "attachments") -> tuple[Attachment, ...]:
    """A list of attachments, each checked for shape (V8); what is already canonical is handed back as is."""
    if isinstance(value, tuple) and not value:
        return value
    if not isinstance(value, list | tuple):
        raise _fail(field, value, "is not a list")
    if len(value) > MAX_ATTACHMENTS:
        raise _fail(field, f"{len(value)} attachments", f"holds more than {MAX_ATTACHMENTS}")
    checked = tuple(parse_attachment(item, f"{field}[{index}]") for index, item in enumerate(value))
    return value if isinstance(value, tuple) and checked == value else checked


def check_agent_attachments(attachments: tuple[Attachment, ...], capabilities: Capabilities) -> None:
    """V8: an agent may send only the types in ``outgoingAttachmentTypes``, and at most
    ``maxFileAttachmentCount`` files. (A file is a HubSpot file id: its MIME type and size are HubSpot's to
    know, so the MIME and size limits are kept but cannot be checked here.)"""
    allowed = capabilities.outgoing_attachment_types
    for index, attachment in enumerate(attachments):
        if attachment.type.value not in allowed:
            raise NotAllowedError(
                f"attachments[{index}].type {attachment.type.value!r} is not one of the channel's "
                f"outgoingAttachmentTypes {list(allowed)} (V8)",
                field=f"attachments[{index}].type",
                value=attachment.type.value,
                rule="V8",
            )
    limit = capabilities.max_file_attachment_count
    files = sum(1 for attachment in attachments if attachment.type is AttachmentType.FILE)
    if limit is not None and files > limit:
        raise NotAllowedError(
            f"attachments holds {files} files, more than the channel's maxFileAttachmentCount {limit} (V8)",
            field="attachments",
            value=files,
            rule="V8",
        )


def attachment_to_json(attachment: Attachment) -> dict[str, Any]:
    """HubSpot's rendered attachment: what was given, with the keys HubSpot's rendered shapes require and the
    publish shapes leave optional (a file's ``fileUsageType``, ``OTHER``; the quick replies' two flags, false)."""
    body = attachment.body()
    if attachment.type is AttachmentType.FILE:
        body.setdefault("fileUsageType", "OTHER")
    elif attachment.type is AttachmentType.QUICK_REPLIES:
        body.setdefault("allowMultiSelect", False)
        body.setdefault("allowUserInput", False)
    return body


__all__ = [
    "Attachment",
    "AttachmentType",
    "attachment_to_json",
    "check_agent_attachments",
    "check_attachments",
    "parse_attachment",
]
