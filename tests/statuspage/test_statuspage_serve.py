"""A plain `serve` process (no web UI) serves the status page from its config file, and a bad
`[statuspage]` table stops it at start with one line naming the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.statuspage.conftest import STATUSPAGE
from tests.support.harness import ROOT, ServeProcess, bot_env


def test_a_plain_serve_serves_the_status_page(emulator: Any, database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(STATUSPAGE, encoding="utf-8")
    serve = ServeProcess(emulator, database_url, tmp_path / "serve.log", INCIDENT_BOT_CONFIG=str(config))
    try:
        base = f"http://127.0.0.1:{serve.healthy().port}"
        page = httpx.get(f"{base}/status", timeout=10)
        assert page.status_code == 200 and page.headers["cache-control"] == "public, max-age=30"
        assert "Acme status" in page.text and "Card payments" in page.text
        assert "All systems operational" in page.text
        assert httpx.get(f"{base}/status.json", timeout=10).json()["components"][0]["name"] == "Public API"
        assert httpx.get(f"{base}/ui/", timeout=10).status_code == 404  # the web UI is off
    finally:
        assert serve.terminate() == 0


def test_a_bad_component_stops_serve_with_one_clear_line(
    emulator: Any, database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(STATUSPAGE.replace('id = "payments"', 'id = "api"'), encoding="utf-8")
    env = bot_env(
        emulator, database_url, INCIDENT_BOT_CONFIG=str(config), PORT="1"
    )  # never bound: the config stops it first
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "component id 'api' is listed twice" in done.stderr
