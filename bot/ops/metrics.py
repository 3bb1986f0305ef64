"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

import platform
import threading
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    start_http_server,
)
from slack_sdk import WebClient
from slack_sdk.http_retry import HttpResponse
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.ops.build import COMMIT, VERSION

REGISTRY = CollectorRegistry()
# prometheus_client's default collectors (process_*, python_info, python_gc_*) live in its global
# registry; ours is separate so tests and the emulator never mix in, so add them explicitly.
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

BUILD_INFO = Info("incident_bot_build", "The running incident-bot", registry=REGISTRY)
BUILD_INFO.info({"version": VERSION, "commit": COMMIT, "python": platform.python_version()})
EVENT_QUEUE_DEPTH = Gauge(
    "incident_bot_event_queue_depth",
    "Events acked and waiting for a dispatcher thread (transport http or socket)",
    ["transport"],
    registry=REGISTRY,
)

REQUESTS = Counter(
    "incident_bot_requests",
    "Slack requests received (transport http: POST /slack/events; socket: Socket Mode envelopes)",
    ["transport", "kind", "status"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "incident_bot_ack_seconds",
    "Time from receiving a Slack request to answering it",
    ["transport", "kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
    registry=REGISTRY,
)
SLACK_CALLS = Counter(
    "incident_bot_slack_api_calls", "Slack Web API calls", ["method", "outcome"], registry=REGISTRY
)
SLACK_RETRIES = Counter(
    "incident_bot_slack_api_retries", "Slack Web API retries", ["reason"], registry=REGISTRY
)
EVENTS_CAPTURED = Counter(
    "incident_bot_timeline_events_captured", "Timeline events captured", ["source"], registry=REGISTRY
)
JOBS_FIRED = Counter("incident_bot_jobs_fired", "Scheduled reminders sent", ["kind"], registry=REGISTRY)
SOCKET_STATES = ("ok", "connecting", "disconnected")
SOCKET_STATE = Gauge(
    "incident_bot_socket_mode_state",
    "Socket Mode connection state: 1 for the current one of ok / connecting / disconnected",
    ["state"],
    registry=REGISTRY,
)
SOCKET_RECONNECTS = Counter(
    "incident_bot_socket_mode_reconnects",
    "Socket Mode connections replaced by the watchdog, by reason "
    "(disconnect_<Slack's reason>, closed, silent)",
    ["reason"],
    registry=REGISTRY,
)
SOCKET_ACKS_DROPPED = Counter(
    "incident_bot_socket_mode_acks_dropped",
    "Socket Mode acks not sent because the envelope's connection was gone (Slack redelivers)",
    registry=REGISTRY,
)
# Durable intake (bot/slack/spool.py): what became of every Slack delivery. "dropped" must stay 0.
DELIVERY_OUTCOMES = ("stored", "spooled", "replayed", "dropped", "refused", "duplicate")
DELIVERIES = Counter(
    "incident_bot_deliveries",
    "Slack deliveries by transport (http, socket) and outcome: stored (handled on arrival), "
    "spooled (acknowledged into the local spool while the database was away), replayed (from the "
    "spool), dropped (acknowledged and lost: must stay 0), refused (answered non-2xx so Slack "
    "retries), duplicate",
    ["transport", "outcome"],
    registry=REGISTRY,
)
SPOOL_DEPTH = Gauge(
    "incident_bot_spool_depth", "Deliveries waiting in this replica's local spool", registry=REGISTRY
)
SPOOL_OLDEST_AGE = Gauge(
    "incident_bot_spool_oldest_age_seconds",
    "Age of the oldest delivery waiting in the local spool (0 when empty)",
    registry=REGISTRY,
)
DOCUMENTS_FAILED = Counter(
    "incident_bot_documents_failed",
    "Investigation documents that failed to generate or publish, by stage (assemble, write, upload)",
    ["stage"],
    registry=REGISTRY,
)
SCHEDULER_RUNS_FAILED = Counter(
    "incident_bot_scheduler_runs_failed", "Scheduler job runs that raised, by job", ["job"], registry=REGISTRY
)
OUTBOX_FAILED = Counter(
    "incident_bot_outbox_failed",
    "Work for another system (ticket, page, webhook, status page, email) that failed for good, by "
    "kind and why (refused by that system, or gave up after the last attempt)",
    ["kind", "why"],
    registry=REGISTRY,
)
SLACK_CALLS_FAILED = Counter(
    "incident_bot_slack_api_calls_failed",
    "Slack Web API calls that failed (error answer or exception), by method",
    ["method"],
    registry=REGISTRY,
)
DATABASE_ERRORS = Counter(
    "incident_bot_database_errors",
    "Database errors by kind: unreachable, schema, constraint, other",
    ["kind"],
    registry=REGISTRY,
)
OUTPUT_FREE_BYTES = Gauge(
    "incident_bot_output_free_bytes",
    "Free space on the file system of INCIDENT_OUTPUT_DIR",
    registry=REGISTRY,
)
# Observed once per incident at close (bot/analytics/observe.py), from its milestones.
DURATION_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800)
INCIDENT_DURATIONS = {
    key: Histogram(
        f"incident_bot_time_to_{key}_seconds" if key != "downtime" else "incident_bot_downtime_seconds",
        f"{label} of closed incidents (from their milestones)",
        ["severity"],
        buckets=DURATION_BUCKETS,
        registry=REGISTRY,
    )
    for key, label in (
        ("detect", "Time to detect"),
        ("identify", "Time to identify"),
        ("fix", "Time to fix"),
        ("downtime", "Total downtime"),
    )
}


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class MetricsServer:
    """/metrics on its own port (METRICS_PORT), on a daemon thread of prometheus_client's."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread
        self.port: int = server.server_address[1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(port: int, host: str) -> MetricsServer:
    """Raises OSError when the port cannot be bound."""
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    return MetricsServer(server, thread)


class _CountsRetries:
    reason = "unknown"

    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        SLACK_RETRIES.labels(self.reason).inc()
        super().prepare_for_next_attempt(**kwargs)  # type: ignore[misc]


class CountedConnectionRetry(_CountsRetries, ConnectionErrorRetryHandler):
    reason = "connection"


class CountedRateLimitRetry(_CountsRetries, RateLimitErrorRetryHandler):
    reason = "rate_limited"


class CountedServerErrorRetry(_CountsRetries, ServerErrorRetryHandler):
    """Also retries 502 and 504 (a gateway in front of Slack), which slack_sdk's handler does not."""

    reason = "server_error"
    RETRIED = frozenset({500, 502, 503, 504})

    def _can_retry(self, *, response: HttpResponse | None = None, **_: Any) -> bool:
        return response is not None and response.status_code in self.RETRIED


class MeteredWebClient(WebClient):
    """A WebClient that counts every Web API call by method and outcome."""

    def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().api_call(api_method, *args, **kwargs)
        except Exception as exc:
            error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error")
            SLACK_CALLS.labels(api_method, str(error or type(exc).__name__)).inc()
            SLACK_CALLS_FAILED.labels(api_method).inc()
            raise
        SLACK_CALLS.labels(api_method, "ok").inc()
        return response
