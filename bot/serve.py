"""`serve`: check everything first, then run. Any start-up problem is one clear line and exit 2.

The running application (Bolt and its listeners, every capability, the scheduler, uvicorn: most
of a start's CPU) is imported only once the cheap checks of ``bot.startup`` have passed, so a
refusal costs a fraction of a start (and so does each test of one)."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.config import Settings
from bot.ops import logs
from bot.ops.build import describe
from bot.slack.client import make_client
from bot.startup import (
    StartupError,
    check_announce_channel,
    check_port_free,
    check_slack,
    open_database,
    resolve_announce_channel,
)

if TYPE_CHECKING:
    from bot.ops.health import HealthCheck
    from bot.ops.metrics import MetricsServer
    from bot.slack.app import IncidentBotApp
    from bot.slack.socket_mode import SocketModeRunner
    from bot.wiring import Services

__all__ = [
    "Runtime",
    "StartupError",
    "open_database",
    "prepare",
    "serve",
    "start_background",
    "start_socket_mode",
]

log = logging.getLogger(__name__)


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
    from bot.alerts import intake
    from bot.followups.service import check_followups
    from bot.ops.health import HealthCheck
    from bot.wiring import build_services

    check_followups(settings, StartupError)
    assert settings.slack_bot_token is not None
    client: WebClient = make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    settings = resolve_announce_channel(settings, client)
    check_announce_channel(settings, client)
    services = build_services(
        settings,
        engine,
        client,
        bot_user_id=auth["user_id"],
        workspace_url=auth["url"] or None,
        slack_auth=auth,
    )
    problems = (
        services.alerts.problems(intake_on=intake.configured(settings))
        + services.paging.problems()
        + services.statuspage.sync.problems()
        + services.statuspage.mailer.problems()
    )
    if problems:
        raise StartupError("; ".join(problems))
    health = HealthCheck(engine, client)
    health.mark_slack_ok()
    return Runtime(services, health)


def serve(
    settings: Settings, socket_mode: bool = False, port: int | None = None, host: str | None = None
) -> int:
    logs.configure(settings.log_level, settings.log_format, settings.secrets())
    startup = logs.StartupLog(log, f"incident-bot {describe()} starting")  # the first line: which release
    use_socket = socket_mode or settings.slack_app_token is not None
    host = host or settings.host
    port = port or settings.port
    try:
        if use_socket and settings.slack_app_token is None:
            raise StartupError("--socket-mode needs SLACK_APP_TOKEN (the app-level token, xapp-…)")
        check_port_free(host, port)
        runtime = prepare(settings)
        from bot.slack.app import create_asgi, create_bolt_app

        bolt = create_bolt_app(runtime.services)
        open_spool(bolt)
        start_background(runtime.services, bolt)  # heartbeats begin before any event can arrive
        sockets = start_socket_mode(bolt, settings, runtime.health) if use_socket else None
        metrics = _metrics_server(settings)
    except StartupError as exc:
        startup.failed()
        logs.error_line(f"incident-bot: cannot start: {exc}", settings.log_format)
        return 2
    except BaseException:
        startup.failed()
        raise
    startup.started()
    import uvicorn

    from bot.ops.http_limits import raise_open_file_limit, uvicorn_options
    from bot.reminders.scheduler import Scheduler

    asgi = create_asgi(bolt, runtime.health, serve_metrics=metrics is None)
    scheduler = Scheduler(runtime.services.reminder_sweeper()).start()
    runtime.health.extra["scheduler"] = scheduler.health
    log.info(
        "incident-bot %s serving on %s:%s (%s)%s",
        describe(),
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
    from bot.ops.metrics import start_metrics_server

    try:
        return start_metrics_server(settings.metrics_port, settings.host)
    except OSError as exc:
        raise StartupError(
            f"METRICS_PORT {settings.metrics_port}: cannot listen: {exc.strerror or exc}"
        ) from exc


def open_spool(bolt: IncidentBotApp) -> None:
    """This replica's spool, taken (and any deliveries left in it replayed) before anything is served."""
    from bot.slack.app import open_intake
    from bot.slack.spool import SpoolError

    try:
        open_intake(bolt)
    except SpoolError as exc:
        raise StartupError(f"{exc} (set INCIDENT_SPOOL_DIR to a writable local folder)") from exc


def start_background(services: Services, bolt: IncidentBotApp) -> None:
    """The timeline's threads, beside the scheduler: heartbeats while the listener pool takes work,
    and a catch-up of open incidents (what happened while no bot was recording)."""
    from bot.slack.app import accepting

    services.timeline.start_background(accepting(bolt.listener_runner.listener_executor))
    services.alerts.start()
    services.paging.start()
    services.statuspage.sync.start()
    services.statuspage.mailer.start()
    services.workflows.start_background()


def stop_recording(bolt: IncidentBotApp, services: Services) -> None:
    """Finish the events already acked, then write the final heartbeat: the period after it is a
    gap that the next start reads back from Slack. The alert cards' and paging's threads stop too."""
    bolt.listener_runner.listener_executor.shutdown(wait=True)
    services.documents.shutdown(wait=True)  # the documents already started are written
    services.alerts.stop()
    services.paging.stop()
    services.statuspage.sync.stop()
    services.statuspage.mailer.stop()
    services.timeline.confirmer.stop()  # a burst's summary waiting for its end is posted now
    services.workflows.stop()
    heartbeat = services.timeline.heartbeat
    if heartbeat is not None:
        heartbeat.stop()


def start_socket_mode(bolt: IncidentBotApp, settings: Settings, health: HealthCheck) -> SocketModeRunner:
    """Check the app token, open the socket, and report its state in /healthz as `socket_mode`."""
    from bot.slack.socket_mode import SocketModeError, SocketModeRunner, check_app_token

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
