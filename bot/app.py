"""The Bolt app and the ASGI app that serves it: POST /slack/events, GET /healthz."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.health import HealthCheck
from bot.listeners import register_all
from bot.logs import CURRENT_INCIDENT
from bot.metrics import ACK_SECONDS, REQUESTS, exposition
from bot.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000


def create_bolt_app(services: Services) -> App:
    settings = services.settings
    assert settings.slack_signing_secret is not None
    app = App(
        client=services.client,
        listener_executor=ContextThreadPool(max_workers=16, thread_name_prefix="listener"),
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        token_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        ignoring_self_events_enabled=False,
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        log.exception("unhandled error in a listener", exc_info=error)
        return BoltResponse(status=200, body="")

    incident_numbers = ChannelIncidentCache(services)

    @app.middleware
    def bind_incident(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        """Log lines of a request about an incident channel carry its number (see bot.logs)."""
        number = incident_numbers.get(context.channel_id) if context.channel_id else None
        CURRENT_INCIDENT.set(number)
        return next()

    register_all(app, services)
    return app


class ChannelIncidentCache:
    """channel id → incident number, remembered briefly so the hot path rarely queries."""

    def __init__(self, services: Services, ttl: float = 30.0) -> None:
        self.services = services
        self.ttl = ttl
        self._known: dict[str, tuple[float, int | None]] = {}

    def get(self, channel_id: str) -> int | None:
        now = time.monotonic()
        hit = self._known.get(channel_id)
        if hit and (hit[1] is not None or now - hit[0] < self.ttl):
            return hit[1]
        try:
            incident = self.services.repo.incident_by_channel(channel_id)
        except Exception:
            return None
        number = incident.number if incident else None
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[channel_id] = (now, number)
        return number


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


def create_asgi(bolt: App, health: HealthCheck) -> Starlette:
    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        kind = request_kind(body)
        if len(body) > MAX_BODY_BYTES:
            response = Response("payload too large", status_code=400)
        else:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                response = Response("body is not UTF-8", status_code=400)
            else:
                bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
                response = to_starlette_response(bolt_response)
        ACK_SECONDS.labels(kind).observe(time.perf_counter() - started)
        REQUESTS.labels(kind, str(response.status_code)).inc()
        return response

    async def metrics(_: Request) -> Response:
        payload, content_type = exposition()
        return Response(payload, media_type=content_type)

    async def healthz(_: Request) -> Response:
        report = await run_in_threadpool(health.report)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
