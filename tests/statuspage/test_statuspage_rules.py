"""The status page's pure rules: the `[statuspage]` config fails fast with one line per problem,
the page's state and day strip from recorded updates, and the publish form's parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from bot.config import ConfigError, load_settings
from bot.statuspage.blocks import PublicForm, parse_form
from bot.statuspage.config import Component, StatuspageConfig
from bot.statuspage.page import as_atom, build
from storage.models import MaintenanceWindow, PublicIncident, PublicUpdate

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CONFIG = StatuspageConfig(
    components=[Component(id="api", name="API", group="Core"), Component(id="web", name="Website")]
)


def problems(tmp_path: Path, toml: str) -> str:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(INCIDENT_BOT_CONFIG=str(cfg))
    return "\n".join(err.value.problems)


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ('[[statuspage.components]]\nid = "API"\nname = "API"\n', "is not a component id"),
        (
            '[[statuspage.components]]\nid = "a"\nname = "A"\n[[statuspage.components]]\nid = "a"\nname = "B"\n',
            "component id 'a' is listed twice",
        ),
        ('[[statuspage.components]]\nid = "a"\nname = "A"\nowner = "x"\n', "owner"),
        ('[[statuspage.components]]\nid = "a"\n', "name"),
        ("[statuspage]\nhistory_days = 3\n", "history_days"),
        ('[permissions]\nstatuspage = ["captain"]\n', "permissions.statuspage names role captain"),
    ],
)
def test_a_bad_statuspage_config_stops_the_start_with_a_clear_line(
    tmp_path: Path, toml: str, said: str
) -> None:
    assert said in problems(tmp_path, toml)


def test_no_components_means_no_status_page(tmp_path: Path) -> None:
    assert not load_settings().config.statuspage.enabled


def update(pid: int, state: str, at: datetime, **impacts: str) -> PublicUpdate:
    return PublicUpdate(
        id=at.toordinal() * 10 + len(state), public_incident_id=pid, state=state, message=f"{state} text",
        impacts=impacts, author_id="U1", dedupe_key=f"{pid}{state}{at}", posted_at=at,
    )  # fmt: skip


def test_impacts_hold_from_each_update_to_the_next_and_end_at_resolution() -> None:
    start = NOW - timedelta(days=10, hours=2)
    past = PublicIncident(
        id=1, incident_id=1, title="Old", state="resolved", impacts={"api": "operational"},
        started_at=start, updated_at=start + timedelta(days=2), resolved_at=start + timedelta(days=2),
    )  # fmt: skip
    now_open = PublicIncident(
        id=2, incident_id=2, title="New", state="monitoring", impacts={"web": "degraded_performance"},
        started_at=NOW - timedelta(hours=1), updated_at=NOW, resolved_at=None,
    )  # fmt: skip
    updates = [
        update(1, "investigating", start, api="major_outage"),
        update(1, "monitoring", start + timedelta(days=1), api="degraded_performance"),
        update(1, "resolved", start + timedelta(days=2), api="operational"),
        update(2, "identified", NOW - timedelta(hours=1), web="degraded_performance"),
    ]
    page = build(CONFIG, [now_open, past], updates, NOW)
    api, web = page.components
    assert (api.impact, web.impact, page.impact) == (
        "operational",
        "degraded_performance",
        "degraded_performance",
    )
    by_day = {d.day: d.impact for d in api.days}
    first = start.date()
    assert by_day[first] == "major_outage"
    assert by_day[first + timedelta(days=1)] == "major_outage"  # the worst of the day
    assert by_day[first + timedelta(days=2)] == "degraded_performance"
    assert by_day[first + timedelta(days=3)] == "operational"
    assert len(api.days) == 90 and api.days[-1].day == NOW.date()
    assert [s.title for s in page.open] == ["New"] and [s.title for s in page.past] == ["Old"]
    assert page.open[0].impacts == {"Website": "Degraded performance"}
    assert [(g, [c.name for c in cs]) for g, cs in page.groups] == [("Core", ["API"]), ("Other", ["Website"])]
    assert build(StatuspageConfig(components=[Component(id="x", name="X")]), [], [], NOW).groups[0][0] is None
    assert b"<title>New: Identified</title>" in as_atom(page, "https://status.example.com")


def values(impacts: dict[str, str] | None = None, **given: object) -> dict[str, object]:
    """A form's state.values (any action id: the parser reads each block's one element)."""
    v: dict[str, object] = {}
    for key in ("title", "message"):
        v[key] = {"any": {"type": "plain_text_input", "value": given.get(key)}}
    v["state"] = {"any": {"selected_option": {"value": given["state"]} if "state" in given else None}}
    v["components"] = {"any": {"selected_options": [{"value": c} for c in given.get("components", [])]}}  # type: ignore[attr-defined]
    for cid, impact in (impacts or {}).items():
        v[f"impact:{cid}"] = {"any": {"selected_option": {"value": impact}}}
    return v


def test_the_form_gives_each_component_its_impact_and_clears_them_all_on_resolve() -> None:
    both = ["api", "web"]
    form = parse_form(
        values(
            title="T", message="M", state="identified", components=both,
            impacts={"api": "major_outage", "web": "degraded_performance"},
        ),
        CONFIG,
    )  # fmt: skip
    assert form == PublicForm("T", "identified", "M", {"api": "major_outage", "web": "degraded_performance"})
    one = parse_form(
        values(
            title="T", message="M", state="identified", components=["web"], impacts={"web": "partial_outage"}
        ),
        CONFIG,
    )
    assert one == PublicForm("T", "identified", "M", {"api": "operational", "web": "partial_outage"})
    stale = parse_form(  # an impact left from a component no longer chosen counts for nothing
        values(
            title="T", message="M", state="identified", components=["web"],
            impacts={"web": "partial_outage", "api": "major_outage"},
        ),
        CONFIG,
    )  # fmt: skip
    assert stale == one
    done = parse_form(
        values(
            title="T", message="M", state="resolved", components=["web"], impacts={"web": "partial_outage"}
        ),
        CONFIG,
    )
    assert isinstance(done, PublicForm) and set(done.impacts.values()) == {"operational"}
    odd = parse_form(values(title="A\x1b[31m\u202eB", message="x\x00y\nz", state="identified"), CONFIG)
    assert isinstance(odd, PublicForm) and (odd.title, odd.message) == ("A[31mB", "xy\nz")
    story = PublicIncident(
        id=3, incident_id=3, title=odd.title, state="identified", impacts={}, started_at=NOW, updated_at=NOW
    )
    u = update(3, "identified", NOW)
    u.message = odd.message
    feed = ET.fromstring(as_atom(build(CONFIG, [story], [u], NOW), "https://s"))  # well-formed
    assert feed.findtext("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content") == "xy\nz"
    errors = parse_form(values(title=" ", message="", state="bogus", components=["gone"]), CONFIG)
    assert set(errors) == {"title", "message", "state", "components"}  # type: ignore[arg-type]
    unrated = parse_form(
        values(title="T", message="M", state="identified", components=both, impacts={"web": "major_outage"}),
        CONFIG,
    )
    assert unrated == {"components": "Choose the impact on API (a choice per component below)."}
    operational = parse_form(  # "operational" is not an impact to publish
        values(
            title="T", message="M", state="identified", components=["api"], impacts={"api": "operational"}
        ),
        CONFIG,
    )
    assert set(operational) == {"components"}  # type: ignore[arg-type]


def test_maintenance_in_progress_is_under_maintenance_unless_an_outage_is_worse() -> None:
    def window(wid: int, cids: list[str], start: timedelta, end: timedelta) -> MaintenanceWindow:
        return MaintenanceWindow(
            id=wid,
            title=f"Window {wid}",
            components=cids,
            starts_at=NOW + start,
            ends_at=NOW + end,
            created_at=NOW,
        )

    outage = PublicIncident(
        id=1, incident_id=1, title="API errors", state="identified", impacts={"api": "major_outage"},
        started_at=NOW - timedelta(hours=1), updated_at=NOW - timedelta(hours=1),
    )  # fmt: skip
    update = PublicUpdate(
        id=1, public_incident_id=1, state="identified", message="x", impacts={"api": "major_outage"},
        author_id="U1", dedupe_key="k", posted_at=NOW - timedelta(hours=1),
    )  # fmt: skip
    windows = [
        window(1, ["api", "web"], -timedelta(hours=1), timedelta(hours=1)),  # in progress
        window(2, ["web"], timedelta(days=1), timedelta(days=1, hours=1)),  # upcoming
        window(3, ["web"], -timedelta(hours=3), -timedelta(hours=2)),  # over: not shown
    ]
    page = build(CONFIG, [outage], [update], NOW, windows)
    assert {c.id: c.impact for c in page.components} == {"api": "major_outage", "web": "under_maintenance"}
    assert [(m.title, m.in_progress, m.components) for m in page.maintenance] == [
        ("Window 1", True, ("API", "Website")),
        ("Window 2", False, ("Website",)),
    ]
    quiet = build(CONFIG, [], [], NOW, windows[1:])
    assert quiet.impact == "operational" and quiet.headline == "All systems operational"
