"""Documents written from the examples of HubSpot's API reference and guide, each with the schema it is.

HubSpot's reference pages show every field of a request or response with placeholder values (``"<string>"``,
``123``, ``"2023-11-07T05:31:56Z"``); the documents here keep those pages' fields and give them values of the
right kind. The webhook bodies, which HubSpot's reference does not show, follow the deployed webhooks'
envelope. Shared by the schema tests; nothing here is read by the library.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

T = "2023-11-07T05:31:56Z"
SMS = {"type": "HS_PHONE_NUMBER", "value": "+12065550100"}
ALICE = {"type": "HS_PHONE_NUMBER", "value": "+12065550142"}
OPAQUE = {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "visitor-7f3a9c"}

# -- channels (guide: "Register your custom channel"; reference: channels create, get, update, list) -----------

CAPABILITIES: Json = {
    "threadingModel": "DELIVERY_IDENTIFIER",
    "deliveryIdentifierTypes": ["HS_PHONE_NUMBER"],
    "richText": ["HYPERLINK", "TEXT_ALIGNMENT", "BLOCKQUOTE"],
    "allowInlineImages": False,
    "allowOutgoingMessages": True,
    "allowConversationStart": False,
    "allowMultipleRecipients": False,
    "outgoingAttachmentTypes": ["FILE"],
    "allowedFileAttachmentMimeTypes": ["image/png", "image/*"],
    "maxFileAttachmentCount": 1,
    "maxFileAttachmentSizeBytes": 1500000,
    "maxTotalFileAttachmentSizeBytes": 1500000,
}
CHANNEL_CREATE: Json = {
    "name": "Acme SMS",
    "webhookUrl": "https://sms-bridge.acme.example/hubspot/webhook",
    "channelAccountConnectionRedirectUrl": "https://sms-bridge.acme.example/hubspot/connect",
    "channelDescription": "Text messages to and from Acme's support line.",
    "channelLogoUrl": "https://cdn.acme.example/logos/sms.png",
    "capabilities": CAPABILITIES,
}
CHANNEL: Json = {"id": "4321", "createdAt": T, **CHANNEL_CREATE}
CHANNEL_PATCHES: list[Json] = [
    {"capabilities": {**CAPABILITIES, "allowConversationStart": True}},
    {"webhookUrl": "https://sms-bridge.acme.example/hubspot/v2/webhook"},
    {"channelAccountConnectionRedirectUrl": "https://sms-bridge.acme.example/connect", "channelLogoUrl": None},
    {"name": "Acme Text", "channelDescription": None},
]
CHANNELS_PAGE: Json = {"results": [CHANNEL], "total": 12, "paging": {"next": {"after": "MTI=", "link": "?after=MTI="}}}

# -- channel accounts (reference: channel accounts create, get, update, list; staging tokens) --------------------

ACCOUNT_EGG: Json = {"name": "Acme Support", "inboxId": "417", "authorized": True, "deliveryIdentifier": SMS}
ACCOUNT: Json = {
    "id": "88123",
    "channelId": "4321",
    "inboxId": "417",
    "name": "Acme Support",
    "authorized": True,
    "active": True,
    "archived": False,
    "createdAt": T,
    "deliveryIdentifier": SMS,
}
ARCHIVED_ACCOUNT: Json = {**ACCOUNT, "id": "88124", "active": False, "archived": True, "archivedAt": T}
ACCOUNTS_PAGE: Json = {"results": [ACCOUNT, ARCHIVED_ACCOUNT], "total": 2, "paging": {}}
STAGING_TOKEN_UPDATE: Json = {"accountName": "Acme Support", "deliveryIdentifier": SMS}
STAGING_TOKEN: Json = {
    "accountToken": "0b6c5f0e-1d1c-4c55-9a3c-2f0f0e6f7d11",
    "accountName": "Acme Support",
    "deliveryIdentifier": SMS,
    "genericChannelId": 4321,
    "inboxId": 417,
    "userId": 9001,
    "createdAt": T,
}

# -- messages (reference: publish a message, get a message, update a message) ------------------------------------

CONTACT_PROFILE: Json = {
    "name": {"firstName": "Alice", "lastName": "Moreau"},
    "org": {"company": "Moreau & Co", "title": "Buyer"},
    "addresses": [{"street": "12 Pine St", "city": "Portland", "state": "OR", "zip": "97201", "type": "HOME"}],
    "emails": [{"email": "alice@example.com", "type": "WORK"}],
    "phones": [{"phone": "+12065550142", "type": "CELL"}],
    "urls": [{"url": "https://moreau.example", "type": "WORK"}],
}
QUICK_REPLIES: list[Json] = [
    {"label": "Track my order", "value": "track", "valueType": "TEXT"},
    {"label": "Help centre", "value": "https://help.acme.example", "valueType": "URL"},
]
SOCIAL: Json = {"id": "17890", "mediaType": "PHOTO", "mediaUrl": "https://cdn.example/p.jpg", "mediaTitle": "Post"}
PUBLISHED_ATTACHMENTS: list[Json] = [
    {"type": "FILE", "fileId": "183466113497", "fileUsageType": "AUDIO"},
    {"type": "LOCATION", "latitude": 45.52, "longitude": -122.68, "name": "Acme Portland", "address": "1 Main St"},
    {"type": "CONTACT", "contactProfile": CONTACT_PROFILE},
    {"type": "UNSUPPORTED_CONTENT"},
    {"type": "MESSAGE_HEADER", "text": "Order #1042", "fileId": 183466113498},
    {"type": "QUICK_REPLIES", "quickReplies": QUICK_REPLIES},
    {"type": "SOCIAL_MEDIA_METADATA", "socialMetadata": SOCIAL},
]
PUBLISH: Json = {
    "channelAccountId": "88123",
    "messageDirection": "INCOMING",
    "senders": [{"deliveryIdentifier": ALICE, "name": "Alice Moreau"}],
    "recipients": [{"deliveryIdentifier": SMS, "name": "Acme Support"}],
    "text": "Hi, my order #1042 still hasn't arrived.",
    "richText": "<p>Hi, my order <b>#1042</b> still hasn't arrived.</p>",
    "timestamp": T,
    "attachments": PUBLISHED_ATTACHMENTS,
    "integrationThreadId": "conv-5521",
    "integrationIdempotencyId": "SM0001",
    "inReplyToId": "a3f9c1d2e4b5",
    "associateWithContactId": 123,
    "preResolvedContacts": {"contacts": [{"contactVid": 123, "contactPropertiesLeadingToMatch": ["phone"]}]},
}
# The 2026-03 reference shows participants with `senderActorId`, and a minimal publish as integrations send it.
PUBLISH_WITH_ACTOR: Json = {
    **PUBLISH,
    "messageDirection": "OUTGOING",
    "senders": [{"deliveryIdentifier": SMS, "name": "Acme Support", "senderActorId": "A-9001"}],
    "recipients": [{"deliveryIdentifier": ALICE}],
    "attachments": [],
}
RENDERED_ATTACHMENTS: list[Json] = [
    {
        "type": "FILE",
        "fileId": "183466113497",
        "fileUsageType": "AUDIO",
        "name": "voice.ogg",
        "url": "https://f.example/v",
    },
    {"type": "LOCATION", "latitude": 45.52, "longitude": -122.68, "url": "https://maps.example/?q=45.52,-122.68"},
    {"type": "CONTACT", "contactProfile": CONTACT_PROFILE},
    {"type": "UNSUPPORTED_CONTENT"},
    {"type": "MESSAGE_HEADER", "text": "Order #1042"},
    {"type": "QUICK_REPLIES", "quickReplies": QUICK_REPLIES, "allowMultiSelect": False, "allowUserInput": True},
    {"type": "WHATSAPP_TEMPLATE_METADATA", "crmObjectIds": {"contact": 123}, "parameters": {"1": "Alice"}},
    {"type": "SOCIAL_MEDIA_METADATA", "socialMetadata": SOCIAL},
]
MESSAGE: Json = {
    "id": "5a8c3dbb1d8a4c9e9ec0f2b0d4d6b7a1",
    "type": "MESSAGE",
    "conversationsThreadId": "7123456789",
    "channelId": "4321",
    "channelAccountId": "88123",
    "direction": "INCOMING",
    "senders": [{"actorId": "V-123", "name": "Alice Moreau", "deliveryIdentifier": ALICE, "senderField": "FROM"}],
    "recipients": [{"actorId": "I-4321", "name": "Acme Support", "deliveryIdentifier": SMS, "recipientField": "TO"}],
    "text": "Hi, my order #1042 still hasn't arrived.",
    "richText": "<p>Hi, my order <b>#1042</b> still hasn't arrived.</p>",
    "subject": "Order #1042",
    "attachments": RENDERED_ATTACHMENTS,
    "status": {"statusType": "RECEIVED"},
    "truncationStatus": "NOT_TRUNCATED",
    "client": {"clientType": "INTEGRATION", "integrationAppId": 123},
    "createdAt": T,
    "createdBy": "V-123",
    "updatedAt": T,
    "archived": False,
    "inReplyToId": "a3f9c1d2e4b5",
}
FAILED_MESSAGE: Json = {
    **MESSAGE,
    "direction": "OUTGOING",
    "status": {"statusType": "FAILED", "failureDetails": {"errorMessage": "Unreachable", "errorMessageTokens": {}}},
    "client": {"clientType": "HUBSPOT"},
    "createdBy": "A-9001",
    "attachments": [],
}
STATUS_UPDATES: list[Json] = [
    {"statusType": "SENT"},
    {"statusType": "READ"},
    {"statusType": "FAILED", "errorMessage": "The number no longer exists"},
]

# -- threads, history, inboxes, actors (Conversations v3 reference) ----------------------------------------------

THREAD: Json = {
    "id": "7123456789",
    "inboxId": "417",
    "status": "CLOSED",
    "archived": False,
    "spam": False,
    "associatedContactId": "123",
    "assignedTo": "A-9001",
    "originalChannelId": "4321",
    "originalChannelAccountId": "88123",
    "createdAt": T,
    "closedAt": T,
    "latestMessageTimestamp": T,
    "latestMessageSentTimestamp": T,
    "latestMessageReceivedTimestamp": T,
    "threadAssociations": {"associatedTicketId": "31415"},
}
THREADS_PAGE: Json = {"results": [THREAD], "paging": {"next": {"after": "7123456789"}}}
THREAD_UPDATES: list[Json] = [{"status": "CLOSED"}, {"status": "OPEN"}, {"archived": False}]
HISTORY_COMMON: Json = {
    "id": "9d1e",
    "conversationsThreadId": "7123456789",
    "archived": False,
    "client": {"clientType": "SYSTEM"},
    "createdAt": T,
    "createdBy": "S-hubspot",
    "senders": [],
    "recipients": [],
}
HISTORY_PAGE: Json = {
    "results": [
        MESSAGE,
        {**HISTORY_COMMON, "type": "COMMENT", "text": "VIP", "richText": "<p>VIP</p>", "attachments": []},
        {**HISTORY_COMMON, "type": "WELCOME_MESSAGE", "text": "Hi!", "channelId": "1000", "channelAccountId": "1"},
        {**HISTORY_COMMON, "type": "ASSIGNMENT", "assignedTo": "A-9001"},
        {**HISTORY_COMMON, "type": "THREAD_STATUS_CHANGE", "newStatus": "CLOSED"},
        {**HISTORY_COMMON, "type": "THREAD_INBOX_CHANGE", "fromInboxId": "417", "toInboxId": "418"},
    ],
    "paging": {},
}
SEND_MESSAGE: Json = {
    "type": "MESSAGE",
    "text": "Sorry about that, Alice! Let me check with the courier.",
    "richText": "<p>Sorry about that, Alice!</p>",
    "senderActorId": "A-9001",
    "channelId": "4321",
    "channelAccountId": "88123",
    "recipients": [{"deliveryIdentifiers": [ALICE], "deliveryIdentifier": ALICE, "name": "Alice Moreau"}],
    "attachments": [
        {"type": "FILE", "fileId": "183466113499"},
        {"type": "QUICK_REPLIES", "quickReplies": QUICK_REPLIES},
        {"type": "SOCIAL_MEDIA_METADATA", "socialMetadata": SOCIAL},
    ],
}
COMMENT: Json = {"type": "COMMENT", "text": "Escalate to billing", "attachments": []}
INBOX: Json = {"id": "417", "name": "Support", "type": "HELP_DESK", "archived": False, "createdAt": T, "updatedAt": T}
INBOXES_PAGE: Json = {"results": [INBOX], "total": 1}
AGENT: Json = {"id": "A-9001", "type": "AGENT", "name": "Sam Agent", "email": "sam@acme.example"}
ACTORS: list[Json] = [
    AGENT,
    {"id": "B-1", "type": "BOT", "name": "Acme bot"},
    {"id": "I-4321", "type": "INTEGRATOR", "name": "Acme SMS"},
    {"id": "S-hubspot", "type": "SYSTEM"},
    {"id": "V-123", "type": "VISITOR", "name": "Alice Moreau"},
    {"id": "E-alice@example.com", "type": "EMAIL", "email": "alice@example.com"},
    {"id": "L-1", "type": "LLM", "name": "Customer agent"},
]
ACTORS_BATCH: Json = {"status": "COMPLETE", "results": ACTORS, "startedAt": T, "completedAt": T}
ACTORS_BATCH_WITH_ERRORS: Json = {
    **ACTORS_BATCH,
    "numErrors": 1,
    "errors": [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Actor A-0 not found",
            "context": {"ids": ["A-0"]},
            "errors": [],
            "links": {},
        }
    ],
}
CHANNEL_LIST_ITEM: Json = {"id": "1000", "name": "Live chat"}

# -- errors (the reference's error response and a capability error as HubSpot returns it) ------------------------

ERRORS: list[Json] = [
    {
        "category": "VALIDATION_ERROR",
        "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        "links": {"knowledge-base": "https://www.hubspot.com/products/service/knowledge-base"},
        "message": "Invalid input (details will vary based on the error)",
    },
    {
        "status": "error",
        "message": "Invalid capability values",
        "correlationId": "3f1e1c52-52b5-4d57-8a83-4e9f0b6c1a10",
        "category": "VALIDATION_ERROR",
        "subCategory": "CustomChannelsError.INVALID_CHANNEL_CAPABILITY_VALUES",
        "context": {"capabilityKeysAndValues": ["deliveryIdentifierTypes"]},
        "errors": [{"message": "is not a type name", "in": "capabilities.deliveryIdentifierTypes", "code": "INVALID"}],
    },
]

# -- webhook bodies (not in HubSpot's reference: the envelope its deployed webhooks carry) -----------------------

OUTGOING_WEBHOOK: Json = {
    "type": "OUTGOING_CHANNEL_MESSAGE_CREATED",
    "portalId": "243842089",
    "channelId": "4321",
    "eventId": "6016812340",
    "eventTimestamp": T,
    "channelIntegrationThreadIds": ["conv-5521"],
    "message": {**FAILED_MESSAGE, "status": {"statusType": "SENT"}},
}
ACCOUNT_WEBHOOKS: list[Json] = [
    {
        "type": kind,
        "portalId": "243842089",
        "channelId": "4321",
        "channelAccountId": "88123",
        "eventId": "6016812341",
        "eventTimestamp": T,
        "channelAccount": ACCOUNT,
    }
    for kind in ("CHANNEL_ACCOUNT_CREATED", "CHANNEL_ACCOUNT_UPDATED")
]

VALID: list[tuple[str, Json]] = [
    ("Capabilities", CAPABILITIES),
    ("PublicChannelIntegrationChannelCreate", CHANNEL_CREATE),
    ("PublicChannelIntegrationChannel", CHANNEL),
    *(("PublicChannelIntegrationChannelPatch", patch) for patch in CHANNEL_PATCHES),
    ("CollectionResponseWithTotalPublicChannelIntegrationChannel", CHANNELS_PAGE),
    ("PublicChannelAccountEgg", ACCOUNT_EGG),
    ("PublicChannelAccountEgg", {"name": "Widget", "inboxId": "982", "authorized": False}),
    ("PublicChannelAccount", ACCOUNT),
    ("PublicChannelAccount", ARCHIVED_ACCOUNT),
    ("PublicChannelAccountUpdateRequest", {"authorized": False}),
    ("PublicChannelAccountUpdateRequest", {"name": "Acme Customer Care"}),
    ("CollectionResponseWithTotalPublicChannelAccount", ACCOUNTS_PAGE),
    ("PublicChannelAccountStagingTokenUpdateRequest", STAGING_TOKEN_UPDATE),
    ("PublicChannelAccountStagingToken", STAGING_TOKEN),
    ("ChannelIntegrationMessageEgg", PUBLISH),
    ("ChannelIntegrationMessageEgg", PUBLISH_WITH_ACTOR),
    ("PublicConversationsMessage", MESSAGE),
    ("PublicConversationsMessage", FAILED_MESSAGE),
    *(("PublicChannelIntegrationMessageUpdateRequest", update) for update in STATUS_UPDATES),
    ("PublicThread", THREAD),
    ("PublicThread", {k: v for k, v in THREAD.items() if k not in ("closedAt", "assignedTo")} | {"status": "OPEN"}),
    ("CollectionResponsePublicThreadForwardPaging", THREADS_PAGE),
    *(("PublicThreadUpdateRequest", update) for update in THREAD_UPDATES),
    ("CollectionResponsePublicMessageForwardPaging", HISTORY_PAGE),
    *(("PublicMessage", entry) for entry in HISTORY_PAGE["results"]),
    ("PublicMessageEgg", SEND_MESSAGE),
    ("PublicMessageEgg", COMMENT),
    ("PublicInbox", INBOX),
    ("CollectionResponseWithTotalPublicInbox", INBOXES_PAGE),
    *(("PublicActor", actor) for actor in ACTORS),
    ("BatchInputString", {"inputs": ["A-9001", "V-123"]}),
    ("BatchResponsePublicActor", ACTORS_BATCH),
    ("BatchResponsePublicActorWithErrors", ACTORS_BATCH_WITH_ERRORS),
    ("PublicChannel", CHANNEL_LIST_ITEM),
    ("CollectionResponseWithTotalPublicChannel", {"results": [CHANNEL_LIST_ITEM], "total": 1}),
    *(("Error", error) for error in ERRORS),
    ("OutgoingChannelMessageCreatedWebhook", OUTGOING_WEBHOOK),
    *((f"ChannelAccount{w['type'].split('_')[-1].title()}Webhook", w) for w in ACCOUNT_WEBHOOKS),
]
"""(schema name, document) for every example; each must validate."""
