"""Dependencies failing while serving, and what reaches the logs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bot.config import load_settings
from storage import db
from storage.db import make_engine, session_scope
from storage.models import Incident
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, ServeProcess, wait_for
from tests.support.tcp_proxy import TcpProxy


def health(base: str) -> tuple[int, dict[str, Any]]:
    resp = httpx.get(base + "/healthz", timeout=10)
    return resp.status_code, resp.json()


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs a database server to take away")
def test_database_outage_while_serving_and_recovery(
    emulator: Any, database_url: str, people: dict[str, str], channels: dict[str, str], tmp_path: Path
) -> None:
    emu = emulator
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        INCIDENT_OUTPUT_DIR=str(tmp_path),
    )
    bot = BotServer(settings).start()
    emu.request_urls = [bot.url]
    try:
        assert health(bot.base)[0] == 200
        proxy.cut()
        # /healthz reports the last background check (every few seconds), not a check of its own.
        _, body = wait_for(lambda: (r := health(bot.base))[0] == 503 and r, what="the outage in /healthz")
        assert body["failing"] == ["database"]
        d = emu.slash_command(people["alice"], channels["general"], "declare sev2 During the outage")
        assert d.status == 200
        assert "database is unreachable" in d.json["text"]

        proxy.restore()
        wait_for(lambda: health(bot.base)[0] == 200, what="recovery")
        emu.slash_command(people["alice"], channels["general"], "declare sev2 After the outage")
        with Session(bot.services.engine) as s:
            wait_for(
                lambda: s.exec(select(Incident).where(Incident.state == "active")).first(), what="declare"
            )
            titles = [i.title for i in s.exec(select(Incident)).all()]
        assert titles == ["After the outage"]
    finally:
        bot.stop()
        proxy.close()


@pytest.mark.slow
def test_logs_are_json_tagged_and_never_hold_secrets(
    emulator: Any, people: dict[str, str], channels: dict[str, str], tmp_path: Path
) -> None:
    emu = emulator
    log_path = tmp_path / "serve.log"
    serve = ServeProcess(
        emu, f"sqlite:///{tmp_path / 'logs.db'}", log_path, LOG_LEVEL="DEBUG", LOG_FORMAT="json"
    ).healthy()
    try:
        emu.request_urls = [serve.url]
        emu.slash_command(people["alice"], channels["general"], "declare sev2 Logging check")
        wait_for(lambda: "declared INC-1" in log_path.read_text(), what="declare log line")
        wait_for(lambda: emu.calls_to("chat.postMessage"), what="INC-1's summary card")
        emu.inject_fault("chat.postMessage", error="invalid_auth")
        emu.slash_command(people["alice"], channels["general"], "declare sev3 Second one")
        wait_for(lambda: "could not post the summary card" in log_path.read_text(), what="warning")
    finally:
        serve.terminate()
    text = log_path.read_text()
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in text
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert records, text[:2000]
    declared = [r for r in records if r["message"].startswith("declared INC-1")]
    assert declared and declared[0].get("incident") == "INC-1", declared
    warned = [r for r in records if "could not post the summary card" in r["message"]]
    assert warned and warned[0]["incident"] == "INC-2"


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs a database server")
def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database_url)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    try:
        with session_scope(engine) as s:
            pid = s.connection().execute(text("SELECT pg_backend_pid()")).scalar()
        with session_scope(engine) as s:
            assert s.connection().execute(text("SELECT pg_backend_pid()")).scalar() == pid
        assert pings == [], "a connection used a moment ago is not pinged"

        with admin.connect() as c:  # the server drops the pooled connection while it is idle
            c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        monkeypatch.setattr(db, "PING_IDLE_AFTER_S", 0.0)
        with session_scope(engine) as s:
            assert s.connection().execute(text("SELECT pg_backend_pid()")).scalar() != pid
        assert len(pings) == 1
    finally:
        engine.dispose()
        admin.dispose()
