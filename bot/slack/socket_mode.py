"""Socket Mode: the same Bolt app over Slack's WebSocket, for teams without a public URL.

Client: slack_sdk's `websocket-client` based SocketModeClient (through Bolt's adapter). The built-in
client was tried first and rejected: after an abrupt drop it spins on EOF and only reconnects after
five failed pings (about 50 s with Bolt's 10 s ping interval); websocket-client reports the lost
connection at once and the client reconnects on a fresh URL.

Acks match the HTTP path (bot.slack.app): an event envelope is queued to the EventDispatcher and acked at
once, so a slow listener never delays it; commands and interactions are dispatched inline because
their ack carries the response (views' response_action, ephemeral usage text). Redeliveries after a
reconnect are absorbed by the listeners' dedupe (event_id claims, trigger_id claims).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from slack_bolt import BoltRequest
from slack_bolt.adapter.socket_mode.internals import build_headers, run_bolt_app, send_response
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.socket_mode.websocket_client import SocketModeClient

from bot.ops.metrics import ACK_SECONDS, REQUESTS
from bot.slack.app import IncidentBotApp
from bot.slack.client import make_client, slack_error
from bot.slack.event_queue import EventDispatcher

log = logging.getLogger(__name__)

ENVELOPE_KINDS = {"events_api": "events", "slash_commands": "commands", "interactive": "interactive"}
CONNECT_TIMEOUT = 10.0
DISCONNECTED_GRACE = 30.0


class SocketModeError(Exception):
    """The app token was refused or the socket did not open: one human line."""


class SocketModeRunner(SocketModeHandler):
    """Bolt's Socket Mode handler with immediate event acks and a health state."""

    def __init__(
        self,
        app: IncidentBotApp,
        app_token: str,
        grace: float = DISCONNECTED_GRACE,
        ping_interval: float = 10.0,
    ) -> None:
        super().__init__(app, app_token, logger=log, ping_interval=ping_interval)
        self.events = EventDispatcher(app.events.dispatch, transport="socket")
        self.grace = grace
        self._down_since: float | None = time.monotonic()
        self._lock = threading.Lock()
        self._hello = threading.Event()
        self.client.message_listeners.append(self._on_message)

    def _on_message(self, client: object, message: dict[str, Any], raw: str | None) -> None:
        if message.get("type") == "hello":
            self._hello.set()

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        kind = ENVELOPE_KINDS.get(req.type, "other")
        if req.type == "events_api":
            if not isinstance(req.payload.get("event"), dict):
                log.warning("Socket Mode: events_api envelope without an event, acked and ignored")
            else:
                self.events.submit(
                    BoltRequest(mode="socket_mode", body=req.payload, headers=build_headers(req))
                )
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            status = 200
        else:
            response = run_bolt_app(self.app, req)
            send_response(client, req, response, time.time())
            status = response.status
        ACK_SECONDS.labels("socket", kind).observe(time.perf_counter() - started)
        REQUESTS.labels("socket", kind, str(status)).inc()

    def connect(self) -> None:
        """Open the first connection and wait for Slack's hello; raise SocketModeError if none comes."""
        # slack_sdk starts its connection monitor with the first session, before that session has a
        # socket: the monitor's first look then "reconnects" and the first session lives on unowned.
        # Start the monitor once the first session is up instead.
        self.client.current_app_monitor_started = True
        try:
            self.client.connect()
        except Exception as exc:
            raise SocketModeError(f"cannot open a Socket Mode connection: {slack_error(exc)}") from exc
        if not self._hello.wait(CONNECT_TIMEOUT):
            self.close()
            raise SocketModeError(f"Slack did not say hello over Socket Mode within {CONNECT_TIMEOUT:.0f}s")
        self.client.current_app_monitor.start()

    def state(self) -> str:
        """ok (connected) / connecting (down less than the grace period) / disconnected."""
        with self._lock:
            if self.client.is_connected():
                self._down_since = None
                return "ok"
            if self._down_since is None:
                self._down_since = time.monotonic()
            return "connecting" if time.monotonic() - self._down_since < self.grace else "disconnected"

    def close(self) -> None:
        """Stop receiving, then finish the events already acked."""
        close_client(self.client)
        self.events.shutdown()


def close_client(client: SocketModeClient) -> None:
    """Close a SocketModeClient at once.

    Not slack_sdk's close(): it joins the session thread, which sits in select() on a socket that
    closing from another thread does not wake (~10 s, until the next ping). Shutting the socket
    down wakes it.
    """
    client.closed = True
    client.auto_reconnect_enabled = False
    client.message_queue.put(None)  # wakes the message processor now instead of after 1 s
    client.current_session_runner.event.set()
    raw = getattr(getattr(client.current_session, "sock", None), "sock", None)
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)
    client.disconnect()
    for runner in (client.current_app_monitor, client.message_processor):
        if runner.is_alive():
            runner.shutdown()
    client.message_workers.shutdown()
    if client.current_session_runner.is_alive():
        client.current_session_runner.thread.join(2.0)


def check_app_token(app_token: str, api_url: str) -> None:
    """apps.connections.open once, quickly, so a bad SLACK_APP_TOKEN fails start-up in one line."""
    quick = make_client(app_token, api_url, timeout=4, patient=False)
    try:
        quick.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise SocketModeError(
            f"Slack rejected SLACK_APP_TOKEN: apps.connections.open answered {slack_error(exc)}"
        ) from exc
    except Exception as exc:
        raise SocketModeError(f"cannot reach the Slack API at {api_url}: {type(exc).__name__}") from exc
