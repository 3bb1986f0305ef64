"""`serve`: check everything first, then run. Any start-up problem is one clear line and exit 2."""

from __future__ import annotations

import errno
import logging
import signal
import socket
from dataclasses import dataclass

import uvicorn
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine, make_url

from bot.alerts import intake
from bot.config import Settings
from bot.followups.service import check_followups
from bot.ops import logs
from bot.ops.build import VERSION
from bot.ops.health import HealthCheck
from bot.ops.http_limits import raise_open_file_limit, uvicorn_options
from bot.ops.metrics import MetricsServer, start_metrics_server
from bot.reminders.scheduler import Scheduler
from bot.slack.app import IncidentBotApp, accepting, create_asgi, create_bolt_app
from bot.slack.client import make_client, slack_error
from bot.slack.socket_mode import SocketModeError, SocketModeRunner, check_app_token
from bot.wiring import Services, build_services
from storage.db import make_engine, ping
from storage.migrate import upgrade

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A reason not to start, as one human line."""


def redacted_url(database_url: str) -> str:
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable DATABASE_URL>"


def open_database(settings: Settings) -> Engine:
    try:
        engine = make_engine(settings.database_url)
        ping(engine)
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        for secret in settings.secrets():
            reason = reason.replace(secret, "[redacted]")
        raise StartupError(
            f"database unreachable at {redacted_url(settings.database_url)}: {reason}"
        ) from exc
    try:
        before, after = upgrade(engine)
    except Exception as exc:
        raise StartupError(f"database migration failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "empty", after)
    return engine


def check_slack(settings: Settings) -> dict[str, str]:
    assert settings.slack_bot_token is not None
    quick = make_client(
        settings.slack_bot_token.get_secret_value(), settings.slack_api_url, timeout=4, patient=False
    )
    try:
        auth = quick.auth_test()
    except SlackApiError as exc:
        raise StartupError(f"Slack rejected SLACK_BOT_TOKEN: auth.test answered {slack_error(exc)}") from exc
    except Exception as exc:
        raise StartupError(
            f"cannot reach the Slack API at {settings.slack_api_url}: {type(exc).__name__}"
        ) from exc
    return {"user_id": auth["user_id"], "team_id": auth.get("team_id", ""), "bot_id": auth.get("bot_id", "")}


def check_announce_channel(settings: Settings, client: WebClient) -> None:
    """INCIDENT_ANNOUNCE_CHANNEL exists, is not archived, and the bot can post there: a member, or a
    public channel (the manifest's ``chat:write.public``). A private channel the bot is not in is
    invisible to it (``channel_not_found``)."""
    channel = settings.announce_channel
    if not channel:
        return
    where = f"INCIDENT_ANNOUNCE_CHANNEL {channel}"
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        error = slack_error(exc)
        if error == "channel_not_found":
            raise StartupError(
                f"{where}: no such channel visible to the bot (use the channel ID, C0…; "
                "for a private channel, /invite the bot there first)"
            ) from exc
        raise StartupError(f"{where}: conversations.info answered {error}") from exc
    except Exception as exc:
        raise StartupError(f"{where}: cannot check it: {type(exc).__name__}") from exc
    if info.get("is_archived"):
        raise StartupError(f"{where}: #{info.get('name', channel)} is archived")
    if info.get("is_private") and not info.get("is_member"):
        raise StartupError(f"{where}: the bot is not a member of #{info.get('name', channel)}: /invite it")
    if not info.get("is_member"):
        log.info(
            "the bot is not a member of the announcement channel #%s: it posts there as a public "
            "channel (chat:write.public); /invite it to see replies",
            info.get("name", channel),
        )


@dataclass
class Runtime:
    services: Services
    health: HealthCheck


def prepare(settings: Settings) -> Runtime:
    """Everything `serve` does before accepting requests; raises StartupError."""
    problems = settings.require_slack_credentials()
    if problems:
        raise StartupError("; ".join(problems))
    engine = open_database(settings)
    auth = check_slack(settings)
    check_followups(settings, StartupError)
    assert settings.slack_bot_token is not None
    client: WebClient = make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    check_announce_channel(settings, client)
    services = build_services(settings, engine, client, bot_user_id=auth["user_id"])
    problems = services.alerts.problems(intake_on=intake.configured(settings)) + services.paging.problems()
    if problems:
        raise StartupError("; ".join(problems))
    health = HealthCheck(engine, client)
    health.mark_slack_ok()
    return Runtime(services, health)


def check_port_free(host: str, port: int) -> None:
    """Bind the address once (as uvicorn will, SO_REUSEADDR too): taken or not ours is a
    StartupError, before anything is started."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise StartupError(f"cannot listen on {host}:{port}: {reason}") from exc


def serve(
    settings: Settings, socket_mode: bool = False, port: int | None = None, host: str | None = None
) -> int:
    logs.configure(settings.log_level, settings.log_format, settings.secrets())
    use_socket = socket_mode or settings.slack_app_token is not None
    host = host or settings.host
    port = port or settings.port
    try:
        if use_socket and settings.slack_app_token is None:
            raise StartupError("--socket-mode needs SLACK_APP_TOKEN (the app-level token, xapp-…)")
        check_port_free(host, port)
        runtime = prepare(settings)
        bolt = create_bolt_app(runtime.services)
        start_background(runtime.services, bolt)  # heartbeats begin before any event can arrive
        sockets = start_socket_mode(bolt, settings, runtime.health) if use_socket else None
        metrics = _metrics_server(settings)
    except StartupError as exc:
        logs.error_line(f"incident-bot: cannot start: {exc}", settings.log_format)
        return 2
    asgi = create_asgi(bolt, runtime.health, serve_metrics=metrics is None)
    scheduler = Scheduler(runtime.services.reminder_sweeper()).start()
    runtime.health.extra["scheduler"] = scheduler.health
    log.info(
        "incident-bot %s serving on %s:%s (%s)%s",
        VERSION,
        host,
        port,
        "socket mode" if use_socket else "http",
        f", /metrics on port {settings.metrics_port}" if metrics is not None else "",
    )
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it with this handler in place, so
    # the socket closes (acked events finish), the scheduler stops next and the process exits 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    raise_open_file_limit()
    try:
        uvicorn.run(
            asgi,
            host=host,
            port=port,
            log_level="warning",
            log_config=None,  # uvicorn's records go to our handler: JSON with LOG_FORMAT=json
            access_log=False,
            **uvicorn_options(),
        )
    finally:
        if sockets is not None:
            sockets.close()
        scheduler.shutdown(wait=True)
        stop_recording(bolt, runtime.services)
        if metrics is not None:
            metrics.close()
    return 0


def _metrics_server(settings: Settings) -> MetricsServer | None:
    """/metrics on METRICS_PORT, when set (then the main port does not serve it)."""
    if settings.metrics_port is None:
        return None
    try:
        return start_metrics_server(settings.metrics_port, settings.host)
    except OSError as exc:
        raise StartupError(
            f"METRICS_PORT {settings.metrics_port}: cannot listen: {exc.strerror or exc}"
        ) from exc


def start_background(services: Services, bolt: IncidentBotApp) -> None:
    """The timeline's threads, beside the scheduler: heartbeats while the listener pool takes work,
    and a catch-up of open incidents (what happened while no bot was recording)."""
    services.timeline.start_background(accepting(bolt.listener_runner.listener_executor))
    services.alerts.start()
    services.paging.start()


def stop_recording(bolt: IncidentBotApp, services: Services) -> None:
    """Finish the events already acked, then write the final heartbeat: the period after it is a
    gap that the next start reads back from Slack. The alert cards' and paging's threads stop too."""
    bolt.listener_runner.listener_executor.shutdown(wait=True)
    services.documents.shutdown(wait=True)  # the documents already started are written
    services.alerts.stop()
    services.paging.stop()
    heartbeat = services.timeline.heartbeat
    if heartbeat is not None:
        heartbeat.stop()


def start_socket_mode(bolt: IncidentBotApp, settings: Settings, health: HealthCheck) -> SocketModeRunner:
    """Check the app token, open the socket, and report its state in /healthz as `socket_mode`."""
    assert settings.slack_app_token is not None
    token = settings.slack_app_token.get_secret_value()
    try:
        check_app_token(token, settings.slack_api_url)
        silence = settings.socket_silence_timeout
        runner = SocketModeRunner(bolt, token, ping_interval=silence * 0.4, silence_timeout=silence)
        runner.connect()
    except SocketModeError as exc:
        raise StartupError(str(exc)) from exc
    health.extra["socket_mode"] = runner.state
    return runner


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)
