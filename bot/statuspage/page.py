"""What the public status page shows, as pure functions of the config, the recorded public
incidents and their updates, and now: components with their impact, open and recent incidents,
the last days per component, and the same as JSON and Atom.

Only public text reaches it: component names from the config, and the public title and
messages people wrote for the public in the publish form. Never an incident's internal title,
number, people or channel; the store hands over public incidents of public incidents only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from bot.statuspage.config import IMPACT_LABELS, IMPACTS, OPERATIONAL, STATE_LABELS, StatuspageConfig
from storage.models import MaintenanceWindow, PublicIncident, PublicUpdate

_RANK = {impact: i for i, impact in enumerate(IMPACTS)}
PAST_SHOWN = 25  # resolved incidents listed (the newest); the day strips count them all
HEADLINES = {
    "operational": "All systems operational",
    "under_maintenance": "Scheduled maintenance in progress",
    "degraded_performance": "Some systems are degraded",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}


def worst(impacts: Sequence[str]) -> str:
    return max(impacts, key=lambda i: _RANK.get(i, 0), default=OPERATIONAL)


@dataclass(frozen=True)
class Day:
    day: date
    impact: str

    @property
    def label(self) -> str:
        return f"{self.day.isoformat()}: {IMPACT_LABELS[self.impact]}"


@dataclass(frozen=True)
class ComponentState:
    id: str
    name: str
    group: str | None
    impact: str
    days: tuple[Day, ...]

    @property
    def label(self) -> str:
        return IMPACT_LABELS[self.impact]


@dataclass(frozen=True)
class Update:
    id: int
    state: str
    message: str
    at: datetime

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class PublicStory:
    id: int
    title: str
    state: str
    impacts: dict[str, str]  # component public name → impact label
    started_at: datetime
    resolved_at: datetime | None
    updates: tuple[Update, ...]  # newest first

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class Maintenance:
    id: int
    title: str
    message: str
    components: tuple[str, ...]  # public names
    starts_at: datetime
    ends_at: datetime
    in_progress: bool

    @property
    def label(self) -> str:
        return "In progress" if self.in_progress else "Scheduled"


@dataclass(frozen=True)
class StatusPage:
    title: str
    generated_at: datetime
    impact: str
    components: tuple[ComponentState, ...]
    open: tuple[PublicStory, ...]
    past: tuple[PublicStory, ...]
    maintenance: tuple[Maintenance, ...] = ()
    groups: list[tuple[str | None, list[ComponentState]]] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return HEADLINES[self.impact]


def _intervals(
    updates: Sequence[PublicUpdate], now: datetime
) -> list[tuple[datetime, datetime, dict[str, str]]]:
    """Each update's impacts hold until the next update (the last: until now, unless resolved)."""
    spans = []
    for i, u in enumerate(updates):
        end = updates[i + 1].posted_at if i + 1 < len(updates) else now
        if u.state != "resolved":
            spans.append((u.posted_at, end, dict(u.impacts)))
    return spans


def build(
    config: StatuspageConfig,
    incidents: Sequence[PublicIncident],
    updates: Sequence[PublicUpdate],
    now: datetime,
    maintenance: Sequence[MaintenanceWindow] = (),
) -> StatusPage:
    """The page at ``now``. ``incidents``: public incidents open or resolved within the history
    window (of public incidents only); ``updates``: theirs, oldest first; ``maintenance``: windows
    not over yet (in progress: their components are under maintenance, unless worse)."""
    by_incident: dict[int, list[PublicUpdate]] = {}
    for u in updates:
        by_incident.setdefault(u.public_incident_id, []).append(u)
    today = now.date()
    first = today - timedelta(days=config.history_days - 1)
    known = {c.id for c in config.components}
    worst_day: dict[tuple[str, date], str] = {}
    current: dict[str, list[str]] = {}
    for inc in incidents:
        if inc.resolved_at is None:
            for cid, impact in inc.impacts.items():
                current.setdefault(cid, []).append(impact)
        for start, end, impacts in _intervals(by_incident.get(inc.id or 0, []), now):
            day = max(start.date(), first)
            while day <= min(end.date(), today):
                for cid, impact in impacts.items():
                    if cid in known:
                        key = (cid, day)
                        worst_day[key] = worst([worst_day.get(key, OPERATIONAL), impact])
                day += timedelta(days=1)
    windows = [w for w in maintenance if w.ends_at > now]
    for w in windows:
        if w.starts_at <= now:
            for cid in w.components:
                current.setdefault(cid, []).append("under_maintenance")
    days = [first + timedelta(days=i) for i in range(config.history_days)]
    components = tuple(
        ComponentState(
            id=c.id,
            name=c.name,
            group=c.group,
            impact=worst(current.get(c.id, [])),
            days=tuple(Day(d, worst_day.get((c.id, d), OPERATIONAL)) for d in days),
        )
        for c in config.components
    )
    names = {c.id: c.name for c in config.components}
    order = {c.id: i for i, c in enumerate(config.components)}

    def story(inc: PublicIncident) -> PublicStory:
        mine = by_incident.get(inc.id or 0, [])
        return PublicStory(
            id=inc.id or 0,
            title=inc.title,
            state=inc.state,
            impacts={
                names[cid]: IMPACT_LABELS[i]
                for cid, i in sorted(inc.impacts.items(), key=lambda ci: order.get(ci[0], 0))
                if cid in names and i != OPERATIONAL
            },
            started_at=inc.started_at,
            resolved_at=inc.resolved_at,
            updates=tuple(Update(u.id or 0, u.state, u.message, u.posted_at) for u in reversed(mine)),
        )

    resolved = sorted(
        (i for i in incidents if i.resolved_at is not None), key=lambda i: i.resolved_at or now, reverse=True
    )
    # Consecutive components of one group share its heading; ungrouped ones among groups go
    # under "Other" (never, visually, under the group above them).
    other = "Other" if any(c.group for c in components) else None
    groups: list[tuple[str | None, list[ComponentState]]] = []
    for comp in components:
        heading = comp.group or other
        if groups and groups[-1][0] == heading:
            groups[-1][1].append(comp)
        else:
            groups.append((heading, [comp]))
    return StatusPage(
        title=config.title,
        generated_at=now,
        impact=worst([c.impact for c in components]),
        components=components,
        open=tuple(story(i) for i in incidents if i.resolved_at is None),
        past=tuple(story(i) for i in resolved[:PAST_SHOWN]),
        maintenance=tuple(
            Maintenance(
                id=w.id or 0,
                title=w.title,
                message=w.message,
                components=tuple(
                    names[cid] for cid in sorted(w.components, key=lambda c: order.get(c, 0)) if cid in names
                ),
                starts_at=w.starts_at,
                ends_at=w.ends_at,
                in_progress=w.starts_at <= now,
            )
            for w in windows
        ),
        groups=groups,
    )


def _story_json(s: PublicStory) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "state": s.state,
        "impacts": s.impacts,
        "started_at": s.started_at.isoformat(),
        "resolved_at": s.resolved_at.isoformat() if s.resolved_at else None,
        "updates": [
            {"id": u.id, "state": u.state, "message": u.message, "at": u.at.isoformat()} for u in s.updates
        ],
    }


def as_json(page: StatusPage) -> dict[str, Any]:
    """The same data as the HTML page (``/status.json``)."""
    return {
        "title": page.title,
        "generated_at": page.generated_at.isoformat(),
        "status": {"impact": page.impact, "description": page.headline},
        "components": [
            {
                "id": c.id,
                "name": c.name,
                "group": c.group,
                "impact": c.impact,
                "history": [{"date": d.day.isoformat(), "impact": d.impact} for d in c.days],
            }
            for c in page.components
        ],
        "incidents": [_story_json(s) for s in page.open],
        "past_incidents": [_story_json(s) for s in page.past],
        "maintenance": [
            {
                "id": m.id,
                "title": m.title,
                "message": m.message,
                "components": list(m.components),
                "starts_at": m.starts_at.isoformat(),
                "ends_at": m.ends_at.isoformat(),
                "in_progress": m.in_progress,
            }
            for m in page.maintenance
        ],
    }


ATOM = "http://www.w3.org/2005/Atom"


def as_atom(page: StatusPage, base_url: str) -> bytes:
    """An Atom feed (RFC 4287): one entry per public update, newest first."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    entries = sorted(
        ((s, u) for s in (*page.open, *page.past) for u in s.updates), key=lambda su: su[1].at, reverse=True
    )
    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", f"{base_url}/status")
    sub(feed, "title", page.title)
    sub(feed, "updated", (entries[0][1].at if entries else page.generated_at).isoformat())
    sub(feed, "link", href=f"{base_url}/status")
    sub(feed, "link", rel="self", href=f"{base_url}/status/feed.atom")
    author = sub(feed, "author")
    sub(author, "name", page.title)
    for story, update in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base_url}/status#update-{update.id}")
        sub(entry, "title", f"{story.title}: {update.label}")
        sub(entry, "updated", update.at.isoformat())
        sub(entry, "link", href=f"{base_url}/status#incident-{story.id}")
        sub(entry, "content", update.message, type="text")
    for m in page.maintenance:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base_url}/status#maintenance-{m.id}")
        sub(entry, "title", f"Scheduled maintenance: {m.title}")
        sub(entry, "updated", m.starts_at.isoformat())
        sub(entry, "link", href=f"{base_url}/status#maintenance-{m.id}")
        window = f"{m.starts_at.isoformat()} to {m.ends_at.isoformat()}"
        affects = f" Affects: {', '.join(m.components)}." if m.components else ""
        sub(entry, "content", f"{window}.{affects} {m.message}".strip(), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        feed, encoding="utf-8", xml_declaration=False
    )
