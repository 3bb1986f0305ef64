"""The Bolt app and the ASGI app that serves it: POST /slack/events, GET /healthz."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.ops.health import HealthCheck
from bot.ops.logs import CURRENT_INCIDENT
from bot.ops.metrics import ACK_SECONDS, REQUESTS, exposition
from bot.slack.event_queue import EventDispatcher
from bot.slack.listeners import register_all
from bot.web import web_routes
from bot.wiring import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
AppT = TypeVar("AppT", bound=App)
LOG_MISS_TTL = 30.0  # a channel not (yet) an incident's logs without a number for at most this long


class IncidentBotApp(App):
    """The Bolt app for commands and interactions, whose acks people wait for.

    ``events`` is its twin for the Events API: same listeners, run inline by the event dispatcher's
    threads (events are acked before they are dispatched), so a burst of events never holds the
    listener threads a slash command needs to answer within Slack's 3 seconds.
    """

    events: App
    services: Services  # for the /ui web mount (bot/web)


def create_bolt_app(services: Services) -> IncidentBotApp:
    app = _configure(IncidentBotApp(**_app_options(services, inline=False)), services)
    app.events = _configure(App(**_app_options(services, inline=True)), services)
    app.services = services
    return app


def _app_options(services: Services, inline: bool) -> dict[str, Any]:
    settings = services.settings
    assert settings.slack_signing_secret is not None
    return {
        "client": services.client,
        "listener_executor": ContextThreadPool(max_workers=16, thread_name_prefix="listener"),
        "signing_secret": settings.slack_signing_secret.get_secret_value(),
        "token_verification_enabled": False,
        "process_before_response": inline,
        "raise_error_for_unhandled_request": False,
        "ignoring_self_events_enabled": False,
    }


def _configure(app: AppT, services: Services) -> AppT:
    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        log.exception("unhandled error in a listener", exc_info=error)
        return BoltResponse(status=200, body="")

    incidents = services.timeline.incidents

    @app.middleware
    def bind_incident(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        """Log lines of a request about an incident channel carry its number (see bot.ops.logs)."""
        incident = None
        if context.channel_id:
            try:
                incident = incidents.get(context.channel_id, negative_ttl=LOG_MISS_TTL)
            except Exception:
                incident = None
        CURRENT_INCIDENT.set(incident.number if incident else None)
        return next()

    register_all(app, services)
    return app


class ContextThreadPool(ThreadPoolExecutor):
    """Listeners run with the context of the request that queued them (log fields like incident)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)


def request_kind(body: bytes) -> str:
    """events / commands / interactive, from the shape of the body (for metrics only)."""
    if body.startswith(b"{"):
        return "events"
    if body.startswith(b"payload="):
        return "interactive"
    return "commands" if b"command=" in body else "other"


def create_asgi(bolt: IncidentBotApp, health: HealthCheck) -> Starlette:
    verifier = SignatureVerifier(bolt._signing_secret)
    events = EventDispatcher(bolt.events.dispatch)

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        kind = request_kind(body)
        response = await _answer(request, body)
        ACK_SECONDS.labels("http", kind).observe(time.perf_counter() - started)
        REQUESTS.labels("http", kind, str(response.status_code)).inc()
        return response

    async def _answer(request: Request, body: bytes) -> Response:
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("payload too large", status_code=400)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("body is not UTF-8", status_code=400)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not (
            timestamp.isdigit() and verifier.is_valid(body=text, timestamp=timestamp, signature=signature)
        ):
            return PlainTextResponse("invalid or stale signature", status_code=401)
        try:
            payload = parse_body(text, request.headers.get("content-type", ""))
        except ValueError:
            return PlainTextResponse("malformed body", status_code=400)
        if not isinstance(payload, dict) or not payload:
            return PlainTextResponse("malformed body", status_code=400)
        bolt_request = to_bolt_request(request, body)
        if payload.get("type") == "event_callback":
            if not isinstance(payload.get("event"), dict):
                return PlainTextResponse("malformed event", status_code=400)
            if not events.offer(bolt_request):
                await run_in_threadpool(events.submit, bolt_request)
            return Response(status_code=200)
        return to_starlette_response(await run_in_threadpool(bolt.dispatch, bolt_request))

    async def metrics(_: Request) -> Response:
        payload, content_type = exposition()
        return Response(payload, media_type=content_type)

    async def healthz(_: Request) -> Response:
        report = await run_in_threadpool(health.report)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(events.shutdown)

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *web_routes(bolt.services),  # /ui/: read-only web pages, when INCIDENT_WEB_URL is set
        ],
    )
