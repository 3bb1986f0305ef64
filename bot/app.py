"""The Bolt app and the ASGI app that serves it: POST /slack/events, GET /healthz."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.health import HealthCheck
from bot.listeners import register_all
from bot.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000


def create_bolt_app(services: Services) -> App:
    settings = services.settings
    assert settings.slack_signing_secret is not None
    app = App(
        client=services.client,
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

    register_all(app, services)
    return app


def create_asgi(bolt: App, health: HealthCheck) -> Starlette:
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response("payload too large", status_code=413)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Response("body is not UTF-8", status_code=400)
        bolt_request = to_bolt_request(request, body)
        bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        report = await run_in_threadpool(health.report)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
