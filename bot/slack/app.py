"""The Bolt app and the ASGI app that serves it: POST /slack/events, the probes, /metrics."""

from __future__ import annotations

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
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.alerts import intake
from bot.errors import DATABASE_DOWN, IncidentBotError, sorry
from bot.incidents.access import Action
from bot.incidents.entry_points import undeclared
from bot.ops.failures import database_error
from bot.ops.health import HealthCheck
from bot.ops.http_boundary import NO_BODY, BodyRefused, CloseUnread, Limits, bounded
from bot.ops.logs import CURRENT_INCIDENT, tag_delivery
from bot.ops.metrics import ACK_SECONDS, REQUESTS
from bot.ops.probes import probe_routes
from bot.ops.request_values import is_ascii_number
from bot.slack.authorize import BotTokenAuthorize, bolt_blind_to_oauth_environment
from bot.slack.client import slack_error
from bot.slack.deliveries import note_database_error
from bot.slack.event_queue import EventDispatcher
from bot.slack.listeners import register_all
from bot.slack.spool import Spool
from bot.statuspage.web import status_routes
from bot.timeline.service import TimelineService
from bot.web import web_routes
from bot.wiring import Services
from storage.db import ping

log = logging.getLogger(__name__)
# Bolt re-reads SLACK_BOT_TOKEN from the environment even when given our client and authorize (which
# hands it the bot token, bot.slack.authorize), then warns it is unused.
logging.getLogger("slack_bolt.App").addFilter(
    lambda r: not any(s in r.getMessage() for s in ("`token` will be unused", "`token` (or SLACK_BOT_TOKEN"))
)

MAX_BODY_BYTES = 1_000_000
SIGNATURE_MAX_AGE_S = 300  # Slack's bound: the signature verifier refuses older requests too
AppT = TypeVar("AppT", bound=App)


def signed_head(request: Request, now: Callable[[], float] = time.time) -> Response | None:
    """A Slack request's head before its body is read: a ``v0=`` signature and a timestamp within
    five minutes (the body is verified against them later). An unsigned or replayed request is
    refused at once instead of holding a connection for the body's deadline."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signed = request.headers.get("x-slack-signature", "").startswith("v0=")
    if not (signed and is_ascii_number(timestamp) and abs(now() - int(timestamp)) <= SIGNATURE_MAX_AGE_S):
        return PlainTextResponse("invalid or stale signature", status_code=401)
    return None


class IncidentBotApp(App):
    """The Bolt app for commands and interactions, whose acks people wait for.

    ``events`` is its twin for the Events API: same listeners, run inline by the event dispatcher's
    threads (events are spooled and acked before they are dispatched), so a burst of events never holds the
    listener threads a slash command needs to answer within Slack's 3 seconds.
    """

    events: App
    services: Services  # for the /ui web mount (bot/web) and the alert intake route
    intake: EventDispatcher | None  # the Events API dispatcher and its spool: open_intake()


def create_bolt_app(services: Services) -> IncidentBotApp:
    authorize = BotTokenAuthorize(services.client, services.slack_auth)
    with bolt_blind_to_oauth_environment():
        app = IncidentBotApp(**_app_options(services, authorize, inline=False))
        events = App(**_app_options(services, authorize, inline=True))
    app = _configure(app, services)
    app.events = _configure(events, services)
    app.services = services
    app.intake = None
    return app


def open_intake(app: IncidentBotApp) -> EventDispatcher:
    """The process's one Events API dispatcher (every transport shares it), with this replica's
    spool, opened on first use. Raises SpoolError when the spool folder cannot be used."""
    if app.intake is None:
        settings, engine = app.services.settings, app.services.engine

        def database_answers() -> bool:
            try:
                ping(engine)
            except Exception:
                return False
            return True

        spool = Spool(settings.spool_folder(), settings.spool_max_deliveries, settings.spool_max_mb * 2**20)
        app.intake = EventDispatcher(app.events.dispatch, spool, database_answers)
    return app.intake


def _app_options(services: Services, authorize: BotTokenAuthorize, inline: bool) -> dict[str, Any]:
    settings = services.settings
    assert settings.slack_signing_secret is not None
    return {
        "name": "incident-bot-events" if inline else "incident-bot",  # Bolt's default walks the stack
        "client": services.client,
        "authorize": authorize,
        "listener_executor": ContextThreadPool(max_workers=16, thread_name_prefix="listener"),
        "signing_secret": settings.slack_signing_secret.get_secret_value(),
        "process_before_response": inline,
        "raise_error_for_unhandled_request": False,
        "ignoring_self_events_enabled": False,
    }


def _configure(app: AppT, services: Services) -> AppT:
    """The error boundary, the middleware putting the services and the channel's incident into
    Bolt's context (listeners receive them by name), then every capability's listeners."""
    app.error(on_error)
    app.middleware(bind_delivery)

    @app.middleware
    def bind_services(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context.update(services.context())
        return next()

    app.middleware(bind_incident)
    register_all(app)
    missing = undeclared(app)
    if missing:
        raise RuntimeError(f"listeners without a declared access action: {', '.join(missing)}")
    return app


def bind_delivery(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
    """Log lines of the request (its listeners included) carry its id (see bot.ops.logs)."""
    tag_delivery(delivery_id(body))
    return next()


def delivery_id(body: dict[str, Any]) -> str | None:
    """An event's ``event_id``; the ``trigger_id`` of a command or an interaction."""
    found = body.get("event_id") or body.get("trigger_id")
    return found if isinstance(found, str) and found else None


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
            why = database_error(exc) if isinstance(exc, SQLAlchemyError) else ""
            log.warning("no incident lookup for %s: %s", context.channel_id, why or type(exc).__name__)
            context["incident_unavailable"] = why  # the description, for the command's log line
            if isinstance(exc, SQLAlchemyError):
                note_database_error(exc)  # an event's work is not done: it waits in the spool
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
        note_database_error(error)
        log.error("%s in a listener", database_error(error), exc_info=error)
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


def create_asgi(bolt: IncidentBotApp, health: HealthCheck, serve_metrics: bool = True) -> Starlette:
    """``serve_metrics=False`` when /metrics has its own port (METRICS_PORT): then it is not here."""
    s = bolt.services
    verifier = SignatureVerifier(bolt._signing_secret)
    events = open_intake(bolt)
    health.extra["spool"] = events.health

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await request.body()  # within the route's limits (bot.ops.http_boundary)
        except BodyRefused as refused:
            REQUESTS.labels("http", "other", str(refused.status)).inc()
            raise
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
            is_ascii_number(timestamp)
            and verifier.is_valid(body=text, timestamp=timestamp, signature=signature)
        ):
            return PlainTextResponse("invalid or stale signature", status_code=401)
        try:
            payload = parse_body(text, request.headers.get("content-type", ""))
        except ValueError:
            return PlainTextResponse("malformed body", status_code=400)
        if not isinstance(payload, dict) or not payload:
            return PlainTextResponse("malformed body", status_code=400)
        if payload.get("type") == "event_callback":
            if not isinstance(payload.get("event"), dict):
                return PlainTextResponse("malformed event", status_code=400)
            event_id = payload.get("event_id")
            # Acknowledged only once it is in the spool, on disk; else Slack must deliver it again.
            if await run_in_threadpool(
                events.accept, "http", text, event_id if isinstance(event_id, str) else None
            ):
                return Response(status_code=200)
            return PlainTextResponse(f"not stored, retry later: spool {events.health()}", status_code=503)
        bolt_request = to_bolt_request(request, body)
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
        middleware=[Middleware(CloseUnread)],
        routes=[
            # Signed by Slack; each listener declares its own action (bot.incidents.entry_points).
            bounded(
                Route("/slack/events", slack_events, methods=["POST"]),
                Limits(MAX_BODY_BYTES, admit=signed_head),
                Action.PUBLIC,
            ),
            alert_route(bolt.services),
            *(bounded(route, NO_BODY, Action.PUBLIC) for route in probe_routes(health, serve_metrics)),
            *status_routes(
                s.statuspage.public
            ),  # /status: public, read-only, if [statuspage] lists components
            *web_routes(
                s.settings, s.repo, s.client, s.now, s.access
            ),  # /ui/: read-only pages, if INCIDENT_WEB_URL
        ],
    )


def alert_route(services: Services) -> Route:
    """POST /alerts/alertmanager and /alerts/grafana: credentials checked on the request head
    (``intake.admit``), a size-limited body, then (in a thread) authenticate, parse and record it
    (``bot.alerts.intake``)."""
    settings = services.settings

    def admit(request: Request) -> Response | None:
        if request.path_params.get("source") not in intake.SOURCES:
            return PlainTextResponse("not found", status_code=404)
        refused = intake.admit(settings, request.headers)
        return None if refused is None else _json(refused)

    async def alerts_in(request: Request) -> Response:
        source = request.path_params["source"]
        body = await request.body()
        answer = await run_in_threadpool(
            intake.handle, services.alerts, services.settings, source, request.headers, body
        )
        return _json(answer)

    limits = Limits(settings.config.alerts.max_body_bytes, admit=admit)
    return bounded(
        Route("/alerts/{source}", alerts_in, methods=["POST"]), limits, Action.PUBLIC
    )  # its bearer token


def _json(answer: intake.Answer) -> Response:
    return Response(answer.json(), status_code=answer.status, media_type="application/json")
