"""Signing in to the web UI through the emulator, as a browser would (shared by tests/web)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from bot.config import load_settings
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, free_port

SESSION_SECRET = "web-session-secret-for-tests-0123456789abcdef"
# The public status page's components: every route the bot can serve is up in the web tests.
STATUSPAGE_CONFIG = """
[statuspage]
title = "Example status"

[[statuspage.components]]
id = "api"
name = "Public API"
"""


def sign_in(
    web: BotServer, user: str, next_path: str = "/ui/", user_agent: str | None = None
) -> httpx.Client:
    """Walk the whole Sign in with Slack flow as a browser would; returns the signed-in client."""
    headers = {"user-agent": user_agent} if user_agent else None
    client = httpx.Client(base_url=web.base, follow_redirects=False, timeout=10, headers=headers)
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
    return finish(client, r.headers["location"])


def finish(client: httpx.Client, callback_url: str) -> httpx.Client:
    r = client.get(callback_url)
    client.last_response = r  # type: ignore[attr-defined]
    return client


def web_bot(
    emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path, **env: str
) -> BotServer:
    """The real bot (HTTP) with the web UI on, signed in through the emulator; ``env``: more settings."""
    port = free_port()
    if "INCIDENT_BOT_CONFIG" not in env:
        config = tmp_path / "web-config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(STATUSPAGE_CONFIG, encoding="utf-8")
        env = {**env, "INCIDENT_BOT_CONFIG": str(config)}
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
        **env,
    )
    server = BotServer(settings, port=port)  # the redirect URL names this port
    return server.start().attach(emulator)
