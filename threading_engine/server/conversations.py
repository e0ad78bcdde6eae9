"""Conversations v3, what an agent does in the inbox: threads, their messages, replies, channels and accounts.

A portal sees the threads and messages of the accounts it connected. ``PATCH`` of a thread closes
(``status: CLOSED``), reopens (``OPEN``: R8), archives (``archived: true``: R7) or restores (``archived:
false``) it, each through the engine's command; ``DELETE`` archives. A reply (``POST .../messages``) is the
engine's agent reply (R3), which makes the OUTGOING_CHANNEL_MESSAGE_CREATED webhook (R5).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import hubspot
from ..errors import ValidationError
from ..model import ChannelAccount, Thread, ThreadStatus
from ..reads import AccountFilter, ThreadFilter
from ..storable import shown
from .service import Service, absent, check_same, flag, page, paging

PREFIX = "/conversations/v3/conversations"
_SORTS = ("id", "-id", "latestMessageTimestamp", "-latestMessageTimestamp")


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _thread_json(thread: Thread, account: ChannelAccount, portal: str) -> dict[str, Any]:
    return hubspot.thread_to_json(thread, account=account, portal_id=portal)


def _threads_json(service: Service, threads: tuple[Thread, ...], portal: str) -> list[dict[str, Any]]:
    accounts: dict[str, ChannelAccount] = {}
    for thread in threads:
        if thread.channel_account_id not in accounts:
            accounts[thread.channel_account_id] = service.engine.channel_account(thread.channel_account_id)
    return [_thread_json(thread, accounts[thread.channel_account_id], portal) for thread in threads]


def _visible_threads(service: Service, portal: str) -> list[tuple[Thread, ChannelAccount]]:
    accounts = {account.id: account for account in service.accounts(portal)}
    return [(t, accounts[t.channel_account_id]) for t in service.engine.threads() if t.channel_account_id in accounts]


async def list_threads(request: Request) -> JSONResponse:
    """HubSpot's filters: ``threadStatus`` (or ``status``), ``archived`` (only archived threads when true, none
    of them otherwise), ``inboxId``, ``associatedContactId``, ``associatedTicketId``,
    ``latestMessageTimestampAfter``; ``sort`` by ``id`` or ``latestMessageTimestamp``; paged by ``after``."""
    service = _service(request)
    portal = service.portal(request)
    query = request.query_params
    for field in ("threadStatus", "status"):  # each checked, though threadStatus wins when both are given
        named = query.get(field)
        if named is not None and named not in ThreadStatus.__members__:
            raise ValidationError(f"{field} {shown(named)} is not OPEN or CLOSED", field=field, value=named)
    status = query.get("threadStatus", query.get("status"))
    archived = bool(flag(request, "archived"))
    inboxes = query.getlist("inboxId")
    contact, ticket = query.get("associatedContactId"), query.get("associatedTicketId")
    after_text = query.get("latestMessageTimestampAfter")
    after_time = None if after_text is None else hubspot.parse_timestamp(after_text, "latestMessageTimestampAfter")
    sort = query.get("sort", "id")
    if sort not in _SORTS:
        raise ValidationError(f"sort {shown(sort)} is not one of {', '.join(_SORTS)}", field="sort", value=sort)
    if sort.lstrip("-") == "id":  # creation order: the engine's paged read
        where = ThreadFilter(
            portal_id=portal,
            status=None if status is None else ThreadStatus(status),
            archived=archived,
            inbox_ids=tuple(inboxes),
            key=contact,
            ticket_id=ticket,
            latest_message_after=after_time,
        )
        cursor, limit = paging(request)
        found = await service.call(
            service.engine.threads_page, where, after=cursor, limit=limit, newest_first=sort == "-id"
        )
        documents = await service.call(_threads_json, service, found.results, portal)
        return JSONResponse(hubspot.collection_to_json(documents, after=found.after))
    # By the latest message's time: the engine has no such read yet, so these are sorted here.
    threads = [
        (thread, account)
        for thread, account in await service.call(_visible_threads, service, portal)
        if thread.archived == archived
        and (status is None or thread.status.value == status)
        and (not inboxes or account.inbox_id in inboxes)
        and (contact is None or thread.key == contact)
        and (ticket is None or thread.ticket_id == ticket)
        and (after_time is None or (thread.latest_message_at is not None and thread.latest_message_at > after_time))
    ]
    threads.sort(key=lambda pair: pair[0].latest_message_at or datetime.min.replace(tzinfo=pair[0].created_at.tzinfo))
    if sort.startswith("-"):
        threads.reverse()
    results, after = page(threads, request)
    return JSONResponse(hubspot.collection_to_json([_thread_json(t, a, portal) for t, a in results], after=after))


async def get_thread(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    thread, account = await service.call(service.thread, portal, request.path_params["threadId"])
    return JSONResponse(_thread_json(thread, account, portal))


async def update_thread(request: Request) -> JSONResponse:
    """``{status?, archived?}``: restore first when ``archived`` is false, then close or reopen."""
    service = _service(request)
    portal = service.portal(request)
    body = await service.json_body(request)
    if not isinstance(body, dict) or not body.keys() <= {"status", "archived"}:
        raise ValidationError(f"body {shown(body)} is not {{status?, archived?}}", field="body", value=body)
    status, archived = body.get("status"), body.get("archived")
    # A key given as null is refused like any other value that is not the schema's (no "null means absent").
    if "status" in body and (not isinstance(status, str) or status not in ThreadStatus.__members__):
        raise ValidationError(f"status {shown(status)} is not OPEN or CLOSED", field="status", value=status)
    if "archived" in body and not isinstance(archived, bool):
        raise ValidationError(f"archived {shown(archived)} is not true or false", field="archived", value=archived)
    if archived and status == "OPEN":
        raise ValidationError("an archived thread cannot be OPEN (R7)", field="status", value=status, rule="R7")
    thread, _ = await service.call(service.thread, portal, request.path_params["threadId"], "R6")
    engine = service.engine
    if archived is True:
        await service.call(engine.archive_thread, thread.id)
    if archived is False:
        await service.call(engine.restore_thread, thread.id)
    if status == "CLOSED" and archived is not True:  # archiving closed it already (R7)
        await service.call(engine.close_thread, thread.id)
    elif status == "OPEN":
        await service.call(engine.reopen_thread, thread.id)
    thread, account = await service.call(service.thread, portal, thread.id)
    return JSONResponse(_thread_json(thread, account, portal))


async def archive_thread(request: Request) -> Response:
    service = _service(request)
    portal = service.portal(request)
    thread, _ = await service.call(service.thread, portal, request.path_params["threadId"], "R7")
    await service.call(service.engine.archive_thread, thread.id)
    return Response(status_code=204)


async def list_messages(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    thread, account = await service.call(service.thread, portal, request.path_params["threadId"])
    if request.query_params.get("sort", "createdAt") not in ("createdAt", "-createdAt"):
        raise ValidationError("sort is not createdAt or -createdAt", field="sort", value=request.query_params["sort"])
    newest_first = request.query_params.get("sort", "") == "-createdAt"
    after, limit = paging(request)
    found = await service.call(
        service.engine.messages_page, thread.id, after=after, limit=limit, newest_first=newest_first
    )
    documents = [hubspot.message_to_json(message, channel_id=account.channel_id) for message in found.results]
    return JSONResponse(hubspot.collection_to_json(documents, after=found.after))


async def get_message(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    message, account = await service.call(service.message, portal, request.path_params["messageId"])
    if message.thread_id != request.path_params["threadId"]:
        raise absent("messageId", message.id, "message", None)
    return JSONResponse(hubspot.message_to_json(message, channel_id=account.channel_id))


async def send_message(request: Request) -> JSONResponse:
    """HubSpot's ``PublicConversationsMessageEgg``: the engine's agent reply on the thread (R3). Its
    ``channelId`` and ``channelAccountId`` must be the thread's; the recipients are the thread's (R0), so
    ``recipients`` is accepted and not used. ``attachments`` are checked against the channel's capabilities (V8)."""
    service = _service(request)
    portal = service.portal(request)
    body = await service.json_body(request)
    known = {
        "type",
        "text",
        "richText",
        "subject",
        "senderActorId",
        "channelId",
        "channelAccountId",
        "recipients",
        "attachments",
    }
    if not isinstance(body, dict) or not body.keys() <= known:
        raise ValidationError(f"body {shown(body)} is not a PublicConversationsMessageEgg", field="body", value=body)
    if body.get("type", "MESSAGE") != "MESSAGE":
        raise ValidationError(
            f"type {shown(body['type'])} is not MESSAGE: comments are not kept", field="type", value=body["type"]
        )
    thread, account = await service.call(service.thread, portal, request.path_params["threadId"], "R3")
    check_same("channelId", body.get("channelId"), account.channel_id)
    check_same("channelAccountId", body.get("channelAccountId"), account.id)
    given = {key: body[key] for key in ("text", "richText", "attachments", "senderActorId") if key in body}
    command = hubspot.parse_reply(thread.id, given)
    result = await service.call(service.engine.execute, command)
    assert result.message_id is not None
    message = service.engine.message(result.message_id)
    return JSONResponse(hubspot.message_to_json(message, channel_id=account.channel_id), status_code=201)


async def list_channels(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    after, limit = paging(request)
    found = await service.call(service.engine.channels_page, after=after, limit=limit)
    documents = [{"id": c.id, "name": c.name} for c in found.results]
    return JSONResponse(hubspot.collection_to_json(documents, total=found.total, after=found.after))


async def get_channel(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    channel = await service.call(service.engine.channel, request.path_params["channelId"])
    return JSONResponse({"id": channel.id, "name": channel.name})


async def list_accounts(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    where = AccountFilter(
        channel_ids=tuple(request.query_params.getlist("channelId")),
        portal_id=portal,  # a portal sees the accounts it connected (P1)
        archived=flag(request, "archived") is True,  # the archived ones with true, the others otherwise (A1)
        inbox_ids=tuple(request.query_params.getlist("inboxId")),
    )
    after, limit = paging(request)
    found = await service.call(service.engine.accounts_page, where, after=after, limit=limit)
    documents = [hubspot.account_to_json(account, portal_id=portal) for account in found.results]
    return JSONResponse(hubspot.collection_to_json(documents, total=found.total, after=found.after))


async def get_account(request: Request) -> JSONResponse:
    service = _service(request)
    portal = service.portal(request)
    account = await service.call(service.account, portal, request.path_params["channelAccountId"])
    return JSONResponse(hubspot.account_to_json(account, portal_id=portal))


def routes() -> list[Route]:
    thread = PREFIX + "/threads/{threadId}"
    return [
        Route(PREFIX + "/threads", list_threads, methods=["GET"]),
        Route(thread, get_thread, methods=["GET"]),
        Route(thread, update_thread, methods=["PATCH"]),
        Route(thread, archive_thread, methods=["DELETE"]),
        Route(thread + "/messages", list_messages, methods=["GET"]),
        Route(thread + "/messages", send_message, methods=["POST"]),
        Route(thread + "/messages/{messageId}", get_message, methods=["GET"]),
        Route(PREFIX + "/channels", list_channels, methods=["GET"]),
        Route(PREFIX + "/channels/{channelId}", get_channel, methods=["GET"]),
        Route(PREFIX + "/channel-accounts", list_accounts, methods=["GET"]),
        Route(PREFIX + "/channel-accounts/{channelAccountId}", get_account, methods=["GET"]),
    ]
