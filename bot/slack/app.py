"""The Bolt app and the ASGI app that serves it: POST /slack/events, the probes, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from slack_bolt import App, BoltContext, BoltResponse, Respond
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.alerts import intake
from bot.errors import DATABASE_DOWN, IncidentBotError, sorry
from bot.ops.health import HealthCheck
from bot.ops.logs import CURRENT_INCIDENT
from bot.ops.metrics import ACK_SECONDS, REQUESTS
from bot.ops.probes import probe_routes
from bot.slack.client import slack_error
from bot.slack.event_queue import EventDispatcher
from bot.slack.listeners import register_all
from bot.timeline.service import TimelineService
from bot.web import web_routes
from bot.wiring import Services

log = logging.getLogger(__name__)
# Bolt re-reads SLACK_BOT_TOKEN from the environment even when given our client, then warns it is unused.
logging.getLogger("slack_bolt.App").addFilter(lambda r: "`token` will be unused" not in r.getMessage())

MAX_BODY_BYTES = 1_000_000
# Slack's requests arrive whole in well under a second, and it gives up on the ack after 3 s.
BODY_DEADLINE = 10.0
MAX_NUMBER_DIGITS = 12  # a Unix timestamp has 10; Content-Length over 12 digits is over the limit anyway
AppT = TypeVar("AppT", bound=App)


class IncidentBotApp(App):
    """The Bolt app for commands and interactions, whose acks people wait for.

    ``events`` is its twin for the Events API: same listeners, run inline by the event dispatcher's
    threads (events are acked before they are dispatched), so a burst of events never holds the
    listener threads a slash command needs to answer within Slack's 3 seconds.
    """

    events: App
    services: Services  # for the /ui web mount (bot/web) and the alert intake route


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
    """The error boundary, the middleware putting the services and the channel's incident into
    Bolt's context (listeners receive them by name), then every capability's listeners."""
    app.error(on_error)

    @app.middleware
    def bind_services(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context.update(services.context())
        return next()

    app.middleware(bind_incident)
    register_all(app)
    return app


def bind_incident(
    context: BoltContext, body: dict[str, Any], timeline: TimelineService, next: Callable[[], BoltResponse]
) -> BoltResponse:
    """``context["incident"]``: the active incident of the request's channel (None when it is not
    an incident's; ``incident_unavailable`` when the database could not say). Log lines of the
    request carry its number (see bot.ops.logs).

    A slash command asks the database, not the capture path's cache: the lookup doubles as the
    check that the database answers, so during an outage the command's own answer says so
    (``DATABASE_DOWN``) rather than an empty ack followed by a failure."""
    incident = None
    if context.channel_id:
        lookup = timeline.incidents.lookup if "command" in body else timeline.incidents.get
        try:
            incident = lookup(context.channel_id)
        except Exception as exc:
            log.warning("no incident lookup for %s: %s", context.channel_id, type(exc).__name__)
            context["incident_unavailable"] = isinstance(exc, SQLAlchemyError)
    context["incident"] = incident
    CURRENT_INCIDENT.set(incident.number if incident else None)
    return next()


INTERACTIVE = frozenset({"block_actions", "view_submission", "shortcut", "message_action"})


def on_error(
    error: Exception, body: dict[str, Any], context: BoltContext, respond: Respond | None
) -> BoltResponse:
    """The one error boundary: a listener's failure is logged and, when a person asked for
    something (a command, a click, a form, a shortcut), told to them ephemerally. Events only log."""
    if isinstance(error, IncidentBotError):
        text = error.user_message
        log.info("refused: %s", error)
    elif isinstance(error, SQLAlchemyError):
        text = DATABASE_DOWN
        log.exception("database unavailable in a listener", exc_info=error)
    else:
        text = sorry(context.get("doing"))
        log.exception("unhandled error in a listener", exc_info=error)
    if "command" in body or body.get("type") in INTERACTIVE:
        _tell(text, body, context, respond)
    return BoltResponse(status=200, body="")


def _tell(text: str, body: dict[str, Any], context: BoltContext, respond: Respond | None) -> None:
    try:
        if respond is not None and body.get("type") == "block_actions":
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif respond is not None and "command" in body:
            respond(text=text, response_type="ephemeral")
        elif context.get("reply_channel") and context.user_id and context.client is not None:
            context.client.chat_postEphemeral(
                channel=context["reply_channel"], user=context.user_id, text=text
            )
        elif respond is not None:
            respond(text=text, response_type="ephemeral")
    except Exception as exc:
        log.info("could not tell %s: %s", context.user_id, slack_error(exc))


def accepting(executor: Executor) -> Callable[[], bool]:
    """Whether this process still takes events: its listener pool accepts work."""

    def alive() -> bool:
        try:
            executor.submit(_noop)
        except RuntimeError:
            return False
        return True

    return alive


def _noop() -> None:
    return None


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


class BodyRefused(Exception):
    """A request body not worth reading further: the answer to give instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _refuse(message: str, status: int = 400) -> BodyRefused:
    # The rest of the body is never read: h11 then closes the connection after the answer
    # (Connection: close), so a client cannot keep streaming into a kept-alive socket.
    return BodyRefused(PlainTextResponse(message, status_code=status, headers={"Connection": "close"}))


async def read_body(request: Request, limit: int | None = None, deadline: float | None = None) -> bytes:
    """The body, read chunk by chunk: refused on a declared or actual size over ``limit`` (so an
    unsigned body is never buffered past it) and when it has not all arrived within ``deadline``."""
    limit = MAX_BODY_BYTES if limit is None else limit
    deadline = BODY_DEADLINE if deadline is None else deadline
    declared = request.headers.get("content-length")
    if declared is not None:
        if not is_ascii_number(declared, MAX_NUMBER_DIGITS):
            raise _refuse("bad content-length")
        if int(declared) > limit:
            raise _refuse("payload too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _refuse("payload too large")
                chunks.append(chunk)
    except TimeoutError:
        raise _refuse("request body too slow", 408) from None
    except ClientDisconnect:
        raise _refuse("client went away") from None
    return b"".join(chunks)


def is_ascii_number(text: str, max_digits: int) -> bool:
    """ASCII digits only (not `²` or `٣`, which isdigit() accepts), at most ``max_digits``."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def create_asgi(bolt: IncidentBotApp, health: HealthCheck, serve_metrics: bool = True) -> Starlette:
    """``serve_metrics=False`` when /metrics has its own port (METRICS_PORT): then it is not here."""
    s = bolt.services
    verifier = SignatureVerifier(bolt._signing_secret)
    events = EventDispatcher(bolt.events.dispatch, transport="http")

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await read_body(request)
        except BodyRefused as refused:
            body, response = b"", refused.response
        else:
            response = await _answer(request, body)
        kind = request_kind(body)
        ACK_SECONDS.labels("http", kind).observe(time.perf_counter() - started)
        REQUESTS.labels("http", kind, str(response.status_code)).inc()
        return response

    async def _answer(request: Request, body: bytes) -> Response:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("body is not UTF-8", status_code=400)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not (
            is_ascii_number(timestamp, MAX_NUMBER_DIGITS)
            and verifier.is_valid(body=text, timestamp=timestamp, signature=signature)
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

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(health.start)
        try:
            yield
        finally:
            health.stop()
            await run_in_threadpool(events.shutdown)

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            alert_route(bolt.services),
            *probe_routes(health, serve_metrics),
            *web_routes(s.settings, s.repo, s.client, s.now),  # /ui/: read-only pages, if INCIDENT_WEB_URL
        ],
    )


def alert_route(services: Services) -> Route:
    """POST /alerts/alertmanager and /alerts/grafana: a size-limited body, then (in a thread)
    authenticate, parse and record it (``bot.alerts.intake``)."""

    async def alerts_in(request: Request) -> Response:
        source = request.path_params["source"]
        if source not in intake.SOURCES:
            return PlainTextResponse("not found", status_code=404)
        try:
            body = await read_body(request, limit=services.settings.config.alerts.max_body_bytes)
        except BodyRefused as refused:
            return refused.response
        answer = await run_in_threadpool(
            intake.handle, services.alerts, services.settings, source, request.headers, body
        )
        return Response(answer.json(), status_code=answer.status, media_type="application/json")

    return Route("/alerts/{source}", alerts_in, methods=["POST"])
