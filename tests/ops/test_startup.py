"""`incident-bot serve` refuses to start, fast and clearly, on bad configuration (real command)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, free_port

pytestmark = pytest.mark.slow


def run_serve(env: dict[str, str], timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
    base.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_no_token(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = run_serve({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert proc.returncode != 0
    assert time.monotonic() - started < 10
    assert "SLACK_BOT_TOKEN is not set" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unreachable_database(tmp_path: Path) -> None:
    proc = run_serve(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "DATABASE_URL": "postgresql+psycopg://incident:hunter2pass@127.0.0.1:1/incidents",
        }
    )
    assert proc.returncode != 0
    assert "database unreachable at postgresql+psycopg://incident:***@127.0.0.1:1/incidents" in proc.stderr
    assert "hunter2pass" not in proc.stderr
    assert BOT_TOKEN not in proc.stderr and SIGNING_SECRET not in proc.stderr


def test_sqlite_in_missing_directory(tmp_path: Path) -> None:
    proc = run_serve(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'x.db'}",
        }
    )
    assert proc.returncode != 0
    assert "database unreachable" in proc.stderr


def test_rejected_token(emulator: object, tmp_path: Path) -> None:
    wrong = "xoxb-not-the-right-token-42"
    proc = run_serve(
        {
            "SLACK_BOT_TOKEN": wrong,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,  # type: ignore[attr-defined]
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        }
    )
    assert proc.returncode != 0
    assert "Slack rejected SLACK_BOT_TOKEN: auth.test answered invalid_auth" in proc.stderr
    assert wrong not in proc.stderr


def test_unreachable_slack(tmp_path: Path) -> None:
    proc = run_serve(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        }
    )
    assert proc.returncode != 0
    assert "cannot reach the Slack API" in proc.stderr


def test_serve_starts_and_reports_health(emulator: object, tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
    env = {
        **base,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,  # type: ignore[attr-defined]
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.1)
        assert resp.status_code == 200
        body = resp.json()
        assert body["status"] == "ok"
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["slack"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_config_naming_an_unknown_kind_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text('[reactions]\nfire = "bogus_kind"\n')
    proc = run_serve(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "INCIDENT_BOT_CONFIG": str(cfg),
        }
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"incident-bot: configuration: {cfg}: reactions: unknown kind in fire = 'bogus_kind': use one of "
        "action_item, error, finding, fix, hypothesis, impact, lesson, open_question, reproduction, "
        "root_cause, timeline, verification"
    ]
