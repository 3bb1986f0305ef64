"""What a reader sees in the web UI and in the HTML document, in a real headless Chromium: names,
not user ids; Slack formatting shown as formatting, never as raw markup. The incident is made the
way people make one: commands and messages through the Slack emulator.

Screenshots at 1280 and 400 px go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from sqlmodel import Session, select

from bot.present.pages import Pages
from storage.models import Document
from tests.support.browser import ARTIFACTS, BROWSER_MARKS, launch, sign_in
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import command, declare
from tests.support.slack_view import view_html
from tests.support.timeline_support import post, recorded

pytestmark = BROWSER_MARKS

USER_ID = re.compile(r"\b[UW]0[A-Z0-9]{5,}\b")
RAW_MARKUP = ("*rolling back*", ":rocket:", "`", "<@", "&lt;", "&amp;")


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launch()


def _published_html(web: BotServer) -> Path:
    def done() -> Path | None:
        with Session(web.services.engine) as s:
            docs = s.exec(select(Document).where(Document.state == "published")).all()
        return next((Path(d.path).with_suffix(".html") for d in docs if d.path), None)

    return wait_for(done, timeout=30, what="the document published")


def _shots(page: Any, name: str) -> None:
    """Screenshots at 1280 and 400 px; at 400 px (a phone) the page must not scroll sideways."""
    for width in (1280, 400):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 400, f"{name}: {wide} px wide on a 400 px screen"


def _reads_cleanly(text: str) -> None:
    assert USER_ID.findall(text) == []
    assert [m for m in RAW_MARKUP if m in text] == []


def test_list_incident_and_document_show_names_and_formatting(
    browser: Any, web: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    emu, alice, bob = emulator, people["alice"], people["bob"]
    inc = declare(web, emu, alice, channels["general"], "sev2 Checkout is down")
    ch = inc.channel_id
    command(web, emu, alice, ch, f"lead <@{bob}>")
    ts = post(
        emu,
        alice,
        ch,
        "*rolling back* v2.3.1 :rocket: with `deploy.sh` &lt;fast&gt;, <@" + bob + "> watches\n"
        "```kubectl rollout undo deploy/checkout```",
    )
    recorded(web, ch, ts)
    emu.add_reaction(alice, ch, ts, "pushpin")
    wait_for(
        lambda: any("rolling back" in e.text for e in web.services.repo.timeline(inc.id)),
        what="the message on the timeline",
    )
    command(web, emu, alice, ch, "update rolling back, see <https://status.example.com/x|the status page>")
    command(web, emu, alice, ch, "postmortem")
    document = _published_html(web)

    page = sign_in(browser, web, alice)
    assert "Bob Brown" in page.locator("#incidents tbody tr").first.inner_text()
    _reads_cleanly(page.locator("main").inner_text())
    _shots(page, "reader-list")

    page.goto(web.base + f"/ui/incidents/{inc.number}")
    assert "lead: Bob Brown" in page.locator("p.roles").inner_text()
    timeline = page.locator("table.timeline")
    text = timeline.inner_text()
    assert "@Bob Brown is now the lead" in text
    assert "Alice Adams" in timeline.locator("td.who").all_inner_texts()
    assert timeline.locator("td.text strong").first.inner_text() == "rolling back"
    assert "🚀" in text and "<fast>" in text and "@Bob Brown watches" in text
    assert timeline.locator("td.text pre code").first.inner_text() == "kubectl rollout undo deploy/checkout"
    link = timeline.locator("td.text a[href='https://status.example.com/x']")
    assert link.inner_text() == "the status page"  # an update's link stays a link
    assert page.locator("main").inner_text().count("is now the lead") == 1  # one timeline on the page
    assert page.locator("#document-body a[href='#timeline']").count() == 1
    _reads_cleanly(page.locator("main").inner_text())
    _shots(page, "reader-incident")

    page.goto(document.as_uri())
    assert page.locator("h1").first.inner_text().startswith("Bug Investigation: Checkout is down")
    border = page.locator("table th").first.evaluate("e => getComputedStyle(e).borderTopStyle")
    assert border == "solid"  # the shared stylesheet, inline: tables have borders
    status_link = page.locator("a[href='https://status.example.com/x']")
    assert status_link.first.inner_text() == "the status page"
    assert "(https://status.example.com" not in page.locator("body").inner_text()
    _reads_cleanly(page.locator("body").inner_text())
    _shots(page, "reader-document")


def test_search_app_home_and_error_pages_read_cleanly(
    browser: Any, web: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    """``redis`` finds the incident whose timeline mentions Redis (not its title), quoted with the
    word marked and names, not ids; a private incident only for its members; typed query syntax
    is words; unknown pages are styled; the App Home reads as names and formatting."""
    ARTIFACTS.mkdir(exist_ok=True)
    emu, alice, bob = emulator, people["alice"], people["bob"]
    inc = declare(web, emu, alice, channels["general"], "sev2 Checkout is down")
    ch = inc.channel_id
    command(web, emu, alice, ch, f"lead <@{bob}>")
    ts = post(emu, alice, ch, f"*Redis* port mismatch :rocket: <@{bob}> saw `6379` refused")
    recorded(web, ch, ts)
    emu.add_reaction(alice, ch, ts, "pushpin")
    wait_for(lambda: any("Redis" in e.text for e in web.services.repo.timeline(inc.id)), what="the pin")
    secret = web.services.incidents.declare(
        title="Redis credentials rotated", declarer=bob, severity="sev1", private=True
    ).incident
    wait_for(lambda: web.services.repo.incident(secret.id).card_ts, what="the private incident")

    page = sign_in(browser, web, alice)
    page.fill("input[name=q]", "redis")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/ui/?**q=redis**")
    rows = page.locator("#incidents tbody tr")
    assert rows.count() == 1  # the private one is not alice's to see
    assert "Checkout is down" in rows.first.inner_text()
    quote = rows.first.locator(".quote")
    assert quote.locator("mark").first.inner_text() == "Redis"
    assert "@Bob Brown" in quote.inner_text() and "🚀" in quote.inner_text()
    _reads_cleanly(page.locator("main").inner_text())
    _shots(page, "reader-search")

    for typed in ('"redis', "redis*", "NEAR(redis port)", "redis AND (port", "redis:* OR -"):
        response = page.goto(web.base + "/ui/?q=" + quote_plus(typed))
        assert response is not None and response.status == 200, typed
        assert "Checkout is down" in page.locator("main").inner_text(), typed
    response = page.goto(web.base + "/ui/?q=" + quote_plus('*** "" ()'))
    assert response is not None and response.status == 400
    assert "Search for words" in page.locator("main").inner_text()

    bob_page = sign_in(browser, web, bob, start="/ui/?q=redis")
    assert bob_page.locator("#incidents tbody tr").count() == 2
    assert "Redis credentials rotated" in bob_page.locator("#incidents tbody tr").first.inner_text()

    response = page.goto(web.base + "/ui/no/such/page")
    assert response is not None and response.status == 404
    assert page.locator("header.top .brand").is_visible()  # the shared layout, not a bare status
    assert page.locator("h1").inner_text() == "Not found"
    _shots(page, "reader-404")

    emu.open_app_home(alice)
    view = wait_for(lambda: emu.home_view(alice), what="alice's Home tab")
    home = browser.new_page()
    home.set_content(view_html(view, Pages(web.services.client)))
    text = home.locator("main").inner_text()
    assert "Checkout is down" in text and "@Bob Brown" in text and f"#{inc.channel_name}" in text
    assert "Redis credentials rotated" not in text
    _reads_cleanly(text)
    _shots(home, "reader-app-home")
