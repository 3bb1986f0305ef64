"""/livez, /readyz, /healthz's version, /metrics on its own port, --version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings, load_settings
from tests.support.harness import (
    BOT_TOKEN,
    ROOT,
    SIGNING_SECRET,
    BotServer,
    ServeProcess,
    free_port,
    wait_for,
)
from tests.support.tcp_proxy import TcpProxy

# What the release is, found the way an operator would: the VERSION file and git, not the bot's code.
VERSION = (ROOT / "VERSION").read_text().strip()
COMMIT = subprocess.run(
    ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
).stdout.strip()


def get(base: str, path: str) -> httpx.Response:
    return httpx.get(base + path, timeout=10)


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs a database server to take away")
def test_livez_stays_up_and_readyz_names_the_database_while_postgresql_is_unreachable(
    emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path
) -> None:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        INCIDENT_OUTPUT_DIR=str(tmp_path),
    )
    bot = BotServer(settings).start()
    try:
        assert get(bot.base, "/livez").status_code == 200
        assert get(bot.base, "/readyz").status_code == 200
        proxy.cut()
        ready = wait_for(
            lambda: (r := get(bot.base, "/readyz")).status_code == 503 and r, what="/readyz to fail"
        )
        assert ready.json()["failing"] == ["database"]
        assert ready.json()["checks"]["database"].startswith("unreachable")
        assert get(bot.base, "/livez").status_code == 200  # a restart would not bring PostgreSQL back

        proxy.restore()
        wait_for(lambda: get(bot.base, "/readyz").status_code == 200, what="/readyz to recover")
        assert get(bot.base, "/livez").status_code == 200
    finally:
        bot.stop()
        proxy.close()


def test_readyz_names_slack_while_auth_test_fails_and_livez_does_not_care(
    emulator: Any, settings: Settings
) -> None:
    bot = BotServer(settings).start()
    try:
        assert get(bot.base, "/readyz").json() == {
            "status": "ok",
            "failing": [],
            "checks": {"database": "ok", "slack": "ok", "spool": "ok"},
        }
        bot.runtime.health.slack_every = bot.runtime.health.slack_retry_every = 0.0
        emulator.inject_fault("auth.test", error="invalid_auth", times=1000)
        ready = wait_for(
            lambda: (r := get(bot.base, "/readyz")).status_code == 503 and r, what="/readyz to fail"
        )
        assert ready.json()["failing"] == ["slack"]
        assert get(bot.base, "/livez").status_code == 200
        health = get(bot.base, "/healthz")
        assert health.status_code == 503 and health.json()["version"] == VERSION
        assert health.json()["commit"] == COMMIT
    finally:
        bot.stop()


@pytest.mark.slow
def test_metrics_on_their_own_port_with_build_info_process_and_queue_depth(
    emulator: Any, database_url: str, tmp_path: Path
) -> None:
    metrics_port = free_port()
    log = tmp_path / "serve.log"
    serve = ServeProcess(emulator, database_url, log, METRICS_PORT=str(metrics_port)).healthy()
    try:
        base = f"http://127.0.0.1:{serve.port}"
        assert get(base, "/metrics").status_code == 404  # not where Slack's requests arrive
        health = get(base, "/healthz").json()
        assert (health["version"], health["commit"]) == (VERSION, COMMIT)
        text = get(f"http://127.0.0.1:{metrics_port}", "/metrics").text
        python = sys.version.split()[0]
        assert (
            f'incident_bot_build_info{{commit="{COMMIT}",python="{python}",version="{VERSION}"}} 1.0' in text
        )
        assert "process_resident_memory_bytes " in text
        assert "python_info{" in text
        assert 'incident_bot_event_queue_depth{transport="http"} 0.0' in text
        lines = log.read_text().splitlines()
        assert lines[0].endswith(f"incident-bot {VERSION} ({COMMIT[:7]}) starting"), lines[0]
        assert any("database schema upgraded from empty" in line for line in lines[1:]), (
            "logged while starting"
        )
        assert f"incident-bot {VERSION} ({COMMIT[:7]}) serving on 0.0.0.0:{serve.port}" in log.read_text()
    finally:
        assert serve.terminate() == 0


def test_metrics_stay_on_the_main_port_without_metrics_port(settings: Settings) -> None:
    bot = BotServer(settings).start()
    try:
        text = get(bot.base, "/metrics").text
        assert "incident_bot_build_info{" in text and "incident_bot_event_queue_depth" in text
    finally:
        bot.stop()


def test_version_flag_prints_the_version_file_and_the_commit(tmp_path: Path) -> None:
    installed = Path(sys.executable).parent / "incident-bot"  # the console script pip installed
    out = subprocess.run([installed, "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"incident-bot {VERSION} ({COMMIT[:7]})"
