"""A bot with the web UI on (Sign in with Slack against the emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.harness import BotServer
from tests.support.web_support import web_bot


@pytest.fixture
def web(emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Any) -> Iterator[BotServer]:
    server = web_bot(emulator, database_url, channels, tmp_path)
    try:
        yield server
    finally:
        server.stop()
