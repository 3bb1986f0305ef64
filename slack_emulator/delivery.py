"""Deliveries to the bot, with Slack's retry behaviour: signed HTTP requests to the Request URL(s)
(transport "http"), or envelopes over the app's Socket Mode connections (transport "socket"), or
whichever of the two the app connected with (transport "auto")."""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import json
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .socket_mode import Envelope, SocketConnection, SocketHub, envelope_for

# One TLS context for every client of the emulator's in the process (loading the CA bundle costs
# ~35 ms of CPU each).
tls_context = functools.cache(ssl.create_default_context)

log = logging.getLogger("slack_emulator.delivery")

MODES = ("round_robin", "broadcast")
TRANSPORTS = ("http", "socket", "auto")


@dataclass
class Delivery:
    """What happened to one delivery (for broadcast: the first URL's result; all in `results`)."""

    status: int | None = None
    body: str = ""
    attempts: int = 0
    ts: str | None = None
    event_id: str | None = None
    trigger_id: str | None = None
    url: str | None = None
    kind: str = "event"
    payload: Any = None
    retry_reasons: list[str] = field(default_factory=list)
    error: str | None = None
    dropped: bool = False
    view_id: str | None = None
    file_id: str | None = None
    results: list[Delivery] = field(default_factory=list)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Deliverer:
    def __init__(
        self,
        signing_secret: str,
        request_urls: list[str] | None,
        mode: str,
        ack_timeout: float,
        retry_delays: tuple[float, ...],
        sockets: SocketHub | None = None,
        transport: str = "http",
        reconnect_wait: float = 5.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"delivery_mode must be one of {MODES}")
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        self.sockets = sockets
        self.transport = transport
        self.reconnect_wait = reconnect_wait
        self.signing_secret = signing_secret
        self.request_urls: list[str] = list(request_urls or [])
        self.mode = mode
        self.ack_timeout = ack_timeout
        self.retry_delays = tuple(retry_delays)
        self._rr = itertools.count()
        self._lock = threading.Lock()
        self.drop_remaining = 0
        self.log: list[Delivery] = []
        self._queue: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._worker: threading.Thread | None = None
        self._client = httpx.Client(
            timeout=ack_timeout,
            trust_env=False,
            follow_redirects=True,
            max_redirects=2,
            verify=tls_context(),
        )

    # ------------------------------------------------------------------ signing
    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else int(timestamp)
        return {
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(self.signing_secret, ts, body),
        }

    # ------------------------------------------------------------------ sending
    def _next_url(self) -> str | None:
        with self._lock:
            if not self.request_urls:
                return None
            return self.request_urls[next(self._rr) % len(self.request_urls)]

    def take_drop(self) -> bool:
        with self._lock:
            if self.drop_remaining > 0:
                self.drop_remaining -= 1
                return True
            return False

    def route(self) -> str:
        """The transport the next delivery takes ("auto": Socket Mode while the app has a
        connection open, or has had one and there is no Request URL to fall back on)."""
        if self.transport != "auto":
            return self.transport
        if self.sockets is not None and self.sockets.open_connections():
            return "socket"
        with self._lock:
            has_urls = bool(self.request_urls)
        if not has_urls and self.sockets is not None and self.sockets.last_closed is not None:
            return "socket"
        return "http"

    def post_raw(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self._client.post(url, content=body, headers=headers, timeout=self.ack_timeout)

    def send(
        self, body: bytes, content_type: str, *, kind: str, retry: bool, template: Delivery | None = None
    ) -> Delivery:
        """Deliver to one URL/connection (round robin) or to all (broadcast); returns the Delivery."""
        if self.route() == "socket":
            return self._send_socket(body, content_type, kind, retry, template)
        urls: list[str | None]
        if self.mode == "broadcast":
            with self._lock:
                urls = list(self.request_urls) or [None]
        else:
            urls = [None]  # pick per attempt, so retries rotate across replicas like a load balancer
        results = [self._send_one(fixed, body, content_type, kind, retry, template) for fixed in urls]
        first = results[0]
        first.results = results
        return first

    def _send_one(
        self,
        fixed_url: str | None,
        body: bytes,
        content_type: str,
        kind: str,
        retry: bool,
        template: Delivery | None,
    ) -> Delivery:
        d = _new_delivery(body, content_type, kind, template)
        max_attempts = 1 + (len(self.retry_delays) if retry else 0)
        reason: str | None = None
        for attempt in range(max_attempts):
            url = fixed_url or self._next_url()
            if url is None:
                d.error = "no request_urls configured" + (
                    " and the app has no Socket Mode connection" if self.transport == "auto" else ""
                )
                break
            if attempt:
                time.sleep(self.retry_delays[attempt - 1])
            headers = {"Content-Type": content_type, **self.sign(body)}
            if attempt and reason:
                headers["X-Slack-Retry-Num"] = str(attempt)
                headers["X-Slack-Retry-Reason"] = reason
            d.url, d.attempts = url, attempt + 1
            try:
                resp = self.post_raw(url, body, headers)
            except httpx.TimeoutException:
                d.status, d.body, reason = None, "", "http_timeout"
            except httpx.TooManyRedirects:
                d.status, d.body, reason = None, "", "too_many_redirects"
            except httpx.HTTPError as exc:
                d.status, d.body, reason = None, "", "connection_failed"
                d.error = str(exc)
            else:
                d.status, d.body = resp.status_code, resp.text
                if 200 <= resp.status_code < 300:
                    d.error = None
                    break
                reason = "http_error"
                if resp.headers.get("x-slack-no-retry") == "1":
                    break
            d.retry_reasons.append(reason or "")
            log.info("delivery %s to %s failed (%s), attempt %d", kind, url, reason, attempt + 1)
        if not d.ok and d.error is None:
            d.error = reason or f"http {d.status}"
        with self._lock:
            self.log.append(d)
        return d

    # ------------------------------------------------------------------ Socket Mode
    def _send_socket(
        self, body: bytes, content_type: str, kind: str, retry: bool, template: Delivery | None
    ) -> Delivery:
        assert self.sockets is not None
        targets: list[SocketConnection | None] = [None]
        if self.mode == "broadcast":
            targets = list(self.sockets.usable()) or [None]
        results = [self._socket_one(conn, body, content_type, kind, retry, template) for conn in targets]
        first = results[0]
        first.results = results
        return first

    def _socket_one(
        self,
        fixed: SocketConnection | None,
        body: bytes,
        content_type: str,
        kind: str,
        retry: bool,
        template: Delivery | None,
    ) -> Delivery:
        """One envelope until acked: a retry (events only) is a new envelope with retry_attempt + 1."""
        assert self.sockets is not None
        d = _new_delivery(body, content_type, kind, template)
        env_type, payload, accepts = envelope_for(body, content_type)
        max_attempts = 1 + (len(self.retry_delays) if retry else 0)
        reason = ""
        for attempt in range(max_attempts):
            if attempt:
                time.sleep(self.retry_delays[attempt - 1])
            conn = fixed if fixed is not None and attempt == 0 and fixed.usable else None
            conn = conn or self.sockets.next_connection(self.reconnect_wait)
            d.attempts = attempt + 1
            if conn is None:
                d.status, d.body, reason = None, "", "no_connection"
                d.retry_reasons.append(reason)
                continue
            envelope = Envelope(env_type, payload, accepts, attempt, reason if attempt else "")
            outcome = self.sockets.exchange(conn, envelope, self.ack_timeout)
            d.url = f"socket:{outcome.connection}"
            if outcome.acked:
                d.status, d.error = 200, None
                d.body = json.dumps(outcome.payload) if outcome.payload is not None else ""
                break
            d.status, d.body, reason = None, "", "timeout"
            d.retry_reasons.append(reason)
            log.info("socket delivery %s on %s not acked, attempt %d", kind, outcome.connection, attempt + 1)
        if not d.ok:
            d.error = reason or "not delivered"
        with self._lock:
            self.log.append(d)
        return d

    # ------------------------------------------------------------------ async queue
    def enqueue(self, job: Callable[[], object]) -> None:
        with self._idle:
            self._pending += 1
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="slack-emulator-delivery", daemon=True)
            self._worker.start()
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("async delivery failed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            self._queue.put(None)
            self._worker.join(timeout=5)
        self._client.close()


def _new_delivery(body: bytes, content_type: str, kind: str, template: Delivery | None) -> Delivery:
    d = Delivery(kind=kind)
    if template is not None:
        d.ts, d.event_id, d.trigger_id, d.view_id = (
            template.ts,
            template.event_id,
            template.trigger_id,
            template.view_id,
        )
    try:
        d.payload = json.loads(body) if content_type.startswith("application/json") else body.decode()
    except ValueError:
        d.payload = body.decode(errors="replace")
    return d
