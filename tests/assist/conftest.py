"""The bot with ``[assist]`` pointed at the fake OpenAI-compatible server (both the fake and the
bot on loopback, real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from fakes import FakeServer, OpenAIFake
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET

API_KEY = "sk-assist-test-key-0123456789abcdef"
TIMEOUT = 2.0


@pytest.fixture
def model() -> Iterator[tuple[OpenAIFake, FakeServer]]:
    fake = OpenAIFake({API_KEY}, validate_responses=True)
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.violations == [], f"OpenAI spec violations: {fake.violations}"
    assert fake.response_problems == [], "the fake answered off-spec"


def assist_toml(url: str, **extra: Any) -> str:
    lines = [
        "[assist]",
        "enabled = true",
        f'base_url = "{url}/v1"',
        'chat_model = "fake-chat"',
        'embedding_model = "fake-embed"',
        f"timeout_seconds = {TIMEOUT}",
    ]
    lines += [f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def settings(
    emulator: Any,
    database_url: str,
    channels: dict[str, str],
    tmp_path: Path,
    model: tuple[OpenAIFake, FakeServer],
) -> Settings:
    path = tmp_path / "bot.toml"
    path.write_text(assist_toml(model[1].url))
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        INCIDENT_ANNOUNCE_CHANNEL=channels["incidents"],
        INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
        INCIDENT_BOT_CONFIG=str(path),
        ASSIST_API_KEY=API_KEY,
    )
