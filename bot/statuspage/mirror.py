"""What a public update looks like on Atlassian Statuspage (plain values in and out).

Our states (investigating → resolved) and impacts (operational … major outage, under
maintenance) are Statuspage's own words, so they map one to one. Each mirrored incident carries a
marker in its ``metadata``: the installation, our public incident and the last update applied.
A retry after a crash reads it back (from the page's incidents, or the incident) to tell whether
the request it is about to repeat was already done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.statuspage.config import OPERATIONAL
from storage.models import PublicIncident, PublicUpdate

METADATA_KEY = "incident_bot"


def marker(installation: str, story: PublicIncident, update: PublicUpdate) -> dict[str, Any]:
    """The incident's ``metadata`` (Statuspage: every top-level value must be an object)."""
    return {
        METADATA_KEY: {
            "installation": installation or "incident-bot",
            "public_incident": story.id,
            "update": update.id,
        }
    }


def marked(incident: Mapping[str, Any], installation: str, story_id: int) -> bool:
    """Whether a Statuspage incident is the mirror of our public incident ``story_id``."""
    mark = (incident.get("metadata") or {}).get(METADATA_KEY) or {}
    return (
        mark.get("installation") == (installation or "incident-bot")
        and mark.get("public_incident") == story_id
    )


def applied_update(incident: Mapping[str, Any]) -> int:
    """The id of our last update applied to this Statuspage incident (0: none)."""
    mark = (incident.get("metadata") or {}).get(METADATA_KEY) or {}
    value = mark.get("update")
    return value if isinstance(value, int) else 0


def find_marked(
    incidents: Iterable[Mapping[str, Any]], installation: str, story_id: int
) -> Mapping[str, Any] | None:
    return next((i for i in incidents if marked(i, installation, story_id)), None)


def affected(updates: Sequence[PublicUpdate]) -> list[str]:
    """Our component ids that were not operational in any of ``updates`` (in first-seen order):
    the mirrored incident's components, so a recovery sets them back to operational."""
    seen: list[str] = []
    for u in updates:
        for cid, impact in u.impacts.items():
            if impact != OPERATIONAL and cid not in seen:
                seen.append(cid)
    return seen


def incident_fields(
    story: PublicIncident,
    update: PublicUpdate,
    history: Sequence[PublicUpdate],
    ids: Mapping[str, str],
    metadata: dict[str, Any],
    deliver_notifications: bool,
) -> dict[str, Any]:
    """The body's ``incident`` object for creating or updating the mirror with ``update``.
    ``history``: the public incident's updates up to and including ``update``; ``ids``: our
    component id → Statuspage's (components without one are left out)."""
    components = {ids[cid]: update.impacts.get(cid, OPERATIONAL) for cid in affected(history) if cid in ids}
    return {
        "name": story.title[:255],
        "status": update.state,
        "body": update.message[:25000],
        "components": components,
        "component_ids": list(components),
        "metadata": metadata,
        "deliver_notifications": deliver_notifications,
    }
