"""A bot with the web UI on (Sign in with Slack against the emulator)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from bot.config import load_settings
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, free_port
from tests.support.web_support import SESSION_SECRET


@pytest.fixture
def web(emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Any) -> Iterator[BotServer]:
    port = free_port()
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        INCIDENT_ANNOUNCE_CHANNEL=channels["incidents"],
        INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
        INCIDENT_WEB_URL=f"http://127.0.0.1:{port}",
        SLACK_CLIENT_ID=emulator.oauth_client_id,
        SLACK_CLIENT_SECRET=emulator.oauth_client_secret,
        INCIDENT_WEB_SESSION_SECRET=SESSION_SECRET,
    )
    server = BotServer(settings)
    server.port = port  # the redirect URL names this port
    server._server = uvicorn.Server(
        uvicorn.Config(server.asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    server._thread = threading.Thread(target=server._server.run, daemon=True)
    server.start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()
