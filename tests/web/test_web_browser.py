"""The web UI in a real headless Chromium: sign in through the emulator, the three pages, refusals.

Screenshots of the pages go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.analytics.core import bucket_of
from tests.support.browser import ARTIFACTS, BROWSER_MARKS, launch
from tests.support.browser import sign_in as _sign_in
from tests.support.harness import BotServer
from tests.support.overview_seed import add_incident

pytestmark = BROWSER_MARKS


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def seeded(web: BotServer, emulator: Any, people: dict[str, str]) -> dict[str, Any]:
    repo, now = web.services.repo, web.services.clock()
    m = timedelta(minutes=1)
    stones = {"started": -20 * m, "detected": -10 * m, "identified": 5 * m, "fixed": 50 * m}
    declared = [now - timedelta(days=d) for d in (5, 35, 65, 66)]
    for n, at in enumerate(declared, start=1):
        add_incident(repo, n, title=f"Payments degraded #{n}", declared=at, milestones=stones, closed=n > 1)
    main = add_incident(repo, 5, title="Checkout <b>down</b>", declared=now - timedelta(hours=2), events=40)
    assert main.id is not None
    doc = repo.begin_document(main.id, draft=True, request_key="r1", requested_by=None)
    repo.update_document(
        doc.id or 0, state="published", markdown="# INC-5 investigation\n\n## Impact\n\n- Checkout failed\n"
    )
    secret = emulator.add_channel(
        "inc-private", is_private=True, members=[emulator.bot_user_id, people["bob"]]
    )
    add_incident(
        repo, 6, title="Private matter", channel_id=secret, private=True, declared=now - timedelta(hours=1)
    )
    months = sorted({bucket_of(at, "month").isoformat() for at in [*declared, main.created_at]})
    return {"months": months}


def test_sign_in_list_incident_document_and_chart(
    browser: Any, web: BotServer, people: dict[str, str], seeded: dict[str, Any]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = _sign_in(browser, web, people["alice"])
    rows = page.locator("#incidents tbody tr")
    assert rows.count() == 5  # the private one is not alice's to see
    assert "Private matter" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "web-list.png"), full_page=True)

    page.click("text=Checkout <b>down</b>")  # the title is text, not markup
    page.wait_for_url("**/ui/incidents/5")
    assert page.locator("h1#title").inner_text() == "INC-5 · Checkout <b>down</b>"
    assert page.locator("table.timeline tbody tr").count() == 40
    assert page.locator("table.timeline .kind").first.inner_text() == "timeline"
    assert page.locator("#document-body h1").inner_text() == "INC-5 investigation"
    page.screenshot(path=str(ARTIFACTS / "web-incident.png"), full_page=True)

    page.goto(web.base + "/ui/analytics?window=year&period=month")  # the chart: test_analytics_browser.py
    assert page.locator("table.analytics tr.total").count() == len(seeded["months"])
    csv = page.request.get(web.base + "/ui/analytics.csv?window=year&period=month")
    assert csv.ok and csv.text().startswith("bucket,severity,incidents,")
    assert csv.text().count(",all,") == len(seeded["months"])
    page.screenshot(path=str(ARTIFACTS / "web-analytics.png"), full_page=True)


def test_a_non_member_is_refused_a_private_incident(
    browser: Any, web: BotServer, people: dict[str, str], seeded: dict[str, Any]
) -> None:
    carol = _sign_in(browser, web, people["carol"])
    response = carol.goto(web.base + "/ui/incidents/6")
    assert response.status == 404
    assert "no incident #6 that you can see" in carol.content() and "Private matter" not in carol.content()
    bob = _sign_in(browser, web, people["bob"], start="/ui/incidents/6")
    assert bob.locator("h1#title").inner_text() == "INC-6 · Private matter"


def test_signed_out_everything_leads_to_sign_in(browser: Any, web: BotServer, seeded: dict[str, Any]) -> None:
    page = browser.new_page()
    for path in ("/ui/", "/ui/incidents/5", "/ui/analytics", "/ui/analytics.csv"):
        page.goto(web.base + path)
        assert "/ui/signin" in page.url, path
        assert page.locator("#sign-in").is_visible()
