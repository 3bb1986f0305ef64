"""Fixtures for the Slack emulator's own tests: a running emulator, a WebClient, a bot stand-in."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import uvicorn
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slack_emulator import SlackEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT / "tests" / "data" / "slack-spec"
SECRET = "s3cret"


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    """Slack's published specs, vendored verbatim under tests/data/slack-spec."""
    return SPEC_DIR


@pytest.fixture(scope="session")
def sample(spec_dir: Path) -> Any:
    cache: dict[str, Any] = {}

    def load(rel: str) -> Any:
        if rel not in cache:
            cache[rel] = json.loads((spec_dir / "java-slack-sdk" / "samples" / rel).read_text())
        return cache[rel]

    return load


class Receiver:
    """A bot stand-in: records every request, checks its Slack signature, answers as told."""

    def __init__(self, secret: str = SECRET) -> None:
        self.verifier = SignatureVerifier(secret)
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # consumed one per request; 200 when empty
        self.delay = 0.0
        self.delays: list[float] = []
        self.reply: Any = None  # JSON body to answer with
        self.lock = threading.Lock()
        self.url = ""
        self._server: uvicorn.Server | None = None

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        entry: dict[str, Any] = {
            "headers": headers,
            "body": body,
            "valid": "x-slack-request-timestamp" in headers
            and self.verifier.is_valid(
                body, headers["x-slack-request-timestamp"], headers.get("x-slack-signature", "")
            ),
            "path": request.url.path,
        }
        if headers.get("content-type", "").startswith("application/json"):
            entry["json"] = json.loads(body)
        else:
            form = dict(parse_qsl(body.decode()))
            entry["form"] = form
            if "payload" in form:
                entry["json"] = json.loads(form["payload"])
        with self.lock:
            self.requests.append(entry)
            status = self.statuses.pop(0) if self.statuses else 200
            delay = self.delays.pop(0) if self.delays else self.delay
        if delay:
            await asyncio.sleep(delay)
        if self.reply is not None:
            return Response(json.dumps(self.reply), status_code=status, media_type="application/json")
        return Response(b"", status_code=status)

    def start(self) -> str:
        app = Starlette(routes=[Route("/slack/events", self.handle, methods=["POST"])])
        self._server, port = serve(app)
        self.url = f"http://127.0.0.1:{port}/slack/events"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    def wait_for(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {n} requests, got {len(self.requests)}")

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["json"] for r in self.requests if r.get("json", {}).get("type") == "event_callback"]


def serve(app: Any) -> tuple[uvicorn.Server, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.01)
    return server, port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def emu(receiver: Receiver) -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret=SECRET, request_urls=[receiver.url]) as e:
        yield e


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url)


@pytest.fixture
def people(emu: SlackEmulator) -> dict[str, str]:
    return {"alice": emu.add_user("alice", "Alice A"), "bob": emu.add_user("bob", "Bob B")}


@pytest.fixture
def make_receiver() -> Iterator[Any]:
    """Factory for extra bot stand-ins (replicas)."""
    made: list[Receiver] = []

    def make() -> Receiver:
        r = Receiver()
        r.start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


@pytest.fixture
def serve_app() -> Iterator[Any]:
    """Serve an ASGI app on 127.0.0.1 in a thread; returns its port. Stopped at teardown."""
    servers: list[uvicorn.Server] = []

    def start(app: Any) -> int:
        server, port = serve(app)
        servers.append(server)
        return port

    yield start
    for s in servers:
        s.should_exit = True
