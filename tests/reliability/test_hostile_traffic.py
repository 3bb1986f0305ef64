"""Hostile traffic against the running bot: huge and slow bodies, idle sockets, probe floods, odd numbers.

The body and socket tests run the real `incident-bot serve` process (its uvicorn settings and its
memory are what is under test); the others the in-process bot.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import bot.ops.health as health_module
import bot.ops.http_boundary as boundary_module
from bot.config import Settings
from tests.support.harness import BotServer, ServeProcess

MB = 1_000_000


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class RssSampler:
    """The highest resident set size of a process while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = rss_kb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, rss_kb(self.pid))


def signed_head() -> bytes:
    """Headers that pass the head check (a ``v0=`` signature, a fresh timestamp): the body is then
    read, within its limits, before the signature is found wrong."""
    return f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n".encode()


def post_chunked(port: int, total: int, chunk: int = 64 * 1024) -> tuple[int, bytes]:
    """POST ``total`` bytes of chunked body, wrongly signed, to /slack/events as fast as the server
    takes them; the bytes sent before the server stopped taking them, and its answer (if it came)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(20)
    answer = bytearray()

    def read() -> None:
        try:
            while data := sock.recv(65536):
                answer.extend(data)
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        + signed_head()
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    frame = f"{chunk:x}\r\n".encode() + b"{" * chunk + b"\r\n"
    sent = 0
    try:
        sock.sendall(head)
        while sent < total:
            sock.sendall(frame)
            sent += chunk
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    reader.join(timeout=20)
    sock.close()
    return sent, bytes(answer)


@pytest.fixture
def serve(emulator: Any, tmp_path: Path) -> Iterator[ServeProcess]:
    proc = ServeProcess(emulator, f"sqlite:///{tmp_path / 'hostile.db'}", tmp_path / "serve.log").healthy()
    try:
        yield proc
    finally:
        proc.kill()


@pytest.fixture
def http_bot(settings: Settings, emulator: Any) -> Iterator[BotServer]:
    """Request headers and sockets are HTTP matters: the in-process bot over HTTP only."""
    server = BotServer(settings).start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_a_200_mb_wrongly_signed_chunked_body_is_refused_without_being_read(serve: ServeProcess) -> None:
    httpx.post(serve.url, content=b"{}", timeout=5)  # the route's code is loaded before measuring
    before = rss_kb(serve.proc.pid)
    with RssSampler(serve.proc.pid) as rss:
        sent, answer = post_chunked(serve.port, 200 * MB)
    growth_mb = (rss.peak_kb - before) / 1000
    assert growth_mb < 20, f"RSS grew by {growth_mb:.0f} MB"
    assert sent < 20 * MB, f"the server took {sent / MB:.0f} MB of a wrongly signed body"
    if answer:  # the answer may be lost to the reset of a connection closed with unread data
        assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert httpx.get(f"http://127.0.0.1:{serve.port}/healthz", timeout=5).status_code == 200


@pytest.mark.slow
def test_a_declared_oversized_body_is_refused_before_it_is_sent(serve: ServeProcess) -> None:
    with socket.create_connection(("127.0.0.1", serve.port)) as sock:
        sock.settimeout(5)
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200000000\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(4096):  # until the server closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert b"payload too large" in answer


@pytest.mark.slow
def test_idle_partial_header_and_slow_body_sockets_are_closed_and_healthz_answers_meanwhile(
    serve: ServeProcess,
) -> None:
    """220 connections held the way a slow-client attack holds them: none open, sending nothing, a
    request head a byte at a time, a body a byte at a time. /healthz answers while they are held;
    the server closes every one of them within its deadlines (10 s), however they drip."""
    socks: dict[str, list[socket.socket]] = {"idle": [], "head": [], "body": []}
    for i in range(220):
        kind = ("idle", "head", "body")[i % 3]
        s = socket.create_connection(("127.0.0.1", serve.port))
        if kind == "head":
            s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
        elif kind == "body":
            s.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
                + signed_head()
                + b"Content-Length: 100000\r\n\r\n{"
            )
        socks[kind].append(s)
    opened = time.monotonic()
    closed: set[socket.socket] = set()
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(1.0):
            for s in socks["head"] + socks["body"]:
                if s not in closed:
                    with contextlib.suppress(OSError):
                        s.send(b"a")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(1.5)
        health = httpx.get(f"http://127.0.0.1:{serve.port}/healthz", timeout=5)
        assert health.status_code == 200, health.text

        everything = [s for group in socks.values() for s in group]
        while len(closed) < len(everything) and time.monotonic() - opened < 30:
            readable, _, _ = select.select([s for s in everything if s not in closed], [], [], 0.5)
            for s in readable:
                try:
                    if not s.recv(65536):
                        closed.add(s)
                except OSError:
                    closed.add(s)
        still_open = {kind: sum(s not in closed for s in group) for kind, group in socks.items()}
        assert still_open == {"idle": 0, "head": 0, "body": 0}, f"open after 30 s: {still_open}"
    finally:
        stop.set()
        dripper.join()
        for group in socks.values():
            for s in group:
                s.close()


def test_healthz_probes_never_delay_an_ack_while_slack_is_slow(
    settings: Settings,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = emulator
    monkeypatch.setattr(health_module, "SLACK_CHECK_EVERY", 0.5)
    monkeypatch.setattr(health_module, "SLACK_RETRY_EVERY", 0.5, raising=False)
    server = BotServer(settings).start().attach(emu)
    try:
        assert emu.slash_command(people["alice"], channels["general"], "help").status == 200
        emu.inject_fault("auth.test", latency=8.0, times=1000)
        time.sleep(1.0)  # the last good auth.test is older than the check interval now

        def probe(_: int) -> int:
            return httpx.get(f"{server.base}/healthz", timeout=20).status_code

        with ThreadPoolExecutor(max_workers=45) as pool:
            probes = [pool.submit(probe, i) for i in range(45)]
            time.sleep(1.0)  # the probes are all in (on a busy machine too); auth.test answers at 8 s
            ack = emu.slash_command(people["bob"], channels["general"], "list")
            statuses = [p.result() for p in probes]
        assert ack.status == 200, f"/incident list was not acked within Slack's 3 s ({ack.error})"
        assert set(statuses) <= {200, 503}
    finally:
        emu.clear_faults()
        server.stop()


@pytest.mark.parametrize(
    "timestamp",
    [
        "²³".encode("latin-1"),  # isdigit() is true; int() refuses
        b"1" * 5000,  # over int()'s 4,300 digits
        "١٧٠٠٠٠٠٠٠٠".encode(),
        b"-1",
        b"1e9",
    ],
    ids=["superscripts", "5000-digits", "arabic-indic-utf8", "negative", "exponent"],
)
def test_odd_request_timestamps_are_refused_cleanly(http_bot: BotServer, timestamp: bytes) -> None:
    body = b"command=%2Fincident&text=help"
    resp = httpx.post(
        http_bot.url,
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
        timeout=5,
    )
    assert resp.status_code == 401, resp.text[:200]


def test_a_slow_body_gets_a_408_and_the_connection_closed(
    http_bot: BotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boundary_module, "BODY_DEADLINE", 1.0)
    with socket.create_connection(("127.0.0.1", http_bot.port)) as sock:
        sock.settimeout(10)
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            + signed_head()
            + b"Content-Length: 1000\r\n\r\n{"
        )
        answer = b""
        while chunk := sock.recv(4096):  # until the server closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b"connection: close" in answer.lower()
