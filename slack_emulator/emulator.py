"""SlackEmulator: a stateful fake Slack workspace served over HTTP (Starlette on uvicorn)."""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

import uvicorn

from .actions import UserActions
from .clock import Clock
from .delivery import Deliverer, Delivery
from .faults import Fault, Faults
from .home import HomeActions
from .inspection import Inspection
from .membership import MembershipActions
from .methods import load_all
from .methods.conversations import check_name
from .methods.openid import OpenIdConnect
from .payloads import event_envelope
from .ratelimit import RateLimiter
from .socket_mode import SocketHub
from .state import Workspace
from .uploads import UploadActions
from .usergroups import UserGroupActions

log = logging.getLogger("slack_emulator")
RATE_LIMIT_CLOCKS = ("real", "simulated")
# Event types sent only to an app subscribed to them by name (`event_subscriptions`): an app
# answers one it has no listener for with an error, and Slack would retry it.
NOT_BY_DEFAULT = frozenset({"app_mention", "file_shared"})


class PromptServer(uvicorn.Server):
    """uvicorn, but stopping promptly: it notices `should_exit` within ~10 ms instead of 100 ms, and
    its shutdown waits for open connections and tasks in 5 ms steps instead of a fixed 100 ms and
    then 100 ms steps (the emulator and the test bots stop ~1,000 times a test run)."""

    async def main_loop(self) -> None:
        counter = 0
        while not self.should_exit:
            counter += 1
            await asyncio.sleep(0.01)
            if counter % 10 == 0 and await self.on_tick(counter // 10):
                break

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 10.0)
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for task in state.tasks:
            task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


class EmulatorError(ValueError):
    """A test/driver asked for something Slack's UI would not allow (unknown user, missing action...)."""


class SlackEmulator(
    UserActions,
    MembershipActions,
    UploadActions,
    UserGroupActions,
    HomeActions,
    Inspection,
    OpenIdConnect,
):
    def __init__(
        self,
        signing_secret: str = "s3cret",
        bot_token: str = "xoxb-emulator",
        app_token: str = "xapp-emulator",
        request_urls: list[str] | None = None,
        delivery_mode: str = "round_robin",
        rate_limits: str = "off",
        rate_limit_scale: float = 1.0,
        ack_timeout: float = 3.0,
        retry_delays: tuple[float, ...] = (0.0, 0.0, 0.0),
        rate_limit_clock: str = "real",
        bot_name: str = "incident-bot",
        event_subscriptions: Iterable[str] | None = None,
        transport: str = "http",
        socket_reconnect_wait: float = 5.0,
    ) -> None:
        """`transport`: "http" POSTs signed requests to `request_urls`; "socket" sends envelopes over
        the app's open Socket Mode connections (never HTTP; `deliver_raw` stays a raw HTTP POST);
        "auto" uses Socket Mode while the app has a connection open (or, with no `request_urls`,
        once it has connected), HTTP otherwise: whichever way the app connected.
        `socket_reconnect_wait`: with no connection open, how long after the last one closed a
        delivery waits for the app to reconnect before the attempt fails."""
        load_all()
        # None: deliver every event type the emulator produces but NOT_BY_DEFAULT. Otherwise only
        # these (manifest names like "message.channels" / "reaction_added", or plain "message").
        self.event_subscriptions: set[str] | None = (
            set(event_subscriptions) if event_subscriptions is not None else None
        )
        if rate_limit_clock not in RATE_LIMIT_CLOCKS:
            raise ValueError(f"rate_limit_clock must be one of {RATE_LIMIT_CLOCKS}")
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token
        self.rate_limits = rate_limits
        self.rate_limit_clock = rate_limit_clock
        self.simulated_wait_seconds = 0.0
        self.clock = Clock()
        self.ws = Workspace(self.clock)
        self.limiter = RateLimiter(self.clock, rate_limits, rate_limit_scale)
        self.faults = Faults()
        self.team_id = self.ws.team_id
        self.bot_id = self.ws.new_id("B")
        self.app_id = self.ws.new_id("A")
        self.sockets = SocketHub(self.app_id)
        self.deliverer = Deliverer(
            signing_secret,
            request_urls,
            delivery_mode,
            ack_timeout,
            retry_delays,
            self.sockets,
            transport,
            socket_reconnect_wait,
        )
        self.bot_user_id = self.ws.add_user(bot_name, bot_name, is_bot=True, bot_id=self.bot_id)
        self.ws.users[self.bot_user_id]["profile"]["api_app_id"] = self.app_id
        self.ws.bot_profile = {
            "id": self.bot_id,
            "deleted": False,
            "name": bot_name,
            "updated": int(self.clock.now()),
            "app_id": self.app_id,
            "icons": {
                "image_36": "https://emulator.slack.test/bot_36.png",
                "image_48": "https://emulator.slack.test/bot_48.png",
                "image_72": "https://emulator.slack.test/bot_72.png",
            },
            "team_id": self.team_id,
        }
        general = self.ws.add_channel("general", False, self.bot_user_id, [])
        general.info["is_general"] = True
        self.general_channel_id = general.id
        self.base_url = ""
        self.api_url = ""
        self._server: PromptServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        from .server import build_app

        if self._server is not None:
            return self.api_url
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        real_port = sock.getsockname()[1]
        self.base_url = f"http://{host}:{real_port}"
        self.api_url = f"{self.base_url}/api/"
        self.sockets.base_url = self.base_url
        config = uvicorn.Config(build_app(self), log_level="warning", lifespan="off", access_log=False)
        self._server = PromptServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="slack-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("slack emulator failed to start")
            time.sleep(0.01)
        log.info("Slack emulator serving %s", self.api_url)
        return self.api_url

    def stop(self) -> None:
        self.sockets.stop()
        self.deliverer.wait_idle(timeout=5)
        self.sockets.close_all()
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
        self._server = None
        self.deliverer.close()

    def serve_forever(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.start(port, host)
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SlackEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ config
    def credentials(self) -> dict[str, Any]:
        """What an app needs to talk to this emulator: its URLs, ids and (fake, local-only) secrets."""
        return {
            "api_url": self.api_url,
            "control_url": f"{self.base_url}/_emulator/",
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_user_id": self.bot_user_id,
            "signing_secret": self.signing_secret,
            "bot_token": self.bot_token,
            "app_token": self.app_token,
            "oauth_client_id": self.oauth_client_id,
            "oauth_client_secret": self.oauth_client_secret,
            "transport": self.transport,
            "request_urls": self.request_urls,
        }

    @property
    def request_urls(self) -> list[str]:
        return list(self.deliverer.request_urls)

    @request_urls.setter
    def request_urls(self, urls: list[str]) -> None:
        self.deliverer.request_urls = list(urls)

    @property
    def transport(self) -> str:
        return self.deliverer.transport

    @transport.setter
    def transport(self, transport: str) -> None:
        from .delivery import TRANSPORTS

        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        self.deliverer.transport = transport

    @property
    def delivery_mode(self) -> str:
        return self.deliverer.mode

    @delivery_mode.setter
    def delivery_mode(self, mode: str) -> None:
        self.deliverer.mode = mode

    # ------------------------------------------------------------------ workspace setup
    def add_user(self, name: str, real_name: str | None = None, is_bot: bool = False) -> str:
        with self.ws.lock:
            uid = self.ws.add_user(
                name, real_name, is_bot=is_bot, bot_id=self.ws.new_id("B") if is_bot else None
            )
            self.ws.channels[self.general_channel_id].members.append(uid)
            return uid

    def change_user(
        self, user: str, *, guest: str | None = None, deactivated: bool | None = None
    ) -> Delivery:
        """An admin changes a person, as users.info then describes them: ``guest`` "multi"
        (``is_restricted``), "single" (``is_ultra_restricted`` too) or "" (a full member again);
        ``deactivated`` (``deleted``). ``user_change`` follows, with the whole user."""
        with self.ws.lock:
            found = self.ws.users.get(user)
            if found is None:
                raise EmulatorError(f"unknown user {user}")
            if guest is not None:
                if guest not in ("", "multi", "single"):
                    raise EmulatorError(f"guest must be 'multi', 'single' or '', not {guest!r}")
                found["is_restricted"] = guest != ""
                found["is_ultra_restricted"] = guest == "single"
            if deactivated is not None:
                found["deleted"] = deactivated
            found["updated"] = int(self.ws.clock.now())
            event = {
                "type": "user_change",
                "user": copy.deepcopy(found),
                "cache_ts": found["updated"],
                "event_ts": self.clock.next_ts(),
            }
        return self.deliver_event(event)

    def add_channel(self, name: str, is_private: bool = False, members: Iterable[str] = ()) -> str:
        members = list(members)
        with self.ws.lock:
            from .methods import ApiError

            try:
                check_name_ws(self, name)
            except ApiError as exc:
                raise EmulatorError(f"channel name {name!r}: {exc.error}") from exc
            for m in members:
                self._user(m)
            creator = members[0] if members else self.bot_user_id
            return self.ws.add_channel(name, is_private, creator, members).id

    # ------------------------------------------------------------------ events to the bot
    def subscribed(self, event: dict[str, Any]) -> bool:
        subs = self.event_subscriptions
        kind = str(event.get("type"))
        if subs is None:
            return kind not in NOT_BY_DEFAULT
        if kind == "message":
            wire = {"group": "message.groups", "im": "message.im"}.get(
                str(event.get("channel_type")), "message.channels"
            )
            return "message" in subs or wire in subs
        return kind in subs

    def _with_mention(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """A user message that mentions the bot also yields app_mention (when subscribed)."""
        events = [event]
        if (
            event.get("type") == "message"
            and not event.get("subtype")
            and event.get("user") != self.bot_user_id
            and f"<@{self.bot_user_id}>" in str(event.get("text", ""))
        ):
            mention = {k: copy.deepcopy(v) for k, v in event.items() if k not in ("channel_type", "subtype")}
            mention["type"] = "app_mention"
            events.append(mention)
        return [e for e in events if self.subscribed(e)]

    def emit_event(self, event: dict[str, Any]) -> None:
        """Queue an inner event (from the bot's own API call) for asynchronous delivery."""
        for ev in self._with_mention(event):
            body, template = self._envelope(ev)
            if self.deliverer.take_drop():
                continue
            self.deliverer.enqueue(functools.partial(self._send_event, body, template))

    def _envelope(self, event: dict[str, Any]) -> tuple[bytes, Delivery]:
        with self.ws.lock:
            event_id = "Ev" + self.ws.new_id("", 9)
            payload = event_envelope(self.ws, self.app_id, self.bot_user_id, event, event_id)
        return json.dumps(payload).encode(), Delivery(event_id=event_id, ts=event.get("ts"))

    def _send_event(self, body: bytes, template: Delivery) -> Delivery:
        return self.deliverer.send(body, "application/json", kind="event", retry=True, template=template)

    def deliver_event(self, event: dict[str, Any], ts: str | None = None) -> Delivery:
        """Deliver an inner event synchronously (user actions); returns the first event's Delivery.

        Not subscribed: nothing is sent (status None, error "not subscribed"). A bot mention also
        sends app_mention when subscribed; its Delivery is in `.results` after the message's.
        """
        events = self._with_mention(event)
        if not events:
            return Delivery(ts=ts, error="not subscribed")
        out: list[Delivery] = []
        for ev in events:
            body, template = self._envelope(ev)
            template.ts = ts
            if self.deliverer.take_drop():
                out.append(Delivery(dropped=True, event_id=template.event_id, ts=ts))
            else:
                out.append(self._send_event(body, template))
        first = out[0]
        if len(out) > 1:
            first.results = [*first.results, *out[1:]] if first.results else out
        return first

    def wait_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until queued asynchronous deliveries (from the bot's own API calls) are done."""
        return self.deliverer.wait_idle(timeout)

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.deliverer.log)

    # ------------------------------------------------------------------ Socket Mode
    def socket_connections(self) -> list[dict[str, Any]]:
        """The app's open Socket Mode connections: id, envelopes sent, draining (told to disconnect),
        half_open."""
        return [
            {"id": c.id, "envelopes_sent": c.envelopes_sent, "draining": c.draining, "half_open": c.half_open}
            for c in self.sockets.open_connections()
        ]

    def wait_socket_connections(self, n: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least n connections can take envelopes."""
        return self.sockets.wait_connections(n, timeout)

    def disconnect_sockets(self, reason: str = "refresh_requested", close_after: float = 10.0) -> int:
        """Send Slack's `disconnect` message (refresh_requested / warning / link_disabled) on every
        connection; no new envelopes go to them; each is closed after `close_after` s if still open."""
        return self.sockets.disconnect(reason, close_after)

    def drop_sockets(self) -> int:
        """Drop every open connection abruptly (no close frame, no `disconnect`)."""
        return self.sockets.drop()

    def half_open_sockets(self, close_after: float = 60.0) -> int:
        """Leave every usable connection half-open: the server stops answering pings and stops sending
        without closing (the TCP connection is aborted after `close_after` s). Returns how many."""
        return self.sockets.half_open(close_after)

    def drop_socket_after(self, n: int = 1) -> None:
        """Drop the connection carrying the n-th next envelope right after sending it (before any ack)."""
        self.sockets.drop_after(n)

    # ------------------------------------------------------------------ faults
    def inject_fault(
        self,
        method: str,
        *,
        error: str | None = None,
        http_status: int | None = None,
        ratelimited: bool = False,
        retry_after: int = 1,
        latency: float = 0.0,
        times: int = 1,
        delay_answer: float = 0.0,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*": any) fail, wait ``latency`` first, or
        (``delay_answer``) are done and answered only that many seconds later, or at ``clear_faults``."""
        self.faults.add(
            Fault(method, error, http_status, ratelimited, retry_after, latency, times, delay_answer)
        )

    def drop_deliveries(self, n: int) -> None:
        with self.deliverer._lock:
            self.deliverer.drop_remaining += n

    def clear_faults(self) -> None:
        self.faults.clear()
        with self.deliverer._lock:
            self.deliverer.drop_remaining = 0

    # ------------------------------------------------------------------ low level
    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        return self.deliverer.sign(body, timestamp)

    def deliver_raw(self, body: bytes, headers: dict[str, str], url: str | None = None) -> Delivery:
        target = url or (self.request_urls[0] if self.request_urls else None)
        if target is None:
            raise EmulatorError("no request_urls configured")
        d = Delivery(kind="raw", url=target, attempts=1)
        try:
            resp = self.deliverer.post_raw(target, body, headers)
        except Exception as exc:
            d.error = str(exc)
            return d
        d.status, d.body = resp.status_code, resp.text
        return d

    # ------------------------------------------------------------------ helpers
    def _ch(self, channel: str) -> Any:
        ch = self.ws.channels.get(channel) or self.ws.find_channel(channel)
        if ch is None:
            raise EmulatorError(f"unknown channel {channel}")
        return ch


def check_name_ws(emu: SlackEmulator, name: str) -> None:
    from .methods import ApiContext

    ctx = ApiContext(
        emu.ws,
        emu.base_url,
        emu.bot_user_id,
        emu.bot_id,
        emu.app_id,
        lambda e: None,
        lambda p: None,
        lambda m: None,
    )
    check_name(ctx, name)
