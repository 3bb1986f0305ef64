"""What each page shows, built from the store. No HTTP here (bot/web/app.py serves it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.analytics.charts import chart_svg
from bot.analytics.core import (
    DURATIONS,
    LABELS,
    Row,
    metric_pairs,
    summarise,
    to_csv,
    window_days,
)
from bot.incidents.metrics import metrics
from bot.incidents.vocabulary import ALL_MILESTONES, SEVERITIES, STATUS_LABELS, STATUS_ORDER
from bot.postmortem.render import safe_url
from bot.web.markdown import document_html
from storage.models import Document, Incident
from storage.repository import Repository
from storage.stores.analytics import IncidentFilter

PAGE_SIZE = 50
MAX_EVENTS = 2000
STATUSES = ("open", "closed", *STATUS_ORDER)


class BadFilter(ValueError):
    """A filter value the page cannot use; the message says which."""


def _date(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadFilter(f"{name}: use a date like 2026-03-01") from exc


def parse_filter(q: dict[str, str]) -> IncidentFilter:
    status = q.get("status") or None
    severity = q.get("severity") or None
    if status is not None and status not in STATUSES:
        raise BadFilter(f"status: use one of {', '.join(STATUSES)}")
    if severity is not None and severity not in SEVERITIES:
        raise BadFilter(f"severity: use one of {', '.join(SEVERITIES)}")
    since = _date(q.get("from"), "from")
    until = _date(q.get("to"), "to")
    text = (q.get("q") or "").strip()[:200] or None
    return IncidentFilter(
        status=status,
        severity=severity,
        since=since,
        until=until + timedelta(days=1) if until else None,
        text=text,
    )


def visible_page(
    repo: Repository,
    f: IncidentFilter,
    before: int | None,
    can_see: Callable[[Incident], bool],
    limit: int = PAGE_SIZE,
) -> tuple[list[Incident], int | None]:
    """A page of incidents the viewer may see, and the keyset for the next page (None at the end).

    Private incidents the viewer cannot see are skipped, a batch at a time (at most 20 batches).
    """
    shown: list[Incident] = []
    cursor = before
    for _ in range(20):
        batch = repo.incident_list(f, before=cursor, limit=limit)
        for inc in batch:
            if can_see(inc):
                shown.append(inc)
                if len(shown) == limit:
                    return shown, inc.number
        if len(batch) < limit:
            return shown, None
        cursor = batch[-1].number
    return shown, cursor


@dataclass
class TimelineLine:
    at: datetime
    kind: str
    source: str
    text: str
    who: str | None
    link: str | None


@dataclass
class IncidentPage:
    incident: Incident
    status_label: str
    slack_url: str | None
    milestones: list[tuple[str, datetime | None]]
    metrics: list[tuple[str, str, str]]  # name, formula, value text
    roles: dict[str, str]
    timeline: list[TimelineLine]
    truncated: bool
    documents: list[Document]
    document: Document | None
    document_html: str | None
    status_updates: list[Any] = field(default_factory=list)


def incident_page(repo: Repository, inc: Incident, team_id: str, revision: int | None) -> IncidentPage:
    assert inc.id is not None
    stones = repo.milestones(inc.id)
    events = repo.timeline_page(inc.id, limit=MAX_EVENTS + 1)
    lines = [
        TimelineLine(
            at=e.at,
            kind=e.kind,
            source=e.source,
            text=e.plain_text or e.text,
            who=e.author_id or e.actor_id,
            link=safe_url(e.permalink),
        )
        for e in events[:MAX_EVENTS]
    ]
    docs = list(repo.documents(inc.id))
    chosen: Document | None = None
    if revision is not None:
        chosen = next((d for d in docs if d.revision == revision), None)
    else:
        published = [d for d in docs if d.state == "published"]
        chosen = published[-1] if published else (docs[-1] if docs else None)
    slack = (
        f"https://slack.com/app_redirect?channel={inc.channel_id}&team={team_id}" if inc.channel_id else None
    )
    return IncidentPage(
        incident=inc,
        status_label=STATUS_LABELS.get(inc.status, inc.status),
        slack_url=slack,
        milestones=[(name, stones.get(name)) for name in ALL_MILESTONES],
        metrics=[(m.name, m.formula, m.text) for m in metrics(stones)],
        roles=repo.active_roles(inc.id),
        timeline=lines,
        truncated=len(events) > MAX_EVENTS,
        documents=docs,
        document=chosen,
        document_html=document_html(chosen.markdown) if chosen and chosen.markdown else None,
        status_updates=list(repo.status_updates(inc.id)),
    )


ANALYTICS_WINDOWS = ("30d", "90d", "quarter", "year")


@dataclass
class AnalyticsPage:
    window: str
    period: str
    since: datetime
    rows: list[Row]
    svg: str
    labels: dict[str, str]
    durations: tuple[str, ...]


def analytics_rows(repo: Repository, window: str, period: str, now: datetime) -> tuple[datetime, list[Row]]:
    if window not in ANALYTICS_WINDOWS:
        raise BadFilter(f"window: use one of {', '.join(ANALYTICS_WINDOWS)}")
    if period not in ("week", "month"):
        raise BadFilter("period: use week or month")
    since = now - timedelta(days=window_days(window))
    facts = repo.incident_durations(since, now + timedelta(seconds=1), metric_pairs())
    return since, summarise(facts, "week" if period == "week" else "month")


def analytics_page(repo: Repository, window: str, period: str, now: datetime) -> AnalyticsPage:
    since, rows = analytics_rows(repo, window, period, now)
    svg = chart_svg(rows, f"Incidents per {period}, since {since:%Y-%m-%d}")
    return AnalyticsPage(window, period, since, rows, svg, LABELS, DURATIONS)


def analytics_csv(repo: Repository, window: str, period: str, now: datetime) -> str:
    return to_csv(analytics_rows(repo, window, period, now)[1])
