"""Signing in to the web UI through the emulator, as a browser would (shared by tests/web)."""

from __future__ import annotations

import re

import httpx

from tests.support.harness import BotServer

SESSION_SECRET = "web-session-secret-for-tests-0123456789abcdef"


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
    return finish(client, r.headers["location"])


def finish(client: httpx.Client, callback_url: str) -> httpx.Client:
    r = client.get(callback_url)
    client.last_response = r  # type: ignore[attr-defined]
    return client
