"""The ASGI application: the routes, HubSpot's error body for every refusal, request ids, and the lifespan
that starts and stops the webhook dispatcher.

``create_app(ServiceConfig(...))`` is usable from Python with any ASGI server; ``threading-engine serve``
runs it under uvicorn.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import hubspot
from ..engine import Engine
from ..errors import ThreadingError, ValidationError
from ..ids import HubSpotIds
from ..stores import open_repository
from . import channels, conversations, inboxes, openapi, staging
from .clock import ManualClock, parse_advance
from .logs import log
from .service import AuthError, HttpError, Service
from .state import ServiceState, default_state_path
from .webhooks import DeliveryPolicy, Dispatcher

DEFAULT_PORTAL = "1"
DEFAULT_TOKEN = "local-dev-token"
DEFAULT_CLIENT_SECRET = "local-dev-client-secret"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a 1,000,000-character text at 4 bytes a character fits, escapes aside


@attrs.frozen
class ServiceConfig:
    """How to run the service. ``tokens`` maps each bearer token to its portal; ``state`` is where the service
    keeps its own table (``None``: beside a SQLite store, in memory for a memory store); ``clock`` is
    ``"system"`` or ``"manual"`` (starting at ``clock_start``, or now)."""

    store: str = "memory"
    tokens: dict[str, str] = attrs.field(factory=lambda: {DEFAULT_TOKEN: DEFAULT_PORTAL})
    client_secret: str = DEFAULT_CLIENT_SECRET
    state: str | None = None
    clock: str = "system"
    clock_start: datetime | None = None
    delivery: DeliveryPolicy = attrs.field(factory=DeliveryPolicy)
    max_body_bytes: int = MAX_BODY_BYTES


def build_service(config: ServiceConfig) -> Service:
    """Open the store and the service's state, and make the engine, its clock and the dispatcher."""
    for portal in config.tokens.values():
        hubspot.check_portal_id(portal)
    state_path = config.state or default_state_path(config.store)
    if state_path is None:
        raise ValidationError(
            f"store {config.store.split('://')[0]}:// needs --state PATH for the service's own table",
            field="state",
            value=None,
        )
    state = ServiceState(state_path)
    manual: ManualClock | None = None
    if config.clock == "manual":
        start = state.clock() or config.clock_start or datetime.now(UTC)
        manual = ManualClock(start, on_change=state.set_clock)
        state.set_clock(manual())
    elif config.clock != "system":
        raise ValidationError(f"clock {config.clock!r} is not system or manual", field="clock", value=config.clock)
    repository = open_repository(config.store)
    engine = (
        Engine(repository, ids=HubSpotIds()) if manual is None else Engine(repository, clock=manual, ids=HubSpotIds())
    )
    lock = threading.Lock()
    dispatcher = Dispatcher(engine, state, config.client_secret, config.delivery, lock)
    return Service(
        engine=engine,
        state=state,
        dispatcher=dispatcher,
        tokens=dict(config.tokens),
        portal_lock=lock,
        clock=manual,
        max_body_bytes=config.max_body_bytes,
    )


def create_app(config: ServiceConfig | None = None) -> Starlette:
    """The service as an ASGI application; the dispatcher runs from startup to shutdown."""
    service = build_service(config or ServiceConfig())

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        service.dispatcher.start()
        log(
            "service.started",
            store=_shown_store(config.store if config else "memory"),
            clock=config.clock if config else "system",
        )
        try:
            yield
        finally:
            service.dispatcher.stop(timeout=service.dispatcher.policy.timeout + 5)
            service.engine.close()
            service.state.close()
            log("service.stopped", delivered=service.dispatcher.delivered)

    app = Starlette(
        routes=all_routes(),
        middleware=[Middleware(RequestIds)],
        lifespan=lifespan,
        exception_handlers={
            ThreadingError: _engine_error,
            AuthError: _auth_error,
            HttpError: _http_error,
            HTTPException: _routing_error,
            Exception: _unexpected_error,
        },
    )
    app.state.service = service
    return app


def all_routes() -> list[BaseRoute]:
    control = [
        Route("/_engine/health", health, methods=["GET"]),
        Route("/_engine/clock", get_clock, methods=["GET"]),
        Route("/_engine/clock/advance", advance_clock, methods=["POST"]),
        Route("/_engine/webhooks/failed", list_failed, methods=["GET"]),
        Route("/_engine/webhooks/failed/{eventId}/retry", retry_failed, methods=["POST"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
    ]
    return [*channels.routes(), *conversations.routes(), *inboxes.routes(), *staging.routes(), *control]


# -- the service's own routes ----------------------------------------------------------------------------------


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def health(request: Request) -> JSONResponse:
    service = _service(request)
    return JSONResponse(
        {
            "status": "ok",
            "clock": "manual" if service.clock else "system",
            "now": hubspot.format_timestamp(service.engine.clock()),
            "webhooksDelivered": service.dispatcher.delivered,
        }
    )


async def get_clock(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    return JSONResponse(
        {"clock": "manual" if service.clock else "system", "now": hubspot.format_timestamp(service.engine.clock())}
    )


async def advance_clock(request: Request) -> JSONResponse:
    """``{"seconds": N}`` or ``{"duration": "PT23H59M"}``: move the manual clock forward (409 on the system clock)."""
    service = _service(request)
    service.portal(request)
    by = parse_advance(await service.json_body(request))
    if service.clock is None:
        raise HttpError(409, "CONFLICT", "the clock is the system clock: start the service with --clock manual")
    now = service.clock.advance(by)
    log("clock.advanced", seconds=by.total_seconds(), now=now)
    return JSONResponse({"clock": "manual", "now": hubspot.format_timestamp(now)})


async def list_failed(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    return JSONResponse({"results": [failed.to_json() for failed in await service.call(service.state.failed)]})


async def retry_failed(request: Request) -> JSONResponse:
    service = _service(request)
    service.portal(request)
    event_id = request.path_params["eventId"]
    found, error = await service.call(service.dispatcher.retry_failed, event_id)
    if not found:
        raise HttpError(404, "OBJECT_NOT_FOUND", f"eventId {event_id!r} names no failed delivery")
    return JSONResponse({"eventId": event_id, "delivered": error is None, "error": error})


async def openapi_document(request: Request) -> JSONResponse:
    # Built once per application (on its first request), not once per process: no module holds a cache.
    if not hasattr(request.app.state, "openapi"):
        request.app.state.openapi = openapi.document(all_routes())
    return JSONResponse(request.app.state.openapi)


# -- refusals, as HubSpot's error body ------------------------------------------------------------------------


def _correlation_id(request: Request) -> str:
    correlation: str = request.scope.setdefault("state", {}).setdefault("correlation_id", str(uuid.uuid4()))
    return correlation


def _body(request: Request, status: int, category: str, message: str) -> JSONResponse:
    correlation = _correlation_id(request)
    log(
        "request.refused",
        logging.WARNING,
        request_id=_request_id(request),
        correlation_id=correlation,
        status=status,
        category=category,
        message=message,
        path=request.url.path,
    )
    document = {"status": "error", "message": message, "correlationId": correlation, "category": category}
    return JSONResponse(document, status_code=status)


async def _engine_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ThreadingError)
    correlation = _correlation_id(request)
    status = hubspot.http_status(error)
    log(
        "request.refused",
        logging.WARNING if status < 500 else logging.ERROR,
        request_id=_request_id(request),
        correlation_id=correlation,
        status=status,
        code=error.code,
        field=error.field,
        rule=error.rule,
        path=request.url.path,
    )
    return JSONResponse(hubspot.error_to_json(error, correlation_id=correlation), status_code=status)


async def _auth_error(request: Request, error: Exception) -> Response:
    response = _body(request, 401, "INVALID_AUTHENTICATION", f"Authentication credentials not found: {error}")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HttpError)
    return _body(request, error.status, error.category, error.message)


async def _routing_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    category = {404: "OBJECT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "VALIDATION_ERROR")
    response = _body(request, error.status_code, category, f"{request.method} {request.url.path}: {error.detail}")
    response.headers.update(error.headers or {})
    if error.status_code == 405:
        # Starlette names the methods of the one route it tried; a path is served by several (one per method).
        response.headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
    return response


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at the request's path."""
    allowed: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            allowed |= route.methods
    return allowed


async def _unexpected_error(request: Request, error: Exception) -> Response:
    correlation = _correlation_id(request)
    log(
        "request.failed",
        logging.ERROR,
        request_id=_request_id(request),
        correlation_id=correlation,
        error=repr(error),
        path=request.url.path,
    )
    document = {
        "status": "error",
        "message": "internal error",
        "correlationId": correlation,
        "category": "INTERNAL_ERROR",
    }
    return JSONResponse(document, status_code=500)


# -- request ids ----------------------------------------------------------------------------------------------


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


class RequestIds:
    """Gives each request an id (the caller's ``X-Request-Id``, or a new one), sent back as ``X-Request-Id``
    and logged with the request's status and time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:128]
        request_id = given if given.isprintable() and given else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = datetime.now(UTC)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
                elapsed = (datetime.now(UTC) - started).total_seconds()
                log(
                    "request",
                    request_id=request_id,
                    method=scope["method"],
                    path=scope["path"],
                    status=message["status"],
                    seconds=round(elapsed, 6),
                )
            await send(message)

        await self.app(scope, receive, send_with_id)


def _shown_store(url: str) -> str:
    """The store URL without its password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.partition(':')[0]}@{tail}"
