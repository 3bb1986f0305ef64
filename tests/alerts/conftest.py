"""Fixtures for the alert intake and triage tests: the bot with intake credentials, a triage
channel and routing rules; helpers to send notifications the way Alertmanager / Grafana do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.support.alert_support import alert_settings
from tests.support.harness import BotServer


@pytest.fixture
def triage(emulator: Any, people: dict[str, str]) -> dict[str, str]:
    members = list(people.values())
    return {
        "triage": emulator.add_channel("alerts-triage", members=members),
        "db": emulator.add_channel("db-alerts", members=members),
    }


@pytest.fixture
def alert_bot(
    settings: Settings, emulator: Any, triage: dict[str, str], tmp_path: Path
) -> Iterator[BotServer]:
    server = BotServer(alert_settings(settings, tmp_path, triage), transport="http").start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()
