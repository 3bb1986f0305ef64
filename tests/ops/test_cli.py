"""`incident-bot` command line: the emulator's options pass through (a database that is not there:
test_cli_database_url.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from tests.support.harness import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_emulator_help_is_the_emulators_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["emulator", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--request-url" in out and "--rate-limits" in out


def test_emulator_options_work_through_incident_bot(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "emulator", "--port", str(port), "--rate-limits", "2025"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert any(f"SLACK_API_URL=http://127.0.0.1:{port}/api/" in line for line in lines), lines
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_serve_listens_on_host_option_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_parser().parse_args(["serve", "--host", "127.0.0.1"]).host == "127.0.0.1"
    from bot.config import load_settings

    assert load_settings().host == "0.0.0.0"
    monkeypatch.setenv("HOST", "::1")
    assert load_settings().host == "::1"


def test_serve_on_a_taken_port_exits_2_in_one_line_before_serving(tmp_path: Path) -> None:
    import socket

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env.update(
            SLACK_BOT_TOKEN="xoxb-cli-test-0123456789",
            SLACK_SIGNING_SECRET="cli-test-secret",
            SLACK_API_URL="http://127.0.0.1:9/api/",  # never reached: the port is checked first
            DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"incident-bot: cannot start: cannot listen on 127.0.0.1:{port}: already in use"
    ]
    assert "serving" not in proc.stdout + proc.stderr
