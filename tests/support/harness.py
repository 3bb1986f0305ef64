"""Run the real bot for end-to-end tests: in-process on loopback (BotServer), or as the real
`python -m bot serve` command (ServeProcess)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from bot.config import Settings, load_settings
from bot.serve import Runtime, prepare, start_background, start_socket_mode, stop_recording
from bot.slack.app import create_asgi, create_bolt_app
from bot.slack.client import make_client
from bot.slack.socket_mode import SocketModeRunner
from bot.wiring import Services, build_services
from slack_emulator.emulator import PromptServer
from storage.db import make_engine

ROOT = Path(__file__).resolve().parents[2]

SIGNING_SECRET = "e2e-signing-secret-0123456789"
BOT_TOKEN = "xoxb-e2e-bot-token-0123456789"
APP_TOKEN = "xapp-e2e-app-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TRANSPORTS = ("http", "socket")

# How long a bot may take to start: generous, since `make test` runs several workers per core and
# a start that is merely slow must not fail a test. A start that works returns as soon as it is up.
STARTUP_TIMEOUT_S = 180.0  # a deadline, not a measurement: a loaded machine starts a process slowly


class BotServer:
    """The bot as `serve` builds it, on a loopback port (/healthz, /slack/events).

    transport "socket": it also connects over Socket Mode with the emulator's app token, as
    `serve --socket-mode` does; `attach(emu)` makes the emulator deliver over that socket.
    """

    def __init__(self, settings: Settings, transport: str = "http", port: int | None = None) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        self.transport = transport
        if transport == "socket" and settings.slack_app_token is None:
            settings = settings.model_copy(update={"slack_app_token": SecretStr(APP_TOKEN)})
        self.settings = settings
        self.sockets: list[SocketModeRunner] = []
        self.runtime: Runtime = prepare(settings)
        self.bolt = create_bolt_app(self.runtime.services)
        start_background(self.runtime.services, self.bolt)
        self.asgi = create_asgi(self.bolt, self.runtime.health)
        self.port = port or free_port()
        self._server = PromptServer(
            uvicorn.Config(self.asgi, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def services(self) -> Any:
        return self.runtime.services

    def start(self) -> BotServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("bot server did not start")
            time.sleep(0.01)
        if self.transport == "socket":
            self.sockets.append(start_socket_mode(self.bolt, self.settings, self.runtime.health))
        return self

    def attach(self, emu: Any) -> BotServer:
        """Make the emulator deliver to this bot, over its transport (raw HTTP posts still reach it)."""
        emu.request_urls = [self.url]
        emu.transport = self.transport
        if self.transport == "socket":
            assert emu.wait_socket_connections(1), "the bot's socket is not connected"
        return self

    def duplicate_deliveries(self, emu: Any, times: int = 2) -> None:
        """From now on the emulator delivers everything `times` times, as Slack's at-least-once may
        (HTTP: the URL repeated, broadcast; socket: more connections of this bot, broadcast)."""
        if self.transport == "socket":
            token = self.settings.slack_app_token
            assert token is not None
            for _ in range(times - 1):
                extra = SocketModeRunner(self.bolt, token.get_secret_value())
                extra.connect()
                self.sockets.append(extra)
            assert emu.wait_socket_connections(times), "the extra sockets did not connect"
        else:
            emu.request_urls = [self.url] * times
        emu.delivery_mode = "broadcast"

    def stop(self) -> None:
        for runner in self.sockets:
            runner.close()
        self.sockets.clear()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        # As `serve` stops: its threads done, the heartbeat's final beat written, before returning
        # (a test then restores or deletes the database file under a stopped bot). Its pooled
        # connections closed (a test reading the database afterwards opens new ones).
        stop_recording(self.bolt, self.services)
        self.services.engine.dispose()


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until predicate() is truthy; return its value. Background listeners run after the ack.
    The default timeout is generous (workers share the cores); it costs nothing when the condition holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def holds(predicate: Callable[[], Any], seconds: float, what: str = "condition") -> None:
    """Assert predicate() stays truthy for ``seconds``: the window the bot gets to (wrongly) do
    something more, e.g. send a second copy. Fails as soon as it does, not at the end."""
    deadline = time.monotonic() + seconds
    while True:
        assert predicate(), f"no longer true: {what}"
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)


def bot_env(emu: Any, database_url: str, **extra_env: str) -> dict[str, str]:
    """The environment of a real `incident-bot` command against ``emu`` and ``database_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=database_url,
    )
    env.update(extra_env)
    return env


class ServeProcess:
    """One real `python -m bot serve` process on its own port; its output goes to ``log``."""

    def __init__(self, emu: Any, database_url: str, log: Path, **extra_env: str) -> None:
        self.port = free_port()
        # The test's own folder (beside its log) unless given: documents and the spool stay out of
        # the checkout.
        extra_env.setdefault("INCIDENT_OUTPUT_DIR", str(log.parent / "output"))
        env = bot_env(emu, database_url, **{"PORT": str(self.port), "LOG_LEVEL": "INFO", **extra_env})
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def healthy(self) -> ServeProcess:
        """Wait until /healthz answers 200: database, Slack and the scheduler all ok."""

        def probe() -> bool:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(probe, timeout=STARTUP_TIMEOUT_S, what="serve to become healthy")
        return self

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._out.close()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self._out.close()
        return code


def services_for(emu: Any, database_url: str, **settings: str) -> Services:
    """The test's own view of a database that bot processes use, to set up and inspect."""
    s = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=database_url,
        **settings,
    )
    return build_services(s, make_engine(database_url), make_client(BOT_TOKEN, emu.api_url))
