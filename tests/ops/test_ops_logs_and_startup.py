"""LOG_FORMAT=json covers every line on stderr; INCIDENT_ANNOUNCE_CHANNEL is checked at start-up."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.serve import StartupError, prepare
from tests.support.harness import BOT_TOKEN, ROOT, SIGNING_SECRET, ServeProcess, free_port, wait_for

MILLISECOND_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed as JSON (a plain-text line fails the test, quoted)."""
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not JSON: {line!r}")
    for r in records:
        assert MILLISECOND_UTC.match(r["time"]), r
    return records


def run_serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "LOG_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env={**base, "PORT": str(free_port()), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_setting_is_refused_in_one_json_line() -> None:
    out = run_serve({"LOG_FORMAT": "json", "SLACK_BOT_TOKEN": BOT_TOKEN, "PORT": "abc"})
    assert out.returncode == 2
    [record] = json_lines(out.stderr)
    assert record["level"] == "ERROR"
    assert record["message"].startswith("incident-bot: configuration: PORT:"), record


def test_an_unknown_announce_channel_is_refused_at_start_up_in_one_json_line(
    emulator: Any, tmp_path: Path
) -> None:
    out = run_serve(
        {
            "LOG_FORMAT": "json",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "INCIDENT_ANNOUNCE_CHANNEL": "C0NOSUCHONE",
        }
    )
    assert out.returncode == 2, out.stderr
    records = json_lines(out.stderr)
    assert [r["message"] for r in records if r["level"] == "ERROR"] == [
        "incident-bot: cannot start: INCIDENT_ANNOUNCE_CHANNEL C0NOSUCHONE: no such channel visible to the bot "
        "(use the channel ID, C0…; for a private channel, /invite the bot there first)"
    ]


@pytest.mark.slow
def test_uvicorns_own_lines_are_json_too(emulator: Any, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    serve = ServeProcess(emulator, f"sqlite:///{tmp_path / 'bot.db'}", log, LOG_FORMAT="json").healthy()
    try:
        with socket.create_connection(("127.0.0.1", serve.port), timeout=5) as s:
            s.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
            s.recv(1024)
        wait_for(lambda: "Invalid HTTP request" in log.read_text(), what="uvicorn's warning")
    finally:
        assert serve.terminate() == 0
    records = json_lines(log.read_text())
    invalid = [r for r in records if "Invalid HTTP request" in r["message"]]
    assert invalid and invalid[0]["logger"] == "uvicorn.error" and invalid[0]["level"] == "WARNING"
    assert any(" serving on " in r["message"] for r in records)


def test_announce_channel_must_exist_and_be_postable(
    emulator: Any, settings: Settings, people: dict[str, str]
) -> None:
    private = emulator.add_channel("secret-war-room", is_private=True, members=list(people.values()))
    for channel in ("C0NOSUCHONE", private):
        with pytest.raises(StartupError, match=f"INCIDENT_ANNOUNCE_CHANNEL {channel}: no such channel"):
            prepare(settings.model_copy(update={"announce_channel": channel}))
    # A public channel the bot is not in is fine: it posts there with chat:write.public.
    runtime = prepare(settings)
    runtime.services.engine.dispose()


def test_the_start_ups_auth_test_gives_permalinks_their_workspace_url(
    emulator: Any, settings: Settings
) -> None:
    """One ``auth.test`` at start-up: its ``url`` composes permalinks, none is asked again."""
    emulator.reset_calls()
    runtime = prepare(settings)
    try:
        documented = runtime.services.client.auth_test()["url"]
        link = runtime.services.links("C0123ABCD", "1700000000.000100")
        assert link == f"{documented.rstrip('/')}/archives/C0123ABCD/p1700000000000100"
        assert len(emulator.calls_to("auth.test")) == 2, "the start-up's and this test's own"
    finally:
        runtime.services.engine.dispose()
