"""Socket Mode: the same Bolt app over Slack's WebSocket, for teams without a public URL.

The bot owns the connection, not slack_sdk. Each connection is a `Link`: one slack_sdk client that
opens exactly one WebSocket and is never reconnected in place (its own reconnect logic is off).
A watchdog thread looks at the current link four times a second and replaces it when

* Slack sent `disconnect` (refresh_requested / warning / link_disabled): a new link is opened first,
  the old one drains for a moment (acks of what it delivered still go out on it) and is closed;
* the link is closed (abrupt drop, close frame): it is replaced at once;
* nothing was heard on it (no pong, no message) for `silence_timeout` seconds while pinging every
  `ping_interval`: a half-open socket; it is shut down and replaced.

A new link comes from `apps.connections.open` (a fresh one-time URL) and counts once Slack's hello
arrives; failures back off exponentially with full jitter. Closing a link happens on a thread of
its own, so a slack_sdk thread stuck in `select()` can never hold the watchdog.

Acks: an envelope is acked on the link it arrived on, or not at all when that link is no longer
connected (Slack redelivers it; the listeners' dedupe absorbs the copy). An event envelope is acked
once the EventDispatcher has it in the spool on disk, and not at all when the spool refuses it;
commands and interactions are dispatched inline because their ack carries the response.

Client: websocket-client (slack_sdk.socket_mode.websocket_client), chosen on `bench/socket_mode.py`
(numbers in bench/README.md). Under this watchdog both it and slack_sdk's `builtin` client never
stalled, but builtin does not notice a dropped socket (it reads nothing and raises nothing) until
the silence bound, while websocket-client reports the drop at once (reconnect p99 0.1 s vs 5.3 s).
Left to slack_sdk's own reconnect, every client stalled: websocket-client after 7 of 30 of Slack's
`disconnect`s and on every half-open socket; builtin on drops and half-open sockets; the asyncio
`websockets` client (which would also need a loop of its own and aiohttp) on every half-open socket.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import random
import socket
import threading
import time
from typing import Any, Protocol

from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin.client import SocketModeClient as BuiltinClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.socket_mode.websocket_client import SocketModeClient

from bot.ops.logs import delivery_context
from bot.ops.metrics import (
    ACK_SECONDS,
    REQUESTS,
    SOCKET_ACKS_DROPPED,
    SOCKET_RECONNECTS,
    SOCKET_STATE,
    SOCKET_STATES,
)
from bot.slack.app import IncidentBotApp, open_intake
from bot.slack.client import make_client, slack_error

log = logging.getLogger(__name__)


class _Demote(logging.Filter):
    """slack_sdk's and websocket-client's own lines about one connection (opened, lost, closed) go
    to DEBUG: the watchdog logs each step once, with its reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return log.isEnabledFor(logging.DEBUG)


sdk_log = logging.getLogger(f"{__name__}.client")
sdk_log.addFilter(_Demote())
logging.getLogger("websocket").addFilter(_Demote())

ENVELOPE_KINDS = {"events_api": "events", "slash_commands": "commands", "interactive": "interactive"}
CLIENTS = ("websocket_client", "builtin")
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")  # Slack's; others count as "other"
CONNECT_TIMEOUT = 10.0  # apps.connections.open plus the handshake plus Slack's hello
PING_INTERVAL = 4.0
SILENCE_TIMEOUT = 10.0  # no pong and no message for this long: the socket is half-open
GRACE = 5.0  # /healthz: a socket unusable this long fails the check (reconnects are faster)
DRAIN = 2.0  # after Slack's disconnect, the old link stays open this long for its last acks
TICK = 0.25
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0


class SocketModeError(Exception):
    """The app token was refused or the socket did not open: one human line."""


class _Owner(Protocol):
    def _on_envelope(self, link: Link, client: BaseSocketModeClient, req: SocketModeRequest) -> None: ...

    def _wake(self) -> None: ...


class Link:
    """One Socket Mode connection: one slack_sdk client, one WebSocket, never reconnected in place."""

    def __init__(self, owner: _Owner, number: int, kind: str, app_token: str, web: WebClient, ping: float):
        self.owner = owner
        self.number = number
        self.kind = kind
        self.opened = time.monotonic()
        self.heard = self.opened  # last pong, hello or message
        self.hello = threading.Event()
        self.trouble: str | None = None  # why it must be replaced, once known
        self.trouble_at: float | None = None
        self.closing = False
        self.closer: threading.Thread | None = None
        client_class = _WebSocketClientLink if kind == "websocket_client" else _BuiltinLink
        self.client: BaseSocketModeClient = client_class(self, app_token, web, ping)
        self.client.socket_mode_request_listeners.append(self._on_request)

    def __repr__(self) -> str:
        return f"#{self.number}"

    # ----------------------------------------------------------------- called from slack_sdk's threads
    def on_text(self, text: str) -> None:
        self.heard = time.monotonic()
        head = text[:200]
        if '"hello"' not in head and '"disconnect"' not in head:
            return  # envelopes: parsed by slack_sdk, not here
        with contextlib.suppress(ValueError):
            message = json.loads(text)
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "hello":
                self.hello.set()
            elif kind == "disconnect":
                reason = message.get("reason")
                self.flag(f"disconnect_{reason if reason in DISCONNECT_REASONS else 'other'}")

    def flag(self, trouble: str) -> None:
        if self.trouble is None:
            self.trouble, self.trouble_at = trouble, time.monotonic()
        self.owner._wake()

    def _on_request(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        with delivery_context(req.envelope_id):  # until Bolt's middleware knows the event_id
            self.owner._on_envelope(self, client, req)

    # ----------------------------------------------------------------- watchdog side
    def start(self, url: str) -> None:
        self.client.wss_uri = url
        self.client.connect()

    def connected(self) -> bool:
        return not self.closing and self.client.is_connected()

    def last_heard(self) -> float:
        pong = self._last_pong()
        return max(self.heard, pong) if pong is not None else self.heard

    def _last_pong(self) -> float | None:
        """The client's own record of the last pong, as a monotonic time."""
        session: Any = getattr(self.client, "current_session", None)
        wall = getattr(session, "last_pong_tm", None) or getattr(session, "last_ping_pong_time", None)
        if not wall:
            return None
        return time.monotonic() - max(0.0, time.time() - float(wall))

    def send(self, text: str) -> bool:
        """Send on this link's own socket; False (nothing sent) once it is no longer connected."""
        if not self.connected():
            return False
        try:
            self.client.send_message(text)
        except Exception as exc:
            log.debug("Socket Mode: link %s could not send (%s)", self, type(exc).__name__)
            return False
        return True

    def close(self) -> None:
        """Shut the socket down and stop the client's threads, on a thread of its own."""
        if self.closing:
            return
        self.closing = True
        self.closer = threading.Thread(target=self._close, name=f"socket-close-{self.number}", daemon=True)
        self.closer.start()

    def _close(self) -> None:
        try:
            if isinstance(self.client, SocketModeClient):
                close_client(self.client)
            elif isinstance(self.client, BuiltinClient):
                _close_builtin(self.client)
        except Exception as exc:  # a client that will not close cleanly is abandoned, not retried
            log.debug("Socket Mode: closing link %s: %s", self, type(exc).__name__)


class _WebSocketClientLink(SocketModeClient):
    """slack_sdk's websocket-client client, held to one session: it reports, the watchdog acts."""

    def __init__(self, link: Link, app_token: str, web: WebClient, ping: float) -> None:
        super().__init__(
            app_token=app_token,
            logger=sdk_log,
            web_client=web,
            auto_reconnect_enabled=False,
            ping_interval=ping,
        )
        self.link = link
        self.current_app_monitor_started = True  # its reconnect monitor never runs

    def enqueue_message(self, message: str) -> None:
        self.link.on_text(message)
        super().enqueue_message(message)

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        self.link.owner._wake()  # slack_sdk asks for a new endpoint on `disconnect`: the watchdog decides

    def send_message(self, message: str) -> None:
        session = self.current_session
        if session is None or session.sock is None:
            raise ConnectionError("not connected")
        session.send(message)  # no retry on another session: there is none

    def connect(self) -> None:
        super().connect()
        # The session runs on a thread of the link's own, started now: slack_sdk's runner would
        # pick it up only on its next 0.5 s tick, and after it ends would run the same WebSocketApp
        # again on its spent one-time URL.
        threading.Thread(
            target=self._run_once, name=f"socket-session-{self.link.number}", daemon=True
        ).start()

    def _run_current_session(self) -> None:
        pass  # slack_sdk's periodic runner: see connect()

    def _run_once(self) -> None:
        super()._run_current_session()
        self.link.flag("closed")


class _BuiltinLink(BuiltinClient):
    """slack_sdk's builtin client, held to one session (its monitor still pings, never reconnects)."""

    def __init__(self, link: Link, app_token: str, web: WebClient, ping: float) -> None:
        super().__init__(
            app_token=app_token,
            logger=sdk_log,
            web_client=web,
            auto_reconnect_enabled=False,
            ping_interval=ping,
        )
        self.link = link

    def enqueue_message(self, message: str) -> None:
        self.link.on_text(message)
        super().enqueue_message(message)

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        self.link.owner._wake()

    def send_message(self, message: str) -> None:
        session = self.current_session
        if session is None or not session.is_active():
            raise ConnectionError("not connected")
        session.send(message)


class SocketModeRunner:
    """Bolt over Socket Mode, with a watchdog that keeps one live connection and a health state."""

    def __init__(
        self,
        app: IncidentBotApp,
        app_token: str,
        *,
        client: str = "websocket_client",
        ping_interval: float = PING_INTERVAL,
        silence_timeout: float = SILENCE_TIMEOUT,
        grace: float = GRACE,
    ) -> None:
        if client not in CLIENTS:
            raise ValueError(f"client must be one of {CLIENTS}")
        if silence_timeout <= ping_interval:
            raise ValueError("silence_timeout must be longer than ping_interval")
        self.app = app
        self.app_token = app_token
        self.kind = client
        self.ping_interval = ping_interval
        self.silence_timeout = silence_timeout
        self.grace = grace
        self.events = open_intake(app)  # shared with HTTP and any other connection of this process
        # apps.connections.open with the app token, quickly: the watchdog does its own retrying.
        self.web = make_client(app_token, str(app.client.base_url), timeout=5, patient=False)
        self.current: Link | None = None
        self.reconnects = 0
        self._numbers = itertools.count(1)
        self._draining: list[tuple[Link, float]] = []
        self._down_since: float | None = time.monotonic()
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="socket-mode-watchdog", daemon=True)
        self._published = ""

    # ----------------------------------------------------------------- envelopes
    def _on_envelope(self, link: Link, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        started = time.perf_counter()
        kind = ENVELOPE_KINDS.get(req.type, "other")
        if req.type == "events_api":
            status = 200
            if not isinstance(req.payload.get("event"), dict):
                log.warning("Socket Mode: events_api envelope without an event, acked and ignored")
            elif not self.events.accept("socket", json.dumps(req.payload), _event_id(req.payload)):
                status = 503  # not in the spool: no ack, so Slack delivers it again
            if status == 200:
                self._ack(link, json.dumps(SocketModeResponse(envelope_id=req.envelope_id).to_dict()))
        else:
            response = run_bolt_app(self.app, req)
            send_response(_AckOn(link, self), req, response, time.time())  # type: ignore[arg-type]
            status = response.status
        ACK_SECONDS.labels("socket", kind).observe(time.perf_counter() - started)
        REQUESTS.labels("socket", kind, str(status)).inc()

    def _ack(self, link: Link, text: str) -> None:
        if not link.send(text):
            SOCKET_ACKS_DROPPED.inc()
            log.debug("Socket Mode: link %s is gone; its envelope is left for Slack to redeliver", link)

    def _wake(self) -> None:
        self._wakeup.set()

    # ----------------------------------------------------------------- lifecycle
    def connect(self) -> None:
        """Open the first connection (raise SocketModeError if it does not come up), then watch it."""
        try:
            self.current = self._open()
        except Exception as exc:
            self.events.shutdown()
            raise SocketModeError(f"cannot open a Socket Mode connection: {_why(exc)}") from exc
        self._down_since = None
        self._publish()
        self._thread.start()

    def close(self) -> None:
        """Stop watching and receiving, then finish the events already acked."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        with self._lock:
            links = [link for link, _ in self._draining] + ([self.current] if self.current else [])
            self.current = None
            self._draining.clear()
        for link in links:
            link.close()
        for link in links:
            if link.closer is not None:
                link.closer.join(3.0)
        self.events.shutdown()

    def _open(self) -> Link:
        """A fresh connection: a new URL from apps.connections.open, then Slack's hello."""
        url = self.web.apps_connections_open(app_token=self.app_token)["url"]
        link = Link(self, next(self._numbers), self.kind, self.app_token, self.web, self.ping_interval)
        try:
            link.start(url)
            deadline = time.monotonic() + CONNECT_TIMEOUT
            while not link.hello.wait(TICK):
                if self._stopping.is_set() or time.monotonic() > deadline:
                    raise TimeoutError(f"no hello within {CONNECT_TIMEOUT:.0f}s")
        except BaseException:
            link.close()
            raise
        return link

    # ----------------------------------------------------------------- the watchdog
    def _watch(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(TICK)
            self._wakeup.clear()
            if self._stopping.is_set():
                return
            try:
                self._check()
            except Exception:  # the watchdog must outlive any surprise; it looks again next tick
                log.exception("Socket Mode watchdog: unexpected error")
                self._stopping.wait(1.0)

    def _check(self) -> None:
        now = time.monotonic()
        with self._lock:
            done = [link for link, until in self._draining if until <= now or not link.connected()]
            self._draining = [(link, until) for link, until in self._draining if link not in done]
        for link in done:
            link.close()
        current = self.current
        reason = self._verdict(current, now) if current is not None else "closed"
        self._publish()
        if reason is not None:
            self._replace(current, reason)

    def _verdict(self, link: Link, now: float) -> str | None:
        """Why `link` must be replaced now, or None while it is fine."""
        if link.trouble is not None and link.trouble.startswith("disconnect_"):
            return link.trouble
        if not link.connected():
            return "closed"
        if now - link.last_heard() > self.silence_timeout:
            return "silent"
        return None

    def _replace(self, old: Link | None, reason: str) -> None:
        started = time.monotonic()
        polite = reason.startswith("disconnect_")
        if old is not None:
            if polite:  # Slack asked: keep the old link for the acks of what it delivered
                with self._lock:
                    self._draining.append((old, float("inf")))
            else:
                with self._lock:
                    self._down_since = min(started, self._unusable_since(old, started))
                old.close()
        level = logging.INFO if polite else logging.WARNING
        what = f"link {old} {reason.replace('_', ' ')}" if old is not None else "no link"
        log.log(level, "Socket Mode: %s; opening a new connection", what)
        SOCKET_RECONNECTS.labels(reason).inc()
        self.reconnects += 1
        failures = 0
        while not self._stopping.is_set():
            try:
                new = self._open()
                break
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning(
                        "Socket Mode: cannot open a connection (%s); retrying with back-off", _why(exc)
                    )
                if polite and failures == 1:
                    with self._lock:
                        self._down_since = started
                self._pause(backoff(failures))
        else:
            return
        if self._stopping.is_set():  # close() came while it opened
            new.close()
            return
        with self._lock:
            self.current = new
            self._down_since = None
            if polite and old is not None:
                until = time.monotonic() + DRAIN
                self._draining = [(link, until if link is old else u) for link, u in self._draining]
        self._publish()
        took = time.monotonic() - started
        log.log(
            logging.WARNING if failures else logging.INFO,
            "Socket Mode: link %s open (%.1fs%s)",
            new,
            took,
            f", after {failures} failed attempts" if failures else "",
        )

    def _pause(self, seconds: float) -> None:
        """Wait out a back-off, keeping the state gauge current."""
        until = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := until - time.monotonic()) > 0:
            self._publish()
            self._stopping.wait(min(TICK, left))
        self._publish()

    def _unusable_since(self, link: Link, now: float) -> float:
        """When `link` stopped being usable, as best known: the failure, or the pong that never came."""
        if link.trouble_at is not None and link.trouble != "closed":
            return link.trouble_at
        return min(now, link.last_heard() + self.ping_interval)

    # ----------------------------------------------------------------- health
    def state(self) -> str:
        """ok / connecting (unusable for less than the grace period) / disconnected."""
        now = time.monotonic()
        with self._lock:
            link, down_since = self.current, self._down_since
        if down_since is None and link is not None:
            if link.connected() and now - link.last_heard() <= self.ping_interval + 2.0:
                return "ok"
            down_since = self._unusable_since(link, now)
        if down_since is None:
            down_since = now
        return "connecting" if now - down_since < self.grace else "disconnected"

    def _publish(self) -> None:
        state = self.state()
        if state != self._published:
            for name in SOCKET_STATES:
                SOCKET_STATE.labels(name).set(1 if name == state else 0)
            self._published = state


class _AckOn:
    """What Bolt's send_response needs of a client, bound to one link."""

    def __init__(self, link: Link, runner: SocketModeRunner) -> None:
        self.link, self.runner = link, runner
        self.logger = log

    def send_socket_mode_response(self, response: SocketModeResponse | dict[str, Any]) -> None:
        body = response.to_dict() if isinstance(response, SocketModeResponse) else response
        self.runner._ack(self.link, json.dumps(body))


def _event_id(payload: dict[str, Any]) -> str | None:
    event_id = payload.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


def backoff(failures: int) -> float:
    """Exponential back-off with full jitter: up to 0.5 s, 1 s, 2 s, ... capped at 30 s."""
    return random.uniform(0, min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1)))


def _why(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return slack_error(exc)
    return f"{type(exc).__name__}: {exc}"[:200]


def close_client(client: SocketModeClient) -> None:
    """Close a websocket-client SocketModeClient at once.

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


def _close_builtin(client: BuiltinClient) -> None:
    client.closed = True
    client.auto_reconnect_enabled = False
    client.message_queue.put(None)
    session = client.current_session
    raw = getattr(session, "sock", None)
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)
    client.close()


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
