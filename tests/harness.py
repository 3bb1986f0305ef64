"""Run the real bot (Bolt app behind uvicorn) in-process on loopback, for end-to-end tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from bot.app import create_asgi, create_bolt_app
from bot.server import Runtime, prepare
from bot.settings import Settings

SIGNING_SECRET = "e2e-signing-secret-0123456789"
BOT_TOKEN = "xoxb-e2e-bot-token-0123456789"
APP_TOKEN = "xapp-e2e-app-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotServer:
    """The bot as `serve` builds it, on a loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.runtime: Runtime = prepare(settings)
        self.bolt = create_bolt_app(self.runtime.services)
        self.asgi = create_asgi(self.bolt, self.runtime.health)
        self.port = free_port()
        self._server = uvicorn.Server(
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
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("bot server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.bolt.listener_runner.listener_executor.shutdown(wait=True)  # type: ignore[attr-defined]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until predicate() is truthy; return its value. Background listeners run after the ack."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
