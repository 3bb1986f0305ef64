"""The publish form's preview: the public page as it would be after this update, built by the same
code as /status (``page.build`` on the recorded public incidents with the draft applied) and told in
Block Kit text: the headline, this incident as the page lists it, and every component's state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.slack.text import escape
from bot.statuspage.blocks import DEFAULT_IMPACT, Draft
from bot.statuspage.config import OPERATIONAL, STATES, StatuspageConfig
from bot.statuspage.page import StatusPage, build
from storage.models import MaintenanceWindow, PublicIncident, PublicUpdate

DRAFT_ID = -1  # the draft's update (and its public incident, when it is the first update)
MAX_TEXT = 2900  # a section's text: Slack allows 3000


def with_draft(
    config: StatuspageConfig,
    incidents: Sequence[PublicIncident],
    updates: Sequence[PublicUpdate],
    incident_id: int,
    draft: Draft,
    now: datetime,
    maintenance: Sequence[MaintenanceWindow] = (),
) -> tuple[StatusPage, int]:
    """The page once ``draft`` is published on incident ``incident_id`` (whose public incident, if
    any, is among ``incidents``), and the public incident's id on it."""
    state = draft.state if draft.state in STATES else STATES[0]
    affected = set(draft.chosen) if state != "resolved" else set()
    impacts = {  # a component just chosen: the impact its new choice shows first
        c.id: draft.impacts.get(c.id, DEFAULT_IMPACT) if c.id in affected else OPERATIONAL
        for c in config.components
    }
    mine = next((i for i in incidents if i.incident_id == incident_id), None)
    story = PublicIncident(
        id=mine.id if mine else DRAFT_ID,
        incident_id=incident_id,
        title=draft.title or "(no title yet)",
        state=state,
        impacts=impacts,
        started_at=mine.started_at if mine else now,
        updated_at=now,
        resolved_at=now if state == "resolved" else None,
    )
    update = PublicUpdate(
        id=DRAFT_ID,
        public_incident_id=story.id or DRAFT_ID,
        state=state,
        message=draft.message or "(no message yet)",
        impacts=impacts,
        author_id="",
        dedupe_key="preview",
        posted_at=now,
    )
    others = [i for i in incidents if i.incident_id != incident_id]
    return build(config, [story, *others], [*updates, update], now, maintenance), story.id or DRAFT_ID


def preview_text(page: StatusPage, story_id: int) -> str:
    """What the public page shows for this incident, and the components, as Block Kit text."""
    story = next((s for s in (*page.open, *page.past) if s.id == story_id), None)
    lines = ["*Preview of the public page*", f"*{escape(page.headline)}*"]
    if story is not None:
        where = "open incidents" if story.resolved_at is None else "past incidents"
        lines.append(f"In {where}: *{escape(story.title)}* — {story.label}")
        if story.impacts:
            affected = ", ".join(f"{name} ({label.lower()})" for name, label in story.impacts.items())
            lines.append(f"Affected: {escape(affected)}")
        latest = story.updates[0] if story.updates else None
        if latest is not None:
            lines.append(f"> {escape(latest.message)}".replace("\n", "\n> "))
    lines.append(" · ".join(f"{escape(c.name)}: {c.label}" for c in page.components))
    text = "\n".join(lines)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def private_text() -> str:
    return "*Preview of the public page*\nThis incident is private: the public page does not change."
