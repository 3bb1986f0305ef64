"""Socket Mode as Slack runs it.

`apps.connections.open` (app-level token) hands out a one-time `ws://…/link/?ticket=…` URL; the app
connects, receives `hello`, then every user action as an envelope (`events_api`, `slash_commands`,
`interactive`) that it must acknowledge with `{"envelope_id": …}` (plus a response `payload` where
`accepts_response_payload` is true) within the ack timeout. Envelopes are spread across the open
connections (up to 10 per app). The hub can send `disconnect` (refresh_requested / warning /
link_disabled), drop a socket abruptly (TCP abort, no close frame), or leave it half-open: it stops
reading (so pings go unanswered) and sending, without closing. An ack counts only on the connection
its envelope went out on; one arriving on another connection is counted in `misrouted_acks`.

Threads: the WebSocket endpoints run on the emulator's uvicorn loop; deliveries come from test and
delivery threads, which send through `run_coroutine_threadsafe` and wait for acks on threading events.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger("slack_emulator.socket_mode")

MAX_CONNECTIONS = 10
TICKET_TTL = 30.0
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")
ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")
# Interactive payloads whose ack may carry a response (view_submission: response_action, ...).
RESPONSE_PAYLOAD_INTERACTIONS = ("view_submission", "block_suggestion")


@dataclass
class Envelope:
    """What Slack sends over the socket for one delivery attempt (to_json is the wire form)."""

    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""
    envelope_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            out["retry_attempt"] = self.retry_attempt
            out["retry_reason"] = self.retry_reason
        return out


def envelope_for(body: bytes, content_type: str) -> tuple[str, dict[str, Any], bool]:
    """(envelope type, payload, accepts_response_payload) for the HTTP body the same action would POST."""
    if content_type.startswith("application/json"):
        return "events_api", json.loads(body), False
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if "payload" in fields:
        payload = json.loads(fields["payload"])
        return "interactive", payload, payload.get("type") in RESPONSE_PAYLOAD_INTERACTIONS
    return "slash_commands", fields, True


@dataclass
class Ack:
    """The outcome of one envelope: acked (with the response payload, if any) or not."""

    acked: bool
    payload: dict[str, Any] | None = None
    connection: str = ""


class _Waiter:
    def __init__(self, envelope: Envelope, conn: SocketConnection) -> None:
        self.envelope = envelope
        self.conn = conn
        self.done = threading.Event()
        self.payload: dict[str, Any] | None = None


class SocketConnection:
    """One open WebSocket of the app."""

    def __init__(self, hub: SocketHub, ws: WebSocket, loop: asyncio.AbstractEventLoop, number: int) -> None:
        self.hub = hub
        self.ws = ws
        self.loop = loop
        self.id = f"conn-{number}"
        self.opened_at = time.time()
        self.draining = False  # sent `disconnect`: no new envelopes, pending acks still count
        self.closed = threading.Event()
        self.deaf = False  # about to be dropped: whatever the app sends is lost with the socket
        self.half_open = False  # neither reads nor sends any more, yet stays open
        self.envelopes_sent = 0
        self._drop = asyncio.Event()
        self._silenced = asyncio.Event()
        self._send_lock = asyncio.Lock()

    @property
    def usable(self) -> bool:
        return not self.closed.is_set() and not self.draining and not self.half_open

    def send(self, message: dict[str, Any], timeout: float = 5.0) -> bool:
        """Send one JSON message from any thread; False if the socket is gone (or half-open)."""
        if self.closed.is_set() or self.half_open:
            return False

        async def _send() -> None:
            async with self._send_lock:
                await self.ws.send_text(json.dumps(message))

        try:
            asyncio.run_coroutine_threadsafe(_send(), self.loop).result(timeout)
        except Exception as exc:
            log.info("socket %s: send failed (%s)", self.id, type(exc).__name__)
            return False
        return True

    def _protocol(self) -> Any:
        """uvicorn's protocol object under the WebSocket (the owner of the ASGI receive)."""
        return getattr(getattr(self.ws, "_receive", None), "__self__", None)

    def _transport(self) -> asyncio.Transport | None:
        """The TCP transport under the WebSocket."""
        transport = getattr(self._protocol(), "transport", None)
        return transport if isinstance(transport, asyncio.Transport) else None

    def drop(self) -> None:
        """Close the TCP connection without a close frame, as a network failure would."""
        self.closed.set()
        self.hub.forget(self)

        def abort() -> None:
            transport = self._transport()
            if transport is not None:
                transport.abort()
            self._drop.set()

        self.loop.call_soon_threadsafe(abort)

    def go_half_open(self, close_after: float) -> None:
        """Stop reading (pings go unanswered, acks unread) and sending, without closing; the TCP
        connection is aborted after `close_after` seconds if the app has not given up on it first."""
        self.half_open = True
        self.deaf = True
        self.hub.changed()

        def pause() -> None:
            self._silenced.set()  # run() stops asking for messages
            transport = self._transport()
            if transport is not None:
                transport.pause_reading()
            # uvicorn pauses reading after each message itself and resumes it when the app takes one:
            # tell it reading is not paused, so a message already queued cannot resume it.
            protocol = self._protocol()
            if getattr(protocol, "read_paused", None) is not None:
                protocol.read_paused = False
            self.loop.call_later(close_after, lambda: None if self.closed.is_set() else self.drop())

        self.loop.call_soon_threadsafe(pause)

    def close_later(self, delay: float) -> None:
        async def _close() -> None:
            await asyncio.sleep(delay)
            if not self.closed.is_set():
                self.closed.set()
                with contextlib.suppress(Exception):
                    await self.ws.close(code=1000)
                self._drop.set()

        asyncio.run_coroutine_threadsafe(_close(), self.loop)

    async def run(self) -> None:
        """Read acks until the client goes away or the hub drops the socket."""
        dropped = asyncio.create_task(self._drop.wait())
        silenced = asyncio.create_task(self._silenced.wait())
        try:
            while True:
                receive = asyncio.create_task(self.ws.receive_text())
                done, _ = await asyncio.wait(
                    {receive, dropped, silenced}, return_when=asyncio.FIRST_COMPLETED
                )
                if dropped in done:
                    receive.cancel()
                    return
                if silenced in done:  # half-open: read nothing more until dropped
                    receive.cancel()
                    await dropped
                    return
                try:
                    text = receive.result()
                except (WebSocketDisconnect, RuntimeError):
                    return
                self.hub.on_message(self, text)
        finally:
            dropped.cancel()
            silenced.cancel()
            self.closed.set()
            self.hub.forget(self)


class SocketHub:
    """The app's Socket Mode connections, tickets and envelopes awaiting their ack."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.base_url = ""
        self.connections: list[SocketConnection] = []
        self.violations: list[str] = []
        self.refused = 0
        self.misrouted_acks = 0
        self.acks_received = 0  # every message carrying an envelope_id, counted or not
        self.last_closed: float | None = None
        self._tickets: dict[str, float] = {}
        self._waiters: dict[str, _Waiter] = {}
        self._rr = itertools.count()
        self._numbers = itertools.count(1)
        self._drop_after: int | None = None
        self._stopping = False
        self._changed = threading.Condition()

    # ------------------------------------------------------------------ connecting
    def issue_url(self) -> str:
        ticket = secrets.token_hex(16)
        with self._changed:
            self._tickets[ticket] = time.monotonic()
        ws_base = self.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return f"{ws_base}/link/?ticket={ticket}&app_id={self.app_id}"

    def _take_ticket(self, ticket: str | None) -> bool:
        with self._changed:
            issued = self._tickets.pop(ticket or "", None)
        return issued is not None and time.monotonic() - issued < TICKET_TTL

    async def serve(self, ws: WebSocket) -> None:
        """The /link/ endpoint: one-time ticket, at most MAX_CONNECTIONS, hello, then acks."""
        if not self._take_ticket(ws.query_params.get("ticket")):
            await ws.close(code=1008)  # refused before accept: the handshake fails (HTTP 403)
            return
        with self._changed:
            if len(self.open_connections()) >= MAX_CONNECTIONS:
                self.refused += 1
                refuse = True
            else:
                refuse = False
        if refuse:
            await ws.close(code=1008)
            return
        await ws.accept()
        conn = SocketConnection(self, ws, asyncio.get_running_loop(), next(self._numbers))
        with self._changed:
            self.connections.append(conn)
            count = len(self.open_connections())
        await ws.send_text(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": count,
                    "debug_info": {
                        "host": "applink-emulator",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        with self._changed:
            self._changed.notify_all()
        await conn.run()

    def forget(self, conn: SocketConnection) -> None:
        with self._changed:
            if conn in self.connections:
                self.connections.remove(conn)
            self.last_closed = time.monotonic()
            waiting = [w for w in self._waiters.values() if w.conn is conn]
            self._changed.notify_all()
        for w in waiting:
            w.done.set()

    def changed(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def open_connections(self) -> list[SocketConnection]:
        return [c for c in self.connections if not c.closed.is_set()]

    def usable(self) -> list[SocketConnection]:
        with self._changed:
            return [c for c in self.connections if c.usable]

    def next_connection(self, reconnect_wait: float) -> SocketConnection | None:
        """A usable connection, round robin. With none usable, wait while the app may be reconnecting:
        while a connection told to disconnect is still open, or up to `reconnect_wait` seconds after
        the last one closed (Slack keeps retrying an app that comes back quickly); an app gone
        longer fails at once."""
        with self._changed:
            started = time.monotonic()
            while True:
                usable = [c for c in self.connections if c.usable]
                if usable:
                    return usable[next(self._rr) % len(usable)]
                if self._stopping:
                    return None
                if self.open_connections():
                    left = started + reconnect_wait - time.monotonic()
                else:
                    since = self.last_closed
                    left = (since + reconnect_wait - time.monotonic()) if since is not None else 0.0
                if left <= 0:
                    return None
                self._changed.wait(left)

    def wait_connections(self, n: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len([c for c in self.connections if c.usable]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    # ------------------------------------------------------------------ envelopes
    def exchange(self, conn: SocketConnection, envelope: Envelope, ack_timeout: float) -> Ack:
        """Send one envelope on `conn` and wait for its ack (no ack: timeout, or the socket closed)."""
        waiter = _Waiter(envelope, conn)
        with self._changed:
            self._waiters[envelope.envelope_id] = waiter
            drop = False
            if self._drop_after is not None:
                self._drop_after -= 1
                if self._drop_after <= 0:
                    self._drop_after, drop = None, True
        if drop:
            conn.deaf = True
        try:
            if not conn.send(envelope.to_json()):
                return Ack(False, connection=conn.id)
            conn.envelopes_sent += 1
            if drop:
                conn.drop()
            waiter.done.wait(ack_timeout)
            with self._changed:
                acked = waiter.done.is_set() and waiter.payload is not None
            return Ack(acked, (waiter.payload or {}).get("payload"), conn.id)
        finally:
            with self._changed:
                self._waiters.pop(envelope.envelope_id, None)

    def on_message(self, conn: SocketConnection, text: str) -> None:
        if conn.deaf:
            return
        try:
            message = json.loads(text)
        except ValueError:
            self._violation(f"socket {conn.id}: a message that is not JSON: {text[:80]!r}")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(envelope_id, str):
            self._violation(f"socket {conn.id}: a message without envelope_id: {text[:80]!r}")
            return
        with self._changed:
            self.acks_received += 1
            waiter = self._waiters.get(envelope_id)
        if waiter is None:
            log.info("socket %s: ack for unknown or expired envelope %s", conn.id, envelope_id)
            return
        if waiter.conn is not conn:
            log.warning(
                "socket %s: ack for envelope %s that went out on %s, not counted",
                conn.id,
                envelope_id,
                waiter.conn.id,
            )
            with self._changed:
                self.misrouted_acks += 1
            return
        payload = message.get("payload")
        if payload is not None:
            if not isinstance(payload, dict):
                self._violation(f"socket ack {envelope_id}: payload must be an object, got {payload!r:.80}")
            elif not waiter.envelope.accepts_response_payload:
                self._violation(
                    f"socket ack {envelope_id}: a response payload for a {waiter.envelope.type} envelope "
                    "that does not accept one"
                )
        with self._changed:
            waiter.payload = message
        waiter.done.set()

    def _violation(self, problem: str) -> None:
        log.error("Socket Mode violation: %s", problem)
        with self._changed:
            self.violations.append(problem)

    # ------------------------------------------------------------------ faults
    def disconnect(self, reason: str = "refresh_requested", close_after: float = 10.0) -> int:
        """Send `disconnect` on every usable connection; close each after `close_after` seconds
        unless the app closed it first. Returns how many were told."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"reason must be one of {DISCONNECT_REASONS}")
        told = 0
        for conn in self.usable():
            conn.draining = True
            if conn.send(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}
            ):
                told += 1
            conn.close_later(close_after)
        return told

    def drop(self) -> int:
        """Abruptly drop every open connection; returns how many."""
        conns = self.open_connections()
        for conn in conns:
            conn.drop()
        return len(conns)

    def half_open(self, close_after: float = 60.0) -> int:
        """Leave every usable connection half-open (see SocketConnection.go_half_open); returns how many."""
        conns = self.usable()
        for conn in conns:
            conn.go_half_open(close_after)
        return len(conns)

    def drop_after(self, n: int) -> None:
        """Drop the connection that carries the n-th next envelope, right after sending it."""
        with self._changed:
            self._drop_after = n

    def stop(self) -> None:
        """The emulator is stopping: nobody waits for a reconnection any more."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def close_all(self) -> None:
        for conn in self.open_connections():
            conn.drop()
