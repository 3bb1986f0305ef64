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

from alert_support import alert_settings
from harness import BotServer

from bot.config import Settings


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
