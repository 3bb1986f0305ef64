"""The internal status page (``/ui/status``): the public page's data, built by the same code, plus
what a signed-in reader may know: each public incident's incident (number, internal title), the
public updates of private incidents they may see, and the open incidents not published at all.
No HTTP here (bot/web/app.py serves it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.statuspage.config import StatuspageConfig
from bot.statuspage.page import StatusPage, build
from bot.web.views import visible_page
from storage.models import Incident
from storage.repository import Repository
from storage.stores.analytics import IncidentFilter

UNPUBLISHED_SHOWN = 50


@dataclass(frozen=True)
class InternalStatus:
    page: StatusPage
    internal: dict[int, Incident]  # public incident id → its incident
    unpublished: list[Incident]  # open incidents with no public incident, newest first


def internal_status(
    repo: Repository, config: StatuspageConfig, now: datetime, may: Callable[[Incident], bool]
) -> InternalStatus:
    """Only incidents ``may`` admits (the policy: a private one for its channel's members)."""
    pairs = repo.public_incidents_with_incidents_since(now - timedelta(days=config.history_days))
    seen = [(p, i) for p, i in pairs if may(i)]
    stories = [p for p, _ in seen]
    updates = repo.public_updates([p.id or 0 for p in stories])
    page = build(config, stories, updates, now, repo.maintenance_after(now))
    published = {i.id for _, i in seen}
    open_incidents, _ = visible_page(repo, IncidentFilter(status="open"), None, may, limit=UNPUBLISHED_SHOWN)
    return InternalStatus(
        page=page,
        internal={p.id or 0: i for p, i in seen},
        unpublished=[i for i in open_incidents if i.id not in published],
    )
