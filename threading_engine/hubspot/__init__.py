"""HubSpot's JSON at the engine's edge: request bodies in, commands out; model values and events out as JSON.

The domain knows nothing of JSON. Every function here is pure: parsers take the decoded JSON of a HubSpot
Custom Channels request (camelCase keys) and return a normalized command, or raise a :class:`ValidationError`
naming the camelCase field path, the value and the rule; renderers return JSON-ready dicts shaped as HubSpot
shows the same objects. Parsers check the JSON shape (unknown keys, required fields, types that must be
converted) and leave the rest of the V rules to :func:`rules.normalize`, which they call last.
"""

from ..model import DEFAULT_PORTAL_ID
from ..validation import check_portal_id
from .error_body import error_to_json, http_status
from .parsing import (
    parse_capabilities,
    parse_create_account,
    parse_create_channel,
    parse_delivery_identifier,
    parse_participants,
    parse_publish_message,
    parse_reply,
    parse_start_conversation,
    parse_timestamp,
    parse_update_account,
    parse_update_channel,
    parse_update_message_status,
)
from .rendering import (
    Json,
    account_to_json,
    camel_case,
    capabilities_to_json,
    channel_to_json,
    collection_to_json,
    event_to_json,
    format_timestamp,
    identifier_to_json,
    message_to_json,
    participant_to_json,
    status_to_json,
    thread_to_json,
    ticket_to_json,
)
from .staging import connection_url, parse_complete_staging_token, staging_token_to_json

__all__ = [
    "error_to_json",
    "http_status",
    "DEFAULT_PORTAL_ID",
    "check_portal_id",
    "collection_to_json",
    "connection_url",
    "parse_complete_staging_token",
    "staging_token_to_json",
    "Json",
    "account_to_json",
    "camel_case",
    "capabilities_to_json",
    "channel_to_json",
    "event_to_json",
    "format_timestamp",
    "identifier_to_json",
    "message_to_json",
    "parse_capabilities",
    "parse_create_account",
    "parse_create_channel",
    "parse_delivery_identifier",
    "parse_participants",
    "parse_publish_message",
    "parse_reply",
    "parse_start_conversation",
    "parse_timestamp",
    "parse_update_account",
    "parse_update_channel",
    "parse_update_message_status",
    "participant_to_json",
    "status_to_json",
    "thread_to_json",
    "ticket_to_json",
]
