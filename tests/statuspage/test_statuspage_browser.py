"""The public status page in a real headless Chromium, at a desktop and a phone width, on a plain
`serve` (no web UI): what a reader sees after publishing from Slack. Screenshots go to
test-artifacts/ (gitignored)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.statuspage.blocks import ACTION_RESOLVE_PUBLIC
from storage.models import Incident, MaintenanceWindow
from tests.statuspage.test_statuspage_e2e import publish
from tests.support.browser import ARTIFACTS, BROWSER_MARKS, launch
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import click, command, declare, rows

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launch()


def test_a_reader_sees_the_open_incident_the_components_and_90_days_on_desktop_and_phone(
    statuspage_bot: Callable[..., BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    browser: Any,
) -> None:
    bot = statuspage_bot()
    assert bot.settings.web_url is None  # the web UI is off: /status is served anyway
    alice = people["alice"]
    real_clock = bot.services.clock
    now = real_clock()
    # Twenty days ago: a partial outage of the dashboard, published and resolved from Slack.
    bot.services.clock = lambda: now - timedelta(days=20)
    old = declare(bot, emulator, alice, channels["general"], "sev3 dash-worker-3 wedged")
    publish(
        bot, emulator, alice, old.channel_id,
        title="Dashboard loads slowly", state="investigating",
        message="Pages take long to load.", components=["dashboard"], impact="partial_outage",
    )  # fmt: skip
    command(bot, emulator, alice, old.channel_id, "resolve restarted the worker")
    prompt = wait_for(
        lambda: next((m for m in emulator.messages(old.channel_id) if ACTION_RESOLVE_PUBLIC in str(m)), None),
        what="the resolve prompt",
    )
    click(bot, emulator, alice, old.channel_id, prompt["ts"], ACTION_RESOLVE_PUBLIC)
    bot.services.clock = real_clock
    # Now: card payments are down.
    command(bot, emulator, alice, channels["general"], "declare sev1 pg-payments-2 split brain")
    inc = wait_for(lambda: next((i for i in rows(bot, Incident) if i.number == 2 and i.card_ts), None))
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Card payments are failing", state="identified",
        message="Most card payments fail. We found the cause and are failing over.",
        components=["payments"], impact="major_outage",
    )  # fmt: skip

    # And the API's maintenance, scheduled tomorrow (as `incident-bot statuspage maintenance add` stores it).
    bot.services.repo.add_maintenance(
        MaintenanceWindow(
            title="API gateway upgrade", message="Requests may be retried for a few minutes.",
            components=["api"], starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=1),
            created_at=now,
        )
    )  # fmt: skip

    day = (now - timedelta(days=20)).date().isoformat()
    for width in (1280, 400):
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        r = page.goto(f"{bot.base}/status")
        assert r is not None and r.headers["cache-control"] == "public, max-age=30"
        text = page.inner_text("body")
        assert "Acme status" in text and "Major outage" in text
        assert "Card payments are failing" in text and "We found the cause and are failing over." in text
        assert "Identified" in text and "Affected: Card payments (major outage)" in text
        for internal in ("pg-payments-2", "dash-worker-3", "INC-", alice):
            assert internal not in page.content()
        assert page.inner_text("#component-payments .impact") == "Major outage"
        assert page.inner_text("#component-api .impact") == "Operational"
        assert page.inner_text("#component-dashboard .impact") == "Operational"
        assert page.locator(".components h2.group").all_inner_texts() == ["Platform", "Other"]
        bars = page.locator("#component-dashboard .strip i")
        assert bars.count() == 90
        past = page.locator(f"#component-dashboard .strip i[title^='{day}']")
        assert past.get_attribute("title") == f"{day}: Partial outage"
        assert past.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(232, 113, 10)"
        assert bars.first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(52, 168, 83)"
        box = bars.last.bounding_box()
        assert box is not None and box["width"] >= 2 and box["x"] + box["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing off the side
        # The shared stylesheet whole: its quoted font names were once escaped into a dropped rule.
        assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Dashboard loads slowly" in page.inner_text(".past")
        window = page.inner_text(".maintenance-window")
        assert "API gateway upgrade" in window and "Scheduled" in window and "Affects: Public API" in window
        assert page.locator(".maintenance-window").evaluate("e => e.getBoundingClientRect().right") <= width
        page.screenshot(path=str(ARTIFACTS / f"status-{width}.png"), full_page=True)
