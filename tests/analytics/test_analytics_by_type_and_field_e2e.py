"""Analytics by incident type and custom field, end to end: incidents declared and their fields
set through signed commands, then `/incident stats` filtered and broken down (Block Kit text), the
web page's filtered table and breakdowns (its HTML tables as a browser reads them) and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bot.analytics.core import human
from storage.models import Incident
from tests.analytics.test_stats_command_e2e import block_lines
from tests.incidents.test_types_fields_e2e import config_file
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, command, rows
from tests.support.web_support import sign_in, web_bot

MINUTE = 60.0


class Tables(HTMLParser):
    """Each <table>: its caption and its rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._in: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append(("", []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th", "caption"):
            self._in, self._text = tag, ""
        elif tag == "br":
            self._text += " "  # a line break reads as a space

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._in and self.tables and self.tables[-1][1]:
            self.tables[-1][1][-1].append(" ".join(self._text.split()))
            self._in = None
        elif tag == "caption" and self.tables:
            self.tables[-1] = (" ".join(self._text.split()), self.tables[-1][1])
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return {caption or f"table {n}": rows for n, (caption, rows) in enumerate(parser.tables)}


@pytest.fixture
def web(emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path) -> Any:
    server = web_bot(
        emulator, database_url, channels, tmp_path, INCIDENT_BOT_CONFIG=str(config_file(tmp_path))
    )
    yield server
    server.stop()


def three_incidents(web: BotServer, emu: Any, alice: str, general: str) -> None:
    """A security incident on payments (fixed in 30 min), a customer-facing one on payments and
    search (90 min) and a default one without fields (10 min)."""
    now = web.services.clock()
    plan = [
        ("--type security sev2 Leaked API keys", ["services payments"], 60, 30),
        ("--type customer-facing sev1 Checkout down", ["services payments,search"], 100, 10),
        ("sev3 Slow dashboards", [], 20, 10),
    ]
    for number, (text, sets, detected, fixed) in enumerate(plan, start=1):
        command(web, emu, alice, general, f"declare {text}")
        inc = wait_for(
            lambda n=number: next(  # type: ignore[misc]
                (i for i in rows(web, Incident) if i.number == n and i.card_ts), None
            ),
            what=f"INC-{number}",
        )
        for change in sets:
            command(web, emu, alice, inc.channel_id, f"set {change}")
        assert inc.id is not None
        web.services.repo.set_milestone(
            inc.id, "detected", now - timedelta(minutes=detected), None, "test", False
        )
        web.services.repo.set_milestone(inc.id, "fixed", now - timedelta(minutes=fixed), None, "test", False)


def stats(web: BotServer, emu: Any, alice: str, general: str, text: str, heading: str) -> list[str]:
    command(web, emu, alice, general, f"stats {text}")
    post = wait_for(
        lambda: [m for m in emu.messages(general) if heading in m.get("text", "")], what=f"stats {text}"
    )[-1]
    return block_lines(post)


def test_stats_filter_by_type_and_service_and_break_down_by_both(
    web: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice, general = emulator, people["alice"], channels["general"]
    three_incidents(web, emu, alice, general)

    lines = stats(web, emu, alice, general, "30d type=security", "Incidents (type security), last 30 days")
    assert lines[0].endswith(": 1 declared (SEV2 1)")
    assert f"• Time to fix: median {human(30 * MINUTE)}, p90 {human(30 * MINUTE)} (n=1)" in lines

    lines = stats(
        web, emu, alice, general, "services=payments", "Incidents (Services payments), last 30 days"
    )
    assert lines[0].endswith(": 2 declared (SEV1 1 · SEV2 1)")
    assert f"• Time to fix: median {human(60 * MINUTE)}, p90 {human(84 * MINUTE)} (n=2)" in lines

    # Unfiltered: every incident, and a line per type and per service with its median time to fix.
    lines = stats(web, emu, alice, general, "90d", "Incidents, last 90 days")
    assert lines[0].endswith(": 3 declared (SEV1 1 · SEV2 1 · SEV3 1)")
    by_type = lines[lines.index("*By type*") + 1 : lines.index("*By type*") + 4]
    assert by_type == [
        f"• customer-facing: 1 incident · time to fix {human(90 * MINUTE)} · downtime —",
        f"• default: 1 incident · time to fix {human(10 * MINUTE)} · downtime —",
        f"• security: 1 incident · time to fix {human(30 * MINUTE)} · downtime —",
    ]
    by_service = lines[lines.index("*By Services*") + 1 : lines.index("*By Services*") + 3]
    assert by_service == [
        f"• payments: 2 incidents · time to fix {human(60 * MINUTE)} · downtime —",
        f"• search: 1 incident · time to fix {human(90 * MINUTE)} · downtime —",
    ]


def test_stats_with_an_unknown_filter_says_what_exists(
    web: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice, general = emulator, people["alice"], channels["general"]
    for text, told in (
        ("type=secruity", "Unknown type `secruity`: the types are default, customer-facing, security."),
        ("colour=red", "Unknown filter `colour`: filter by type, "),
        ("data_exposed=maybe", "`data_exposed` is one of yes, no, unknown, not `maybe`."),
    ):
        command(web, emu, alice, general, f"stats {text}")
        wait_for(lambda t=told: [a for a in answers(emu, alice) if t in a], what=told)  # type: ignore[misc]
    assert not [m for m in emu.messages(general) if "Incidents" in m.get("text", "")]


def test_the_web_page_filters_by_type_and_service_and_breaks_down_and_the_csv_follows(
    web: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice, general = emulator, people["alice"], channels["general"]
    three_incidents(web, emu, alice, general)
    client = sign_in(web, alice, next_path="/ui/analytics")

    page = client.get("/ui/analytics", params={"window": "30d", "period": "month"})
    assert page.status_code == 200
    found = tables(page.text)
    assert [r[:2] for r in found["By type"][1:]] == [
        ["customer-facing", "1"],
        ["default", "1"],
        ["security", "1"],
    ]
    fix_column = found["By type"][0].index("Time to fix median / p90")
    assert [r[fix_column] for r in found["By type"][1:]] == [
        f"{human(90 * MINUTE)} / {human(90 * MINUTE)}",
        f"{human(10 * MINUTE)} / {human(10 * MINUTE)}",
        f"{human(30 * MINUTE)} / {human(30 * MINUTE)}",
    ]
    assert [r[:2] for r in found["By Services"][1:]] == [["payments", "2"], ["search", "1"]]

    page = client.get(
        "/ui/analytics", params={"window": "30d", "period": "month", "field.services": "payments"}
    )
    assert page.status_code == 200
    found = tables(page.text)
    [totals] = [
        r for r in next(rows for title, rows in found.items() if title.startswith("table")) if "ALL" in r
    ]
    assert totals[2] == "2"
    assert [r[:2] for r in found["By type (Services payments)"][1:]] == [
        ["customer-facing", "1"],
        ["security", "1"],
    ]
    assert 'value="payments" selected' in page.text  # the form keeps the choice

    sheet = client.get("/ui/analytics.csv", params={"window": "30d", "period": "month", "type": "security"})
    assert sheet.status_code == 200
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [(r["severity"], r["incidents"], r["fix_median_seconds"]) for r in rows] == [
        ("sev2", "1", str(round(30 * MINUTE))),
        ("all", "1", str(round(30 * MINUTE))),
    ]

    bad = client.get("/ui/analytics", params={"type": "secruity"})
    assert bad.status_code == 400 and "Unknown type" in bad.text
