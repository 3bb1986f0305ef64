"""Web sessions live in the database: signing out (here or everywhere), Slack's recheck, the idle
and absolute limits and an operator's revoke end a session for every copy of its cookie, on every
replica."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import ConfigError, load_settings
from tests.support.commands import incident_bot
from tests.support.harness import BotServer
from tests.support.web_support import sign_in, web_bot

COOKIE = "incident_bot_session"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def signed_out(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/ui/signin")


def replay(web: BotServer, cookie: str, path: str = "/ui/") -> httpx.Response:
    """A request carrying a copy of a cookie, from wherever it was saved."""
    return httpx.get(web.base + path, cookies={COOKIE: cookie}, follow_redirects=False)


def sign_out_form(page: str) -> tuple[str, str, str]:
    """The header's sign-out form as a browser reads it: (action, everywhere's formaction, csrf)."""
    action = re.search(r'<form class="signout" method="post" action="([^"]+)"', page)
    everywhere = re.search(r'<button type="submit" formaction="([^"]+)">Sign out everywhere</button>', page)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert action and everywhere and csrf, page
    return action.group(1), everywhere.group(1), csrf.group(1)


def later(web: BotServer, **delta: float) -> None:
    """The bot's clock, this much after now (Slack's recheck and the session limits follow it)."""
    web.services.clock = lambda: datetime.now(UTC) + timedelta(**delta)


@pytest.fixture
def replica(
    emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path
) -> Iterator[BotServer]:
    """A second replica of the web UI on the same database."""
    server = web_bot(emulator, database_url, channels, tmp_path / "replica")
    try:
        yield server
    finally:
        server.stop()


def test_a_cookie_saved_before_sign_out_opens_nothing_after_it(
    web: BotServer, people: dict[str, str]
) -> None:
    client = sign_in(web, people["alice"])
    set_cookies = client.last_response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    (session_cookie,) = [c.lower() for c in set_cookies if c.startswith(f"{COOKIE}=")]
    for flag in ("httponly", "samesite=lax", "path=/ui", "max-age=28800"):
        assert flag in session_cookie, flag
    saved = str(client.cookies[COOKIE])
    assert len(saved) < 100 and people["alice"] not in saved, "an opaque token, not the session"
    page = client.get("/ui/")
    assert page.status_code == 200 and "Alice Adams" in page.text
    action, _, csrf = sign_out_form(page.text)
    out = client.post(action, data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/ui/signin"
    assert f'{COOKIE}="";' in out.headers["set-cookie"]

    replayed = replay(web, saved)
    assert signed_out(replayed)
    shown = httpx.get(web.base + replayed.headers["location"], cookies={COOKIE: saved})
    assert 'id="sign-in"' in shown.text and "Alice Adams" not in shown.text and "Sign out" not in shown.text
    assert signed_out(replay(web, saved, "/ui/analytics.csv"))
    again = httpx.post(web.base + "/ui/auth/logout", data={"csrf": csrf}, cookies={COOKIE: saved})
    assert again.status_code == 403, "a revoked cookie cannot even sign out"


def test_sign_out_everywhere_ends_the_persons_sessions_on_every_browser_and_replica(
    web: BotServer, replica: BotServer, people: dict[str, str]
) -> None:
    laptop, phone = sign_in(web, people["alice"]), sign_in(replica, people["alice"])
    bob = sign_in(web, people["bob"])
    laptop_cookie = str(laptop.cookies[COOKIE])
    assert replay(replica, laptop_cookie).status_code == 200, "replicas share the sessions"

    page = phone.get("/ui/").text
    _, everywhere, csrf = sign_out_form(page)
    assert everywhere == "/ui/auth/logout/everywhere"
    assert phone.post(everywhere, data={"csrf": "guess"}).status_code == 403
    assert laptop.get("/ui/").status_code == 200, "a stale form changes nothing"
    out = phone.post(everywhere, data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/ui/signin"

    assert signed_out(laptop.get("/ui/")), "the other browser, on the other replica, is out"
    assert signed_out(replay(replica, laptop_cookie))
    assert signed_out(phone.get("/ui/"))
    assert bob.get("/ui/").status_code == 200, "another person's session is untouched"
    assert sign_in(web, people["alice"]).get("/ui/").status_code == 200, "she may sign in again"


def test_a_person_deactivated_in_slack_loses_every_session_at_the_next_recheck(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    bob = people["bob"]
    laptop, phone = sign_in(web, bob), sign_in(web, bob)
    alice = sign_in(web, people["alice"])
    with emulator.ws.lock:
        emulator.ws.users[bob]["deleted"] = True
    later(web, minutes=61)
    refused = laptop.get("/ui/")
    assert refused.status_code == 403 and "Only active people" in refused.text
    with emulator.ws.lock:  # reactivated: the sessions stay ended, a new sign-in is needed
        emulator.ws.users[bob]["deleted"] = False
    assert signed_out(phone.get("/ui/")), "every session of his ended at the recheck"
    assert signed_out(laptop.get("/ui/"))
    assert alice.get("/ui/").status_code == 200


def test_a_session_ends_when_idle_and_at_its_absolute_limit(
    emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path, people: dict[str, str]
) -> None:
    web = web_bot(
        emulator,
        database_url,
        channels,
        tmp_path,
        INCIDENT_WEB_SESSION_IDLE_MINUTES="30",
        INCIDENT_WEB_SESSION_HOURS="2",
    )
    try:
        busy, idle = sign_in(web, people["alice"]), sign_in(web, people["bob"])
        for minutes in (25, 50, 75, 100, 115):  # used within every half hour, Slack asked hourly
            later(web, minutes=minutes)
            assert busy.get("/ui/").status_code == 200, minutes
        assert signed_out(idle.get("/ui/")), "unused for 115 minutes"
        later(web, minutes=121)
        assert signed_out(busy.get("/ui/")), "two hours after signing in, however busy"
        fresh = sign_in(web, people["bob"])
        later(web, minutes=121 + 29)
        assert fresh.get("/ui/").status_code == 200
        later(web, minutes=121 + 29 + 31)
        assert signed_out(fresh.get("/ui/"))
    finally:
        web.stop()


@pytest.mark.slow  # six CLI processes
def test_an_operator_lists_and_revokes_a_persons_sessions_from_the_command_line(
    web: BotServer, people: dict[str, str], database_url: str
) -> None:
    alice, bob = people["alice"], people["bob"]
    laptop, phone = sign_in(web, alice, user_agent=FIREFOX), sign_in(web, alice)
    other = sign_in(web, bob)

    listed = incident_bot("web", "sessions", "list", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["user", "name", "browser", "signed", "in", "last", "seen", "expires"]
    assert sorted(line.split()[0] for line in lines[1:]) == sorted([alice, alice, bob])
    assert any(alice in line and "Alice Adams" in line and "Firefox on Linux" in line for line in lines)

    revoked = incident_bot("web", "sessions", "revoke", "--user", alice, database_url=database_url)
    assert (revoked.returncode, revoked.stderr) == (0, "")
    assert revoked.stdout == f"revoked 2 web sessions of {alice}: every browser must sign in again\n"
    assert signed_out(laptop.get("/ui/")) and signed_out(phone.get("/ui/"))
    assert other.get("/ui/").status_code == 200

    again = incident_bot("web", "sessions", "revoke", "--user", alice, database_url=database_url)
    assert again.stdout == f"{alice} had no open web sessions\n"
    mine = incident_bot("web", "sessions", "list", "--user", alice, database_url=database_url)
    assert mine.stdout == f"no open web sessions of {alice}\n"
    typo = incident_bot("web", "sessions", "revoke", "--user", "@alice", database_url=database_url)
    assert typo.returncode == 2 and typo.stdout == ""
    assert typo.stderr == "incident-bot web sessions revoke: not a Slack user ID: '@alice' (U… or W…)\n"
    assert other.get("/ui/").status_code == 200


def test_session_limits_out_of_range_are_a_clear_start_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(INCIDENT_WEB_SESSION_HOURS="0", INCIDENT_WEB_SESSION_IDLE_MINUTES="1")
    assert err.value.problems == [
        "INCIDENT_WEB_SESSION_HOURS: Input should be greater than or equal to 1",
        "INCIDENT_WEB_SESSION_IDLE_MINUTES: Input should be greater than or equal to 5",
    ]


def test_the_session_commands_name_a_missing_database_and_create_none(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    for command in (["list"], ["revoke", "--user", "U0123ABCD"]):
        out = incident_bot("web", "sessions", *command, database_url=f"sqlite:///{db}")
        assert (out.returncode, out.stdout, out.stderr) == (
            2,
            "",
            f"incident-bot web sessions {command[0]}: no database at {db} (check DATABASE_URL)\n",
        )
    assert list(tmp_path.iterdir()) == []
