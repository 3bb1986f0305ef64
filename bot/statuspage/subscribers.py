"""What subscribers get of a public update: the `statuspage.update` webhook event and the short
message for a component's Slack channel. Built from public data only (the public incident and
update, the components' public names): never the internal title, people or channel."""

from __future__ import annotations

from typing import Any

from bot.slack.text import escape
from bot.statuspage.config import IMPACT_LABELS, OPERATIONAL, STATE_LABELS, StatuspageConfig
from storage.models import PublicIncident, PublicUpdate

EVENT = "statuspage.update"


def event_id(update: PublicUpdate) -> str:
    return f"{EVENT}:{update.id}"


def webhook_body(config: StatuspageConfig, story: PublicIncident, update: PublicUpdate) -> dict[str, Any]:
    """The event as sent: the page, the public incident, this update and every component's impact."""
    return {
        "event_id": event_id(update),
        "event": EVENT,
        "occurred_at": update.posted_at.isoformat(),
        "page": {"title": config.title},
        "incident": {
            "id": story.id,
            "title": story.title,
            "state": story.state,
            "started_at": story.started_at.isoformat(),
            "resolved_at": story.resolved_at.isoformat() if story.resolved_at else None,
        },
        "update": {
            "state": update.state,
            "message": update.message,
            "posted_at": update.posted_at.isoformat(),
        },
        "components": [
            {
                "id": c.id,
                "name": c.name,
                "group": c.group,
                "impact": update.impacts.get(c.id, OPERATIONAL),
            }
            for c in config.components
        ],
    }


def touched(config: StatuspageConfig, before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Component ids affected before or after this update (a recovery reaches who heard of the outage)."""
    return [
        c.id
        for c in config.components
        if before.get(c.id, OPERATIONAL) != OPERATIONAL or after.get(c.id, OPERATIONAL) != OPERATIONAL
    ]


def channel_messages(
    config: StatuspageConfig, story: PublicIncident, update: PublicUpdate, before: dict[str, str]
) -> dict[str, str]:
    """Slack channel → its short message, for the channels of the components this update touches."""
    by_channel: dict[str, list[str]] = {}
    for cid in touched(config, before, update.impacts):
        component = config.component(cid)
        if component is None or not component.slack_channel:
            continue
        impact = IMPACT_LABELS[update.impacts.get(cid, OPERATIONAL)].lower()
        by_channel.setdefault(component.slack_channel, []).append(f"{component.name} ({impact})")
    return {
        channel: (
            f":globe_with_meridians: *{escape(story.title)}* — {STATE_LABELS[update.state]}\n"
            f"> {escape(update.message)}\n"
            f"{escape(', '.join(parts))}"
        )
        for channel, parts in by_channel.items()
    }
