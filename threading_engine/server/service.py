"""What every route shares: the engine, the service's state, portals and tokens, and reading a request.

The engine decides everything; this module only answers who is asking (a bearer token names a portal), what
they may see (a portal sees only the accounts it connected, and their threads and messages: anything else is
NOT_FOUND, as if absent), and what they sent (a JSON body within the size limit).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..engine import Engine
from ..errors import NotFoundError, ValidationError
from ..model import ChannelAccount, Message, Thread
from ..storable import shown
from .clock import ManualClock
from .state import ServiceState
from .webhooks import Dispatcher

_T = TypeVar("_T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class AuthError(Exception):
    """A request without a known bearer token (401)."""


class HttpError(Exception):
    """A refusal that is not the engine's: ``status`` with HubSpot's error body of ``category``."""

    def __init__(self, status: int, category: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message


@attrs.define
class Service:
    """One running service: its engine and everything around it."""

    engine: Engine
    state: ServiceState
    dispatcher: Dispatcher
    tokens: dict[str, str]
    portal_lock: threading.Lock
    clock: ManualClock | None
    max_body_bytes: int

    # -- who is asking -------------------------------------------------------------------------------------

    def portal(self, request: Request) -> str:
        """The portal of the request's ``Authorization: Bearer`` token (or HubSpot's ``hapikey`` query)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            token = request.query_params.get("hapikey", "") if not header else ""
        portal = self.tokens.get(token.strip()) if token.strip() else None
        if portal is None:
            raise AuthError("missing or unknown token" if token else "no Authorization: Bearer token")
        return portal

    # -- what they may see ---------------------------------------------------------------------------------

    def account(self, portal: str, account_id: str, rule: str | None = None) -> ChannelAccount:
        account = self.engine.channel_account(account_id)
        if self.state.portal_of(account.id) != portal:
            raise absent("channelAccountId", account_id, "channel account", rule)
        return account

    def thread(self, portal: str, thread_id: str, rule: str | None = None) -> tuple[Thread, ChannelAccount]:
        thread = self.engine.thread(thread_id)
        account = self.engine.channel_account(thread.channel_account_id)
        if self.state.portal_of(account.id) != portal:
            raise absent("threadId", thread_id, "thread", rule)
        return thread, account

    def message(self, portal: str, message_id: str) -> tuple[Message, ChannelAccount]:
        message = self.engine.message(message_id)
        account = self.engine.channel_account(message.channel_account_id)
        if self.state.portal_of(account.id) != portal:
            raise absent("messageId", message_id, "message", None)
        return message, account

    def accounts(self, portal: str, channel_id: str | None = None) -> list[ChannelAccount]:
        mine = self.state.accounts_of(portal)
        return [account for account in self.engine.repository.list_accounts(channel_id) if account.id in mine]

    # -- what they sent ------------------------------------------------------------------------------------

    async def json_body(self, request: Request) -> Any:
        """The request's JSON body: 415 unless it is JSON, 413 past the size limit, 400 unless it parses."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise HttpError(
                415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Type {content_type or 'none'!r} is not application/json"
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise too_large(self.max_body_bytes)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large(self.max_body_bytes)
            chunks.append(chunk)
        return parse_json(b"".join(chunks))

    async def call(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run ``function`` (an engine call) off the event loop; wake the dispatcher, since it may have committed."""
        try:
            return await run_in_threadpool(function, *args, **kwargs)
        finally:
            self.dispatcher.wake()


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no NaN or Infinity), UTF-8: anything else is a VALIDATION_ERROR on ``body``."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=refuse)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValidationError(f"body is not valid JSON: {shown(str(error))}", field="body", value=None) from None


def too_large(limit: int) -> HttpError:
    return HttpError(413, "VALIDATION_ERROR", f"the body is larger than {limit:,} bytes")


def absent(field: str, value: object, names: str, rule: str | None) -> NotFoundError:
    """NOT_FOUND for something another portal owns, worded as for an id that names nothing."""
    where = "" if rule is None else f" ({rule})"
    return NotFoundError(f"{field} {shown(value)} names no {names}{where}", field=field, value=value, rule=rule)


def page(items: Sequence[_T], request: Request) -> tuple[list[_T], str | None]:
    """One page of ``items`` by the request's ``limit`` and ``after`` (an opaque cursor: the offset)."""
    limit = _whole(request.query_params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    start = _whole(request.query_params.get("after"), "after", 0, 0, len(items))
    end = start + limit
    return list(items[start:end]), (str(end) if end < len(items) else None)


def paging(request: Request) -> tuple[str | None, int]:
    """The request's ``after`` (an opaque cursor the engine gave: an item's id) and ``limit`` (1 to 500, 100
    by default), for the engine's paged reads (``reads.py``), which check them."""
    limit = _whole(request.query_params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    return request.query_params.get("after"), limit


def flag(request: Request, name: str) -> bool | None:
    """A boolean query parameter (``true``/``false``), ``None`` when absent."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise ValidationError(f"{name} {shown(value)} is not true or false", field=name, value=value)
    return value.lower() == "true"


def archived_or_not(accounts: list[ChannelAccount], request: Request) -> list[ChannelAccount]:
    """HubSpot's ``archived`` filter of accounts: the archived ones with ``true``, the others otherwise (A1)."""
    archived = flag(request, "archived") is True
    return [account for account in accounts if account.archived is archived]


def _whole(text: str | None, name: str, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and low <= int(text) <= max(low, high)):
        raise ValidationError(
            f"{name} {shown(text)} is not a whole number from {low} to {high}", field=name, value=text
        )
    return int(text)


def check_same(field: str, given: object, expected: str) -> None:
    """A body's id that must repeat the one the path or the thread names."""
    if given is not None and given != expected:
        raise ValidationError(
            f"{field} {shown(given)} is not {expected!r}, the one the path names", field=field, value=given
        )
