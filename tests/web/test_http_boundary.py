"""The one HTTP boundary over the real app on loopback: every route declares its body limits; a
body is refused before it is read when the request head already says no (size, credentials, no
session); a slow body is cut at the deadline; a client that goes away is not an ERROR."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

import bot.ops.http_boundary as boundary_module
from bot.ops.http_boundary import limits_of, undeclared
from tests.support.harness import BotServer, wait_for
from tests.support.overview_seed import add_incident
from tests.support.web_support import sign_in


class Logged(logging.Handler):
    """What the server logs (uvicorn's "Exception in ASGI application" included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def errors(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.ERROR]

    def lines(self, text: str) -> list[str]:
        return [r.getMessage() for r in self.records if text in r.getMessage()]


@pytest.fixture
def logged() -> Iterator[Logged]:
    handler = Logged()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    boundary_log = logging.getLogger(boundary_module.__name__)
    level = boundary_log.level
    boundary_log.setLevel(logging.DEBUG)
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        boundary_log.setLevel(level)
        for lg in loggers:
            lg.removeHandler(handler)


def session_cookie(web: BotServer, user: str) -> str:
    client = sign_in(web, user)
    return str(client.cookies["incident_bot_session"])


def raw(port: int, head: bytes, body: bytes = b"", wait: float = 5.0) -> tuple[bytes, float]:
    """Send a request head (and the start of a body) and read what comes back until the server
    closes the connection or ``wait`` passes; the answer and the seconds it took."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(wait)
        started = time.monotonic()
        sock.sendall(head + body)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer, time.monotonic() - started


def test_every_route_of_the_real_app_declares_its_body_limits(web: BotServer) -> None:
    assert undeclared(web.asgi.routes) == []
    by_path = {str(getattr(r, "path", "")): r for r in web.asgi.routes}
    assert limits_of(by_path["/healthz"]).body == 0  # type: ignore[union-attr]
    assert limits_of(by_path["/slack/events"]).body == 1_000_000  # type: ignore[union-attr]


def test_a_huge_sign_out_body_without_a_session_is_refused_before_it_is_read(
    web: BotServer, logged: Logged
) -> None:
    """The review's 300 MB streamed at sign-out with no cookie: answered 403 at once, while the
    client has sent one chunk of it, and the connection closed."""
    chunk = 64 * 1024
    head = (
        b"POST /ui/auth/logout HTTP/1.1\r\nHost: bot\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer, took = raw(web.port, head, f"{chunk:x}\r\n".encode() + b"a" * chunk + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 403"), answer[:80]
    assert b"connection: close" in answer.lower()
    assert took < 4, f"answered after {took:.1f} s"
    declared = b"POST /ui/auth/logout HTTP/1.1\r\nHost: bot\r\nContent-Length: 300000000\r\n\r\n"
    answer, _ = raw(web.port, declared)
    assert answer[:12] in (b"HTTP/1.1 403", b"HTTP/1.1 413"), answer[:80]
    assert logged.errors == []


def test_a_sign_out_body_over_its_cap_is_413_at_once_even_signed_in(
    web: BotServer, people: dict[str, str]
) -> None:
    cookie = session_cookie(web, people["alice"])
    head = (
        b"POST /ui/auth/logout HTTP/1.1\r\nHost: bot\r\nContent-Length: 300000000\r\n"
        + f"Cookie: incident_bot_session={cookie}\r\n\r\n".encode()
    )
    answer, took = raw(web.port, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert took < 4


def test_a_body_on_a_page_or_probe_is_refused(web: BotServer) -> None:
    for path in (b"/healthz", b"/ui/analytics", b"/ui/static/style.css", b"/status", b"/status/feed.atom"):
        head = b"GET " + path + b" HTTP/1.1\r\nHost: bot\r\nContent-Length: 10\r\n\r\n"
        answer, _ = raw(web.port, head)
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:80])


def test_a_body_sent_to_a_path_or_method_without_a_route_closes_the_connection(web: BotServer) -> None:
    """404 and 405 never read the body: the connection is closed rather than kept draining it."""
    for head in (
        b"POST /ui/analytics HTTP/1.1\r\nHost: bot\r\nContent-Length: 100000\r\n\r\n",
        b"POST /nowhere HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n\r\n",
    ):
        answer, took = raw(web.port, head, b"a")
        assert answer[:12] in (b"HTTP/1.1 405", b"HTTP/1.1 404"), answer[:80]
        assert b"connection: close" in answer.lower() and took < 4, (answer[:200], took)


def test_alert_intake_checks_credentials_before_reading_the_body(web: BotServer) -> None:
    """No bearer token and no signature: 401 on the head alone (the body never comes)."""
    head = (
        b"POST /alerts/alertmanager HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        b"Content-Length: 500000\r\n\r\n"
    )
    answer, took = raw(web.port, head, b"{")
    assert answer.startswith(b"HTTP/1.1 401"), answer[:80]
    assert took < 4, f"answered after {took:.1f} s"


def test_slack_intake_checks_the_signature_head_before_reading_the_body(web: BotServer) -> None:
    """No signature, a timestamp of six minutes ago, or none: 401 on the head alone, the
    connection closed (an unsigned drip no longer holds one for the body's deadline). A fresh,
    well-formed head is let in: its body is then read and verified (a wrong signature: 401 too)."""
    now = int(time.time())
    heads = {
        "unsigned": b"",
        "stale": f"X-Slack-Request-Timestamp: {now - 360}\r\nX-Slack-Signature: v0={'0' * 64}\r\n".encode(),
        "no timestamp": f"X-Slack-Signature: v0={'0' * 64}\r\n".encode(),
    }
    for what, signing in heads.items():
        head = (
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            + signing
            + b"Content-Length: 500000\r\n\r\n"
        )
        answer, took = raw(web.port, head, b"{")
        assert answer.startswith(b"HTTP/1.1 401"), (what, answer[:80])
        assert b"connection: close" in answer.lower() and took < 4, (what, answer[:200], took)
    fresh = httpx.post(
        f"http://127.0.0.1:{web.port}/slack/events",
        content=b'{"type": "event_callback"}',
        headers={"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64},
        timeout=5,
    )
    assert fresh.status_code == 401 and fresh.text == "invalid or stale signature"


def test_a_dripped_sign_out_body_is_cut_at_the_deadline_and_a_vanished_client_is_no_error(
    web: BotServer, people: dict[str, str], logged: Logged, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boundary_module, "BODY_DEADLINE", 1.0)
    cookie = session_cookie(web, people["alice"])
    head = (
        b"POST /ui/auth/logout HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n"
        + f"Cookie: incident_bot_session={cookie}\r\n\r\n".encode()
    )
    answer, took = raw(web.port, head, b"c", wait=8)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert took < 5
    for _ in range(3):  # clients that give up half-way through their body
        with socket.create_connection(("127.0.0.1", web.port)) as sock:
            sock.sendall(head + b"csrf=")
    wait_for(lambda: len(logged.lines("went away")) >= 3, what="three clients gone away")
    assert logged.errors == []


NINES = "9" * 30


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ui/incidents/1?rev=²", 400),  # isdigit() says yes, int() says no
        (f"/ui/incidents/{NINES}", 404),  # past what SQLite's integers hold
        (f"/ui/?before={NINES}", 400),
    ],
    ids=["superscript-revision", "30-digit-incident", "30-digit-cursor"],
)
def test_odd_numbers_in_pages_are_400_or_404_not_500(
    web: BotServer, people: dict[str, str], path: str, status: int
) -> None:
    add_incident(web.services.repo, 1, title="Checkout down")
    client = sign_in(web, people["alice"])
    assert client.get(path).status_code == status


def test_a_non_ascii_sign_in_state_is_refused_not_500(web: BotServer) -> None:
    client = httpx.Client(base_url=web.base, follow_redirects=False, timeout=10)
    assert client.get("/ui/auth/login").status_code == 303  # a sign-in is pending in the session
    r = client.get("/ui/auth/callback?code=x&state=%C3%A9")
    assert r.status_code == 400 and "not started here" in r.text
