"""Email subscribers: each public update reaches a real local SMTP server (aiosmtpd) once per
recipient following an affected component, signed in with the configured account, through the
outbox (a refusal is retried); the email shows the state /status shows; a private incident's
updates never email."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from bot.config import ConfigError, load_config
from bot.statuspage.blocks import ACTION_RESOLVE_PUBLIC
from storage.models import OutboxMessage
from tests.statuspage.test_statuspage_e2e import INTERNAL, publish
from tests.support.harness import BotServer, free_port, wait_for
from tests.support.lifecycle_support import click, command, declare, rows

PASSWORD = "smtp-pass-never-logged-0123"


@dataclass
class Sink:
    """What the SMTP server received, and the answers it gives to the next DATA commands."""

    port: int = 0
    received: list[tuple[list[str], Message]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # e.g. "451 try later", consumed in order
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for rcpts, m in self.received if address in rcpts]

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.login == b"status-bot" and data.password == PASSWORD.encode())
        return AuthResult(success=False, handled=False)


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink(port=free_port())
    controller = Controller(
        s, hostname="127.0.0.1", port=s.port, authenticator=s.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield s
    finally:
        controller.stop()


EMAIL = """
[outgoing]
retry_base_seconds = 0.2
retry_max_seconds = 1
sweep_every_seconds = 0.1

[statuspage.email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "status@acme.example"
username = "status-bot"

[[statuspage.email.recipients]]
address = "everyone@acme.example"

[[statuspage.email.recipients]]
address = "payments-team@acme.example"
components = ["payments"]

[[statuspage.email.recipients]]
address = "dashboard-fans@acme.example"
components = ["dashboard"]
"""


def body(m: Message) -> str:
    payload = m.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_publish_update_and_resolve_email_the_followers_the_state_the_page_shows(
    statuspage_bot: Callable[..., BotServer],
    sink: Sink,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = statuspage_bot(EMAIL.format(port=sink.port), statuspage_smtp_password=SecretStr(PASSWORD))
    alice = people["alice"]
    inc = declare(bot, emulator, alice, channels["general"], INTERNAL)
    sink.answers.append("451 4.3.0 try again later")  # the first email is deferred: retried, sent once
    bot.duplicate_deliveries(emulator, times=2)  # and Slack delivers the submission twice
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Some card payments fail", state="investigating",
        message="We are investigating failed card payments.", components=["payments"],
    )  # fmt: skip
    [first] = wait_for(lambda: sink.to("everyone@acme.example") or None, what="the first email")
    [team] = wait_for(lambda: sink.to("payments-team@acme.example") or None, what="the team's email")
    assert sink.to("dashboard-fans@acme.example") == []  # the dashboard is not affected
    assert ("status-bot", PASSWORD) in sink.logins
    assert first["From"] == "status@acme.example"
    assert first["Subject"] == "[Acme status] Some card payments fail: Investigating"
    assert first["Message-ID"] and first["Message-ID"] != team["Message-ID"]
    text = body(first)
    assert "Investigating: We are investigating failed card payments." in text
    assert "- Card payments: Partial outage" in text and "Public API" not in text

    # The update: what /status shows now, the email shows.
    emulator.join_channel(people["bob"], inc.channel_id)
    publish(
        bot, emulator, people["bob"], inc.channel_id,
        title="Some card payments fail", state="identified",
        message="We found the cause and are fixing it.", components=["payments", "api"], impact="major_outage",
    )  # fmt: skip
    second = wait_for(lambda: sink.to("everyone@acme.example")[1:] or None, what="the second email")[0]
    status = json.loads(httpx.get(f"{bot.base}/status.json", timeout=10).text)
    [story] = status["incidents"]
    assert second["Subject"] == f"[Acme status] {story['title']}: {story['updates'][0]['state'].capitalize()}"
    text = body(second)
    assert f"Identified: {story['updates'][0]['message']}" in text
    names = {c["id"]: c["name"] for c in status["components"]}
    for c in status["components"]:
        if c["impact"] != "operational":
            assert f"- {names[c['id']]}: {c['impact'].replace('_', ' ').capitalize()}" in text
    assert "- Public API: Major outage" in text and "Dashboard" not in text

    # Resolving: every follower of what was affected hears it is over.
    command(bot, emulator, alice, inc.channel_id, "resolve Failed over to the replica")
    prompt = wait_for(
        lambda: next(
            (
                m
                for m in emulator.messages(inc.channel_id)
                if ACTION_RESOLVE_PUBLIC in json.dumps(m.get("blocks"))
            ),
            None,
        ),
        what="the status page prompt",
    )
    click(bot, emulator, alice, inc.channel_id, prompt["ts"], ACTION_RESOLVE_PUBLIC)
    resolved = wait_for(lambda: sink.to("payments-team@acme.example")[2:] or None, what="the resolved email")
    assert resolved[0]["Subject"] == "[Acme status] Some card payments fail: Resolved"
    assert "- Card payments: Operational" in body(resolved[0])
    assert "All systems operational" in httpx.get(f"{bot.base}/status", timeout=10).text
    wait_for(lambda: len(sink.to("everyone@acme.example")) == 3 or None, what="everyone's third email")

    # Exactly once each, whatever Slack redelivered or the server deferred; nothing internal.
    assert len(sink.to("everyone@acme.example")) == 3 and len(sink.to("payments-team@acme.example")) == 3
    assert sink.to("dashboard-fans@acme.example") == []
    outbox = [r for r in rows(bot, OutboxMessage) if r.kind == "status_email"]
    assert len(outbox) == 6 and {r.state for r in outbox} == {"done"}
    assert max(r.attempts for r in outbox) == 2  # the deferred one
    with sink.lock:
        everything = "".join(m.as_string() for _, m in sink.received)
    for internal in ("db-prod-7", "hotfix", "4411", inc.channel_id, alice, people["bob"], "INC-"):
        assert internal not in everything
    assert PASSWORD not in caplog.text


def test_a_private_incidents_update_never_emails(
    statuspage_bot: Callable[..., BotServer], sink: Sink, emulator: Any, people: dict[str, str]
) -> None:
    bot = statuspage_bot(EMAIL.format(port=sink.port), statuspage_smtp_password=SecretStr(PASSWORD))
    alice = people["alice"]
    secret = bot.services.incidents.declare(title="Leaked signing key", declarer=alice, private=True).incident
    publish(
        bot, emulator, alice, secret.channel_id,
        title="Sign-in trouble", state="investigating",
        message="Secret rotation underway.", components=["api"], impact="major_outage",
    )  # fmt: skip
    wait_for(
        lambda: (
            any("internal record only" in m.get("text", "") for m in emulator.messages(secret.channel_id))
            or None
        ),
        what="the private update's note",
    )
    # And a public incident published after it does email: the private one was never queued.
    inc = bot.services.incidents.declare(title="Public thing", declarer=alice).incident
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Dashboard is slow", state="investigating", message="Looking into it.",
        components=["dashboard"], impact="degraded_performance",
    )  # fmt: skip
    wait_for(lambda: sink.to("dashboard-fans@acme.example") or None, what="the public incident's email")
    with sink.lock:
        subjects = [m["Subject"] for _, m in sink.received]
    assert subjects == ["[Acme status] Dashboard is slow: Investigating"] * 2  # everyone, dashboard-fans
    assert len([r for r in rows(bot, OutboxMessage) if r.kind == "status_email"]) == 2
    assert all("Sign-in trouble" not in json.dumps(r.payload) for r in rows(bot, OutboxMessage))


def test_email_settings_are_checked_at_start(tmp_path: Path) -> None:
    problems = {
        'host = "smtp.example"\n[[statuspage.email.recipients]]\naddress = "a@b.example"\n': "needs `from`",
        'host = "smtp.example"\nfrom = "s@b.example"\n': "lists no recipients",
        'host = "smtp.example"\nfrom = "s@b.example"\n[[statuspage.email.recipients]]\naddress = "nope"\n': (
            "not an email address"
        ),
        'host = "smtp.example"\nfrom = "s@b.example"\n[[statuspage.email.recipients]]\n'
        'address = "a@b.example"\ncomponents = ["nope"]\n': "unknown component 'nope'",
    }
    path = tmp_path / "config.toml"
    for table, expected in problems.items():
        path.write_text(
            '[statuspage]\n[[statuspage.components]]\nid = "api"\nname = "API"\n[statuspage.email]\n' + table,
            encoding="utf-8",
        )
        with pytest.raises(ConfigError, match=expected):
            load_config(path)
