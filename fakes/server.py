"""`FakeServer`: serve any fake's Starlette app on a loopback port from a background thread."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from .base import FakeService

log = logging.getLogger("fakes")


class _Server(uvicorn.Server):
    """uvicorn, but noticing `should_exit` within ~10 ms instead of 100 ms (fast test teardown)."""

    async def main_loop(self) -> None:
        counter = 0
        while not self.should_exit:
            counter += 1
            await asyncio.sleep(0.01)
            if counter % 10 == 0 and await self.on_tick(counter // 10):
                break


class FakeServer:
    """Runs `fake` over real HTTP: `with FakeServer(GitHubFake()) as srv: httpx.get(srv.url + "/user")`.

    `url` has no trailing slash. The fake learns it (`fake.base_url`) so the URLs it hands out
    (`url`, `self`, `comments_url`...) point back at it unless the fake was given its own.
    """

    def __init__(self, fake: FakeService, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self.host = host
        self.port = port
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        if self._server is not None:
            return self.url
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        self.fake.base_url = self.url
        config = uvicorn.Config(self.fake.app(), log_level="warning", lifespan="off", access_log=False)
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"fake-{self.fake.name}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"fake {self.fake.name} failed to start")
            time.sleep(0.01)
        log.info("fake %s serving %s", self.fake.name, self.url)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
