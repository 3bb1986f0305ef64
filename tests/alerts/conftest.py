"""Fixtures for the alert intake and triage tests: the bot with intake credentials, a triage
channel and routing rules; helpers to send notifications the way Alertmanager / Grafana do."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/ is on sys.path; without the repository first, this tree's `fakes` test folder would
# shadow the `fakes` package (see tests/fakes/conftest.py).
if getattr(sys.modules.get("fakes"), "__file__", None) is None:
    sys.modules.pop("fakes", None)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from alert_support import BEARER, HMAC_SECRET
from harness import BotServer

from bot.config import Settings, load_settings

CONFIG = """
[alerts]
triage_channel = "{triage}"
card_update_every = 0.5

[[alerts.routes]]
match = {{ severity = "critical" }}
severity = "sev1"
auto_declare = true

[[alerts.routes]]
match = {{ team = "db" }}
channel = "{db}"
severity = "sev2"
"""


@pytest.fixture
def triage(emulator: Any, people: dict[str, str]) -> dict[str, str]:
    members = list(people.values())
    return {
        "triage": emulator.add_channel("alerts-triage", members=members),
        "db": emulator.add_channel("db-alerts", members=members),
    }


def alert_settings(
    base: Settings, tmp_path: Path, triage: dict[str, str], config: str = CONFIG, **env: str
) -> Settings:
    path = tmp_path / "incident-bot.toml"
    path.write_text(config.format(**triage), encoding="utf-8")
    values: dict[str, object] = {
        "SLACK_BOT_TOKEN": base.slack_bot_token.get_secret_value() if base.slack_bot_token else "",
        "SLACK_SIGNING_SECRET": base.slack_signing_secret.get_secret_value()
        if base.slack_signing_secret
        else "",
        "SLACK_API_URL": base.slack_api_url,
        "DATABASE_URL": base.database_url,
        "INCIDENT_ANNOUNCE_CHANNEL": base.announce_channel or "",
        "INCIDENT_OUTPUT_DIR": str(base.output_dir),
        "INCIDENT_BOT_CONFIG": str(path),
        "ALERTS_BEARER_TOKEN": BEARER,
        "ALERTS_HMAC_SECRET": HMAC_SECRET,
    }
    values.update(env)
    return load_settings(**values)


@pytest.fixture
def alert_bot(
    settings: Settings, emulator: Any, triage: dict[str, str], tmp_path: Path
) -> Iterator[BotServer]:
    server = BotServer(alert_settings(settings, tmp_path, triage), transport="http").start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()
