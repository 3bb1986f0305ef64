"""The bot with a `[statuspage]` config (and the text a scripted incident is full of internally)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_config
from tests.support.harness import BotServer
from tests.support.paging_support import Receiver, receiving

STATUSPAGE = """
[statuspage]
title = "Acme status"

[[statuspage.components]]
id = "api"
name = "Public API"
group = "Platform"

[[statuspage.components]]
id = "payments"
name = "Card payments"
group = "Platform"

[[statuspage.components]]
id = "dashboard"
name = "Dashboard"
"""


@pytest.fixture
def statuspage_bot(settings: Settings, emulator: Any, tmp_path: Path) -> Iterator[Callable[..., BotServer]]:
    """Start the real bot (HTTP) with the status page's components and ``extra`` config."""
    started: list[BotServer] = []

    def start(extra: str = "", **env: Any) -> BotServer:
        path = tmp_path / f"config-{len(started)}.toml"
        path.write_text(STATUSPAGE + extra, encoding="utf-8")
        s = settings.model_copy(update={"config_file": path, "config": load_config(path), **env})
        started.append(BotServer(s, transport="http").start().attach(emulator))
        return started[-1]

    yield start
    for bot in started:
        bot.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint that verifies each delivery's signature and records it."""
    with receiving("/hooks/status") as rec:
        yield rec
