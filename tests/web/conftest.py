"""A bot with the web UI on (Sign in with Slack against the emulator), and a way to sign in."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from harness import BOT_TOKEN, SIGNING_SECRET, BotServer, free_port

from bot.config import load_settings

SESSION_SECRET = "web-session-secret-for-tests-0123456789abcdef"


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


def sign_in(web: BotServer, user: str, next_path: str = "/ui/") -> httpx.Client:
    """Walk the whole Sign in with Slack flow as a browser would; returns the signed-in client."""
    client = httpx.Client(base_url=web.base, follow_redirects=False, timeout=10)
    r = client.get(next_path)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/signin?next="), r.text
    r = client.get(r.headers["location"])
    link = re.search(r'id="sign-in" href="([^"]+)"', r.text)
    assert link, r.text
    r = client.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 303
    authorize = r.headers["location"]
    assert "/openid/connect/authorize?" in authorize and "scope=openid+profile+email" in authorize
    page = httpx.get(authorize, timeout=10)
    assert page.status_code == 200 and user in page.text  # the emulator lists its people
    r = httpx.get(authorize + f"&emulator_user={user}", timeout=10)
    assert r.status_code == 302
    client.cookies.update({})
    return finish(client, r.headers["location"])


def finish(client: httpx.Client, callback_url: str) -> httpx.Client:
    r = client.get(callback_url)
    client.last_response = r  # type: ignore[attr-defined]
    return client
