"""`incident-bot serve` refuses to start, fast and clearly, on bad configuration (real command)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    STARTUP_TIMEOUT_S,
    ServeProcess,
    free_port,
    wait_for,
)

pytestmark = pytest.mark.slow


def run_serve(env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``timeout`` only stops a hang: on a loaded machine the interpreter alone may take seconds to
    start, so how quickly a refusal comes is judged by what the process did, not by the clock."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
    base.pop("DATABASE_URL", None)
    # A free port of its own: the default (3000) may be held by anything else on the machine, and
    # serve checks its port before the failure each test is about.
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env={**base, "PORT": str(free_port()), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_no_token(tmp_path: Path) -> None:
    proc = run_serve({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert proc.returncode != 0
    assert not (tmp_path / "x.db").exists(), "refused before touching anything"
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
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
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


def test_a_misspelt_config_key_is_named_with_the_closest_known_one(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        '[reminders]\nlead_nuge_after = 60\n[[alerts.routes]]\nmatch = {team = "db"}\nseverty = "sev1"\n'
    )
    proc = run_serve({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INCIDENT_BOT_CONFIG": str(cfg)})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"incident-bot: configuration: {cfg}: reminders.lead_nuge_after: unknown key; did you mean "
        "`lead_nudge_after`?",
        f"incident-bot: configuration: {cfg}: alerts.routes.0.severty: unknown key; did you mean `severity`?",
    ]


def test_a_check_across_settings_is_one_line_without_an_empty_name(tmp_path: Path) -> None:
    proc = run_serve({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INCIDENT_WEB_URL": "https://x.test"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "incident-bot: configuration: INCIDENT_WEB_URL is set, so the web UI also needs SLACK_CLIENT_ID, "
        "SLACK_CLIENT_SECRET, INCIDENT_WEB_SESSION_SECRET"
    ]


def test_the_announce_channel_by_name_is_looked_up_at_start(
    emulator: Any, channels: dict[str, str], people: dict[str, str], tmp_path: Path
) -> None:
    refused = run_serve(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emulator.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "INCIDENT_ANNOUNCE_CHANNEL": "#no-such-channel",
        }
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "incident-bot: cannot start: INCIDENT_ANNOUNCE_CHANNEL #no-such-channel: no channel #no-such-channel "
        "that the bot can see (archived, misspelt, or private without the bot: /invite it there first)"
    )
    serve = ServeProcess(
        emulator,
        f"sqlite:///{tmp_path / 'y.db'}",
        tmp_path / "serve.log",
        INCIDENT_ANNOUNCE_CHANNEL="#incidents",
    )
    try:
        serve.healthy()
        emulator.request_urls = [serve.url]
        emulator.slash_command(people["alice"], channels["general"], "declare sev2 Checkout errors")
        wait_for(
            lambda: [
                m for m in emulator.messages(channels["incidents"]) if "Checkout errors" in m.get("text", "")
            ],
            timeout=20,
            what="the announcement in #incidents",
        )
    finally:
        serve.terminate()


def test_a_bad_incident_type_config_is_named_one_line_per_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        '[fields.data_exposed]\nlabel = "Data exposed?"\nkind = "single_select"\noptions = ["yes", "no"]\n'
        '[types.security]\nprivate = true\nfields = ["data_exposed", "blast_radius"]\n'
        'required = { close = ["severity_note"] }\n'
        '[types.oops]\nchanel_prefix = "x"\n'
    )
    proc = run_serve({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INCIDENT_BOT_CONFIG": str(cfg)})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"incident-bot: configuration: {cfg}: types.oops.chanel_prefix: unknown key; did you mean "
        "`channel_prefix`?",
    ]
    cfg.write_text(cfg.read_text().replace("chanel_prefix", "channel_prefix"))
    proc = run_serve({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INCIDENT_BOT_CONFIG": str(cfg)})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"incident-bot: configuration: {cfg}: types.security.fields: unknown field `blast_radius` "
        "(known: data_exposed)",
        f"incident-bot: configuration: {cfg}: types.security.required.close: `severity_note` is not one "
        "of this type's `fields`",
    ]
