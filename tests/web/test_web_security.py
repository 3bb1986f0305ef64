"""The web UI's locks: sign-in, cookies, workspace, private incidents, CSRF, hostile text."""

from __future__ import annotations

import base64
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from itsdangerous import Signer, TimestampSigner

from bot.config import ConfigError, load_settings
from bot.incidents.access import Action
from storage.models import Incident, TimelineEvent
from tests.support.harness import BotServer, wait_for
from tests.support.overview_seed import add_incident
from tests.support.web_support import SESSION_SECRET, sign_in

PAGES = ("/ui/", "/ui/incidents/1", "/ui/analytics", "/ui/analytics.csv")
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def old_style_cookie(data: dict[str, Any], secret: str = SESSION_SECRET) -> str:
    """A session as earlier releases kept it: the whole session in a signed cookie."""
    return TimestampSigner(secret).sign(base64.b64encode(json.dumps(data).encode())).decode()


def test_signed_out_every_page_redirects_to_sign_in(web: BotServer) -> None:
    for path in PAGES:
        r = httpx.get(web.base + path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/ui/signin?next=%2Fui%2F"), path


def test_forged_and_garbled_cookies_are_the_signed_out_page(web: BotServer, people: dict[str, str]) -> None:
    good = str(sign_in(web, people["alice"]).cookies["incident_bot_session"])
    assert httpx.get(web.base + "/ui/", cookies={"incident_bot_session": good}).status_code == 200
    raw, _, signature = good.rpartition(".")
    session = {"uid": people["alice"], "team": "T0EMULATOR", "name": "x", "csrf": "c", "exp": 2**31}
    forged = [
        Signer("not-the-secret-" * 3, salt="incident-bot.web-session").sign(raw).decode(),  # another key
        f"{raw}.{'A' * len(signature)}",  # tampered signature
        raw,  # unsigned
        Signer(SESSION_SECRET, salt="incident-bot.web-session").sign("made-up-token").decode(),  # no session
        old_style_cookie(session),  # the whole session in the cookie, as before: not a session id
        "%%%",
        "x" * 5000,
    ]
    for value in forged:
        r = httpx.get(web.base + "/ui/", cookies={"incident_bot_session": value}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/signin"), value
        assert 'incident_bot_session="";' in r.headers["set-cookie"], "the dead cookie is removed"
        signin = httpx.get(web.base + r.headers["location"], cookies={"incident_bot_session": value})
        assert signin.status_code == 200 and 'id="sign-in"' in signin.text and "Sign out" not in signin.text
        out = httpx.post(
            web.base + "/ui/auth/logout", data={"csrf": "c"}, cookies={"incident_bot_session": value}
        )
        assert out.status_code == 403, value
    head = b"GET /ui/ HTTP/1.1\r\nHost: x\r\nCookie: incident_bot_session=\xc3\xa9\xff\r\n\r\n"
    with socket.create_connection(("127.0.0.1", web.port)) as sock:  # bytes no client library sends
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 303 ")


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


def _guest_world(web: BotServer, emulator: Any, people: dict[str, str]) -> httpx.Client:
    """Carol, a single-channel guest in the channels of incidents 2 (private) and 3, signed in."""
    mine = emulator.add_channel("inc-guest", is_private=True, members=[emulator.bot_user_id, people["carol"]])
    theirs = emulator.add_channel("inc-theirs", members=[emulator.bot_user_id, people["bob"]])
    ours = emulator.add_channel("inc-ours", members=[emulator.bot_user_id, people["bob"], people["carol"]])
    repo = web.services.repo
    add_incident(repo, 1, title="Billing outage", channel_id=theirs)
    add_incident(repo, 2, title="Guest private breach", private=True, channel_id=mine)
    add_incident(repo, 3, title="Guest public latency", channel_id=ours)
    emulator.change_user(people["carol"], guest="single")
    profiles = web.services.access.people
    wait_for(lambda: profiles.actor(people["carol"]).guest, what="user_change seen")
    return sign_in(web, people["carol"])


def test_a_guest_reads_only_the_incidents_whose_channel_they_are_in(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    carol = _guest_world(web, emulator, people)
    assert carol.last_response.status_code == 303  # type: ignore[attr-defined]
    listing = carol.get("/ui/").text
    assert "Guest private breach" in listing and "Guest public latency" in listing
    assert "Billing outage" not in listing
    for number, title in ((2, "Guest private breach"), (3, "Guest public latency")):
        page = carol.get(f"/ui/incidents/{number}")
        assert page.status_code == 200 and title in page.text
    refused = carol.get("/ui/incidents/1")
    assert refused.status_code == 404 and "Billing outage" not in refused.text
    found = carol.get("/ui/?q=outage+breach+latency").text
    assert "Billing outage" not in found


def test_a_guest_gets_no_analytics_they_add_up_every_incident(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    carol = _guest_world(web, emulator, people)
    page = carol.get("/ui/analytics")
    assert page.status_code == 403 and "Guests of this workspace" in page.text and "<svg" not in page.text
    csv = carol.get("/ui/analytics.csv")
    assert csv.status_code == 403 and "Guests of this workspace" in csv.text
    assert "attachment" not in csv.headers.get("content-disposition", "")
    bob = sign_in(web, people["bob"])
    assert bob.get("/ui/analytics").status_code == 200 and bob.get("/ui/analytics.csv").status_code == 200


def test_a_deactivated_account_reads_nothing_at_once(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    """Slack's ``user_change`` reaches the web pages' policy: no waiting for the hourly recheck."""
    add_incident(web.services.repo, 1, title="Public outage")
    carol = sign_in(web, people["carol"])
    assert "Public outage" in carol.get("/ui/").text
    emulator.change_user(people["carol"], deactivated=True)
    profiles = web.services.access.people
    wait_for(lambda: profiles.actor(people["carol"]).deactivated, what="user_change seen")
    listing = carol.get("/ui/")
    assert listing.status_code == 200 and "Public outage" not in listing.text
    assert carol.get("/ui/incidents/1").status_code == 404
    refused = carol.get("/ui/analytics")
    assert refused.status_code == 403 and "Only people in this workspace" in refused.text


def test_the_web_pages_ask_the_bots_one_policy_with_the_routes_declared_action(
    web: BotServer, emulator: Any, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web UI decides nothing itself: refused by the policy, an incident is gone from the
    list, search and its page; every question asked is the route's declared action."""
    repo = web.services.repo
    add_incident(repo, 1, title="Visible outage")
    add_incident(repo, 2, title="Vetoed outage")
    bob = sign_in(web, people["bob"])
    assert "Vetoed outage" in bob.get("/ui/").text
    access = web.services.access
    real = access.check
    asked: list[tuple[str, Action, int | None]] = []

    def check(user_id: str, action: Action, incident: Incident | None, listing: bool = False) -> str | None:
        asked.append((user_id, action, incident.number if incident else None))
        if incident is not None and incident.number == 2:
            return "Vetoed by the policy; nothing changed."
        if incident is None:
            return "No listings today; nothing changed."
        return real(user_id, action, incident, listing)

    monkeypatch.setattr(access, "check", check)
    listing = bob.get("/ui/").text
    assert "Visible outage" in listing and "Vetoed outage" not in listing
    assert "Vetoed outage" not in bob.get("/ui/?q=outage").text
    assert bob.get("/ui/incidents/2").status_code == 404
    assert bob.get("/ui/incidents/1").status_code == 200
    refused = bob.get("/ui/analytics")
    assert refused.status_code == 403 and "No listings today." in refused.text
    assert bob.get("/ui/analytics.csv").status_code == 403
    assert {(uid, action) for uid, action, _ in asked} == {(people["bob"], Action.READ)}
    assert {number for _, _, number in asked} == {1, 2, None}


def test_a_plain_get_of_the_sign_in_start_keeps_the_session_until_a_callback_succeeds(
    web: BotServer, people: dict[str, str]
) -> None:
    client = sign_in(web, people["alice"])
    started = client.get("/ui/auth/login")  # what an <img src> on any site can make a browser do
    assert started.status_code == 303
    assert client.get("/ui/").status_code == 200, "still signed in"
    assert client.get("/ui/auth/callback?code=x&state=forged").status_code == 400
    assert client.get("/ui/").status_code == 200, "a failed callback signs nobody out"


def test_a_session_made_before_its_person_was_deactivated_ends_at_the_hourly_recheck(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    alice, carol = sign_in(web, people["alice"]), sign_in(web, people["carol"])
    with emulator.ws.lock:  # Slack's side, with no event: carol's account was deactivated
        emulator.ws.users[people["carol"]]["deleted"] = True
    web.services.clock = lambda: datetime.now(UTC) + timedelta(minutes=61)
    r = carol.get("/ui/")
    assert r.status_code == 403 and "Only active people" in r.text
    assert carol.get("/ui/").status_code == 303, "her session is over"
    assert alice.get("/ui/").status_code == 200


def test_a_person_made_a_guest_after_signing_in_keeps_only_their_channels(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    carol = sign_in(web, people["carol"])
    assert carol.get("/ui/analytics").status_code == 200
    emulator.change_user(people["carol"], guest="multi")
    profiles = web.services.access.people
    wait_for(lambda: profiles.actor(people["carol"]).guest, what="user_change seen")
    assert carol.get("/ui/analytics").status_code == 403
    web.services.clock = lambda: datetime.now(UTC) + timedelta(minutes=61)
    assert carol.get("/ui/").status_code == 200, "a guest keeps her session"
    assert carol.get("/ui/analytics.csv").status_code == 403
