"""The analytics chart in a real headless Chromium, read as a reader reads it: one bar per period
of the window (empty ones too), stacked by severity, humane labels, a legend, durations on a
readable axis; the phone drawing at 400 px. Incidents are declared through the bot and their
milestones set as people set them.

Screenshots at 1280 and 400 px go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.analytics.core import buckets
from bot.present.formats import period
from tests.support.browser import ARTIFACTS, BROWSER_MARKS, launch, sign_in
from tests.support.harness import BotServer

pytestmark = BROWSER_MARKS
M = timedelta(minutes=1)


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launch()


def _declare(web: BotServer, who: str, severity: str, at: datetime, fixed_after: timedelta | None) -> None:
    services = web.services
    inc = services.incidents.declare(
        title=f"{severity} at {at:%b %d}", declarer=who, severity=severity
    ).incident
    assert inc.id is not None
    stones = {"declared": at, "started": at - 10 * M, "detected": at}
    if fixed_after is not None:
        stones["fixed"] = at + fixed_after
    for name, when in stones.items():
        services.repo.set_milestone(inc.id, name, when, who, "test", False)


@pytest.fixture
def months(web: BotServer, people: dict[str, str]) -> dict[str, Any]:
    now = web.services.clock()
    window = buckets(now - timedelta(days=365), now, "month")
    busy, quiet = window[-2], window[-5]

    def mid(b: date) -> datetime:
        return datetime(b.year, b.month, 15, 12, tzinfo=UTC)

    alice = people["alice"]
    _declare(web, alice, "sev3", mid(busy), 75 * M)
    _declare(web, alice, "sev1", mid(busy) + timedelta(hours=1), 45 * M)
    _declare(web, alice, "sev2", mid(busy) + timedelta(hours=2), None)
    _declare(web, alice, "sev2", mid(quiet), 120 * M)
    return {"window": window, "busy": busy, "quiet": quiet}


def test_the_chart_draws_every_month_stacked_by_severity_with_labels_and_durations(
    browser: Any, web: BotServer, people: dict[str, str], months: dict[str, Any]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    window, busy, quiet = months["window"], months["busy"], months["quiet"]
    page = sign_in(browser, web, people["alice"], start="/ui/analytics?window=year&period=month")
    wide = page.locator("#chart svg.chart-wide")
    assert wide.is_visible() and not page.locator("#chart svg.chart-narrow").is_visible()

    # What it is, for a screen reader too.
    assert page.locator("#chart figcaption").inner_text().startswith("Incidents per month, since ")
    assert wide.get_attribute("role") == "img"
    desc = wide.locator("desc").text_content() or ""
    assert "4 in total" in desc and f"the most in {period(busy, 'month')} (3)" in desc

    # One bar per month of the year, the empty ones as 0, each total written on it.
    bars = wide.locator("g.bucket")
    assert bars.evaluate_all("els => els.map(e => e.id)") == [f"count-{b.isoformat()}" for b in window]
    totals = [bars.nth(i).locator("text.total").text_content() for i in range(bars.count())]
    expected = ["3" if b == busy else "1" if b == quiet else "0" for b in window]
    assert totals == expected
    assert wide.locator(f"#count-{window[0].isoformat()} rect").count() == 0

    # Stacked by severity, the most severe at the bottom, one incident's height each.
    stack = wide.locator(f"#count-{busy.isoformat()} rect").evaluate_all(
        "els => els.map(e => { const b = e.getBBox(); return [e.getAttribute('class'), b.y, b.height]; })"
    )
    bottom_up = sorted(stack, key=lambda s: -s[1])
    assert [s[0] for s in bottom_up] == ["sev-sev1", "sev-sev2", "sev-sev3"]
    assert len({round(s[2], 1) for s in stack}) == 1
    assert wide.locator("#legend-severity text").all_text_contents() == [
        "SEV1 · Critical",
        "SEV2 · High",
        "SEV3 · Medium",
    ]

    # Month labels as people write them: the year once, where it starts or changes.
    labels = [bars.nth(i).locator("text.label tspan").all_text_contents() for i in range(bars.count())]
    assert labels[0] == [period(window[0], "month", year=False), str(window[0].year)]
    january = next((i for i, b in enumerate(window) if b.month == 1 and i), None)
    if january is not None:
        assert labels[january] == ["Jan", str(window[january].year)]
    assert all(len(lab[0]) == 3 for lab in labels if lab)

    # Durations: a marker per month with a time to fix, a duration axis a person can read.
    fix = wide.locator("#series-fix .point")
    assert fix.count() == 2
    titles = [t or "" for t in wide.locator("#series-fix .point title").all_text_contents()]
    assert titles[0].startswith(f"{period(quiet, 'month')}: time to fix, median 2 h")
    assert titles[1].startswith(f"{period(busy, 'month')}: time to fix, median 1 h (p90")
    ticks = wide.locator("#axis-duration > text:not(.label)").all_text_contents()
    assert ticks == ["0", "1 h", "2 h", "3 h"]  # the longest: 2 h 10 min of downtime
    assert page.locator("table.analytics tr.total td time").first.inner_text() == period(quiet, "month")
    page.screenshot(path=str(ARTIFACTS / "web-analytics-1280.png"), full_page=True)

    # A phone: the narrow drawing, the same bars, nothing wider than the screen.
    page.set_viewport_size({"width": 400, "height": 900})
    narrow = page.locator("#chart svg.chart-narrow")
    assert narrow.is_visible() and not wide.is_visible()
    assert narrow.locator("g.bucket").count() == len(window)
    assert narrow.bounding_box()["width"] <= 400
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.screenshot(path=str(ARTIFACTS / "web-analytics-400.png"), full_page=True)


def test_weeks_are_labelled_by_their_monday_and_empty_weeks_drawn(
    browser: Any, web: BotServer, people: dict[str, str], months: dict[str, Any]
) -> None:
    now = web.services.clock()
    weeks = buckets(now - timedelta(days=90), now, "week")
    page = sign_in(browser, web, people["alice"], start="/ui/analytics?window=90d&period=week")
    wide = page.locator("#chart svg.chart-wide")
    bars = wide.locator("g.bucket")
    assert bars.count() == len(weeks)
    first = bars.nth(0).locator("text.label tspan").all_text_contents()
    assert first == [period(weeks[0], "week", year=False), str(weeks[0].year)]
    assert first[0].split()[0].isdigit()  # "6 Oct": the day, then the month
    page.screenshot(path=str(ARTIFACTS / "web-analytics-week-1280.png"), full_page=True)
