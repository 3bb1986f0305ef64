"""The web UI's locks: sign-in, cookies, workspace, private incidents, CSRF, hostile text."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner

from bot.config import ConfigError, load_settings
from storage.models import TimelineEvent
from tests.support.harness import BotServer
from tests.support.overview_seed import add_incident
from tests.support.web_support import SESSION_SECRET, sign_in

PAGES = ("/ui/", "/ui/incidents/1", "/ui/analytics", "/ui/analytics.csv")
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def cookie(data: dict[str, Any], secret: str = SESSION_SECRET, age: int = 0) -> str:
    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return Signer(secret).sign(base64.b64encode(json.dumps(data).encode())).decode()


def session_for(user: str, team: str = "T0EMULATOR", exp_in: int = 3600) -> dict[str, Any]:
    return {"uid": user, "team": team, "name": "x", "csrf": "c", "exp": int(time.time()) + exp_in}


def test_signed_out_every_page_redirects_to_sign_in(web: BotServer) -> None:
    for path in PAGES:
        r = httpx.get(web.base + path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/ui/signin?next=%2Fui%2F"), path


def test_forged_and_expired_cookies_are_refused(web: BotServer, people: dict[str, str]) -> None:
    alice = people["alice"]
    good = cookie(session_for(alice))
    assert httpx.get(web.base + "/ui/", cookies={"incident_bot_session": good}).status_code == 200
    forged = [
        cookie(session_for(alice), secret="not-the-secret-" * 3),  # signed with another key
        good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),  # tampered signature
        base64.b64encode(json.dumps(session_for(alice)).encode()).decode(),  # unsigned
        cookie(session_for(alice), age=9 * 3600),  # the cookie's own timestamp is too old
        cookie(session_for(alice, exp_in=-1)),  # the session inside has expired
    ]
    for value in forged:
        r = httpx.get(web.base + "/ui/", cookies={"incident_bot_session": value}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/signin"), value


def test_sign_in_through_slack_then_the_cookie_is_httponly_and_samesite(
    web: BotServer, people: dict[str, str]
) -> None:
    client = sign_in(web, people["alice"])
    r = client.last_response  # type: ignore[attr-defined]
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/ui" in set_cookie
    page = client.get("/ui/")
    assert page.status_code == 200 and "Alice Adams" in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_another_workspaces_user_is_refused(web: BotServer, emulator: Any) -> None:
    mallory = emulator.add_user_from_other_team("mallory")
    client = sign_in(web, mallory)
    r = client.last_response  # type: ignore[attr-defined]
    assert r.status_code == 403 and "another Slack workspace" in r.text
    assert client.get("/ui/").status_code == 303  # no session was made


def test_a_callback_not_started_here_is_refused(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    r = httpx.get(web.base + "/ui/auth/callback?code=x&state=forged", follow_redirects=False)
    assert r.status_code == 400 and "not started here" in r.text


def test_sign_in_never_redirects_off_site(web: BotServer, people: dict[str, str]) -> None:
    client = sign_in(web, people["alice"], next_path="/ui/analytics")
    assert client.last_response.headers["location"] == "/ui/analytics"  # type: ignore[attr-defined]
    r = httpx.get(web.base + "/ui/signin?next=https://evil.example/")
    assert 'href="/ui/auth/login?next=/ui/"' in r.text and "evil" not in r.text
    client = httpx.Client(base_url=web.base, follow_redirects=False)
    authorize = client.get("/ui/auth/login?next=//evil.example/x").headers["location"]
    back = httpx.get(authorize + f"&emulator_user={people['alice']}").headers["location"]
    assert client.get(back).headers["location"] == "/ui/"


def test_sign_out_needs_the_csrf_token(web: BotServer, people: dict[str, str]) -> None:
    client = sign_in(web, people["alice"])
    assert client.post("/ui/auth/logout", data={"csrf": "guess"}).status_code == 403
    assert client.get("/ui/").status_code == 200  # still signed in
    token = client.get("/ui/").text.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/ui/auth/logout", data={"csrf": token}).status_code == 303
    assert client.get("/ui/").status_code == 303


def test_private_incidents_only_for_their_channel_members(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    secret_channel = emulator.add_channel(
        "inc-secret", is_private=True, members=[emulator.bot_user_id, people["bob"]]
    )
    add_incident(web.services.repo, 1, title="Public outage")
    add_incident(web.services.repo, 2, title="Secret breach", private=True, channel_id=secret_channel)
    bob, carol = sign_in(web, people["bob"]), sign_in(web, people["carol"])
    assert "Secret breach" in bob.get("/ui/").text
    assert bob.get("/ui/incidents/2").status_code == 200
    listing = carol.get("/ui/").text
    assert "Public outage" in listing and "Secret breach" not in listing
    refused = carol.get("/ui/incidents/2")
    assert refused.status_code == 404 and "Secret breach" not in refused.text
    assert "Secret breach" not in carol.get("/ui/?q=secret").text


def test_hostile_text_renders_inert_on_every_page(web: BotServer, people: dict[str, str]) -> None:
    repo = web.services.repo
    inc = add_incident(repo, 1, title=HOSTILE, events=0, milestones={}, actions=())
    assert inc.id is not None
    repo.add_timeline_event(
        TimelineEvent(
            incident_id=inc.id,
            at=inc.created_at,
            source="command",
            kind="timeline",
            text=HOSTILE,
            plain_text=HOSTILE,
            permalink="javascript:alert(3)",
            dedupe_key="h1",
        )
    )
    doc = repo.begin_document(inc.id, draft=False, request_key="d1", requested_by=None)
    repo.update_document(
        doc.id or 0,
        state="published",
        markdown=f"# Report\n\n{HOSTILE}\n\n[click](javascript:alert(4)) <a href='javascript:alert(5)'>x</a>\n",
    )
    client = sign_in(web, people["alice"])
    for path in ("/ui/", "/ui/incidents/1", "/ui/?q=script", "/ui/analytics"):
        body = client.get(path).text
        assert "<script>alert" not in body and "<img src=x" not in body, path
        assert 'href="javascript:' not in body and "<a href='javascript" not in body, path
    page = client.get("/ui/incidents/1").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, in the title and timeline
    assert page.count("&lt;script&gt;") >= 3  # title, timeline, document
    assert "<h1>Report</h1>" in page  # the document itself is rendered


def test_the_web_ui_is_off_unless_configured(bot: BotServer) -> None:
    assert httpx.get(bot.base + "/ui/").status_code == 404


def test_half_configured_web_ui_is_a_clear_start_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(INCIDENT_WEB_URL="https://incidents.example.com", SLACK_CLIENT_ID="1.2")
    assert "also needs SLACK_CLIENT_SECRET, INCIDENT_WEB_SESSION_SECRET" in str(err.value)
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings(
            INCIDENT_WEB_URL="https://i.example.com",
            SLACK_CLIENT_ID="1",
            SLACK_CLIENT_SECRET="s",
            INCIDENT_WEB_SESSION_SECRET="short",
        )
