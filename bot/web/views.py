"""What each page shows, built from the store. No HTTP here (bot/web/app.py serves it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from bot.analytics.charts import chart_svg
from bot.analytics.core import (
    DURATIONS,
    LABELS,
    Period,
    Row,
    buckets,
    metric_pairs,
    rows_from_groups,
    summarise,
    to_csv,
    window_days,
)
from bot.analytics.slices import (
    GROUPABLE,
    TYPE_KEY,
    BadSlice,
    Breakdown,
    Slice,
    breakdowns,
    facts_of,
    groupable,
    parse_slice,
)
from bot.assist.service import stored_neighbours
from bot.config import BotConfig
from bot.incidents.fields import shown_fields
from bot.incidents.metrics import metrics
from bot.incidents.types import FieldKind, incident_type, type_names
from bot.incidents.vocabulary import ALL_MILESTONES, SEVERITIES, STATUS_LABELS, STATUS_ORDER
from bot.ops.request_values import number
from bot.postmortem.render import safe_url
from bot.present import formats
from bot.present.commonmark import replace_section, to_html
from bot.present.pages import Pages
from bot.search import query as search_query
from bot.search.service import Result, find
from bot.search.similar import Candidate, readable, similar_to
from bot.workflows.runs import RunView, incident_runs
from storage.models import Document, Incident
from storage.repository import Repository
from storage.stores.analytics import IncidentFacts, IncidentFilter

PAGE_SIZE = 50
MAX_EVENTS = 2000
STATUSES = ("open", "closed", *STATUS_ORDER)


HTTP_ERRORS = {
    400: ("Bad request", "This address asks for something the incident pages cannot show."),
    403: ("Not allowed", "You may not see this page."),
    404: ("Not found", "There is no page at this address."),
    405: ("Not allowed", "This page cannot be used that way."),
}


def http_error_text(status: int) -> tuple[str, str]:
    """Title and one line for an HTTP error page."""
    return HTTP_ERRORS.get(status, ("Something went wrong", "The page could not be shown."))


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
class ListPage:
    incidents: list[Incident]
    leads: dict[int, str]  # incident id → the lead's name
    next_link: str | None  # the query string of the next page
    searched: str | None = None  # the words searched for, in search mode
    found: dict[int, Result] = field(default_factory=dict)  # incident id → what matched, in search mode


def _link(q: dict[str, str], **changes: str) -> str:
    keep = {k: v for k, v in q.items() if k not in ("before", "page") and v}
    return "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in {**keep, **changes}.items())


def list_page(
    repo: Repository, q: dict[str, str], can_see: Callable[[Incident], bool], pages: Pages
) -> ListPage:
    """The incident list: newest first, or, with ``q=``, ranked full-text search results (titles,
    recorded facts, timelines, documents), each with a quote of what matched."""
    f = parse_filter(q)
    if not f.text:
        before = number(q["before"]) if q.get("before") else None
        if q.get("before") and before is None:
            raise BadFilter("before must be an incident number")
        rows, cursor = visible_page(repo, f, before, can_see)
        nxt = _link(q, before=str(cursor)) if cursor is not None else None
        return ListPage(rows, _leads(repo, rows, pages), nxt)
    page = number(q["page"]) if q.get("page") else 1
    if page is None or not 1 <= page <= 1000:
        raise BadFilter("page must be a number from 1 to 1000")
    words = search_query.parse(f.text)
    if not words:
        raise BadFilter("Search for words (letters or digits): there are none in what was typed.")
    plain = IncidentFilter(f.status, f.severity, f.since, f.until)
    found = find(repo, words, plain, can_see, pages, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    rows = [r.incident for r in found.results]
    return ListPage(
        rows,
        _leads(repo, rows, pages),
        _link(q, page=str(page + 1)) if found.more else None,
        searched=f.text,
        found={r.incident.id or 0: r for r in found.results},
    )


def _leads(repo: Repository, rows: list[Incident], pages: Pages) -> dict[int, str]:
    lead_ids = repo.leads([i.id for i in rows if i.id is not None])
    pages.learn((), lead_ids.values())
    return {key: pages.person(uid) for key, uid in lead_ids.items()}


@dataclass
class TimelineLine:
    at: datetime
    kind: str
    source: str
    text: Markup  # the message as a reader sees it: names, emoji, formatting
    who: str
    link: str | None


@dataclass
class IncidentPage:
    incident: Incident
    status_label: str
    slack_url: str | None
    milestones: list[tuple[str, datetime | None]]
    metrics: list[tuple[str, str, Markup]]  # name, formula, value
    roles: dict[str, str]
    timeline: list[TimelineLine]
    truncated: bool
    documents: list[Document]
    document: Document | None
    document_html: str | None
    status_updates: list[Any] = field(default_factory=list)
    fields: list[tuple[str, Markup]] = field(default_factory=list)  # custom fields: label, value
    similar: list[Candidate] = field(default_factory=list)  # past incidents like it, that the viewer may see
    workflows: list[RunView] = field(default_factory=list)  # the rules' runs, each step's outcome


def incident_page(
    repo: Repository,
    inc: Incident,
    team_id: str,
    revision: int | None,
    pages: Pages,
    config: BotConfig | None = None,
    can_see: Callable[[Incident], bool] | None = None,
) -> IncidentPage:
    """``can_see``: which similar past incidents the viewer may see (none shown without it)."""
    assert inc.id is not None
    stones = repo.milestones(inc.id)
    events = repo.timeline_page(inc.id, limit=MAX_EVENTS + 1)
    shown = events[:MAX_EVENTS]
    roles = repo.active_roles(inc.id)
    pages.learn((e.text for e in shown), [*(e.author_id or e.actor_id for e in shown), *roles.values()])
    lines = [
        TimelineLine(
            at=e.at,
            kind=e.kind,
            source=e.source,
            text=pages.html(e.text) if e.text else Markup.escape(e.plain_text),
            who=pages.person(e.author_id or e.actor_id) if e.author_id or e.actor_id else "",
            link=safe_url(e.permalink),
        )
        for e in shown
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
        metrics=[(m.name, m.formula, pages.inline(m.text)) for m in metrics(stones)],
        roles={role: pages.person(uid) for role, uid in roles.items()},
        timeline=lines,
        truncated=len(events) > MAX_EVENTS,
        documents=docs,
        document=chosen,
        document_html=to_html(_timeline_once(chosen.markdown)) if chosen and chosen.markdown else None,
        status_updates=list(repo.status_updates(inc.id)),
        fields=custom_fields(repo, inc, pages, config or BotConfig()),
        similar=readable(_similar(repo, inc, can_see, config or BotConfig()), pages.readable)
        if can_see is not None
        else [],
        workflows=incident_runs(repo, (config or BotConfig()).workflows, inc.id),
    )


def _similar(
    repo: Repository, inc: Incident, can_see: Callable[[Incident], bool], config: BotConfig
) -> list[Candidate]:
    """Similar incidents as `/incident similar` ranks them, with stored embeddings only (a page
    view sends nothing to the model)."""
    if not config.assist.embeddings:
        return similar_to(repo, inc, can_see)
    return similar_to(
        repo, inc, can_see, partial(stored_neighbours, repo, config.assist), config.assist.weight
    )


def custom_fields(
    repo: Repository, inc: Incident, pages: Pages, config: BotConfig
) -> list[tuple[str, Markup]]:
    """The incident's custom fields that are set: people by name, everything else as text."""
    spec = incident_type(config.types, inc.incident_type)
    if not spec.fields:
        return []
    shown = shown_fields(spec, config.fields, repo.field_values(inc.id or 0))
    users = [f.plain.removeprefix("@") for f in shown if config.fields[f.name].kind == FieldKind.USER]
    pages.learn((), users)
    return [
        (
            f.label,
            Markup.escape(pages.person(f.plain.removeprefix("@")))
            if config.fields[f.name].kind == FieldKind.USER
            else Markup.escape(f.plain),
        )
        for f in shown
    ]


def _timeline_once(markdown: str) -> str:
    """The document as the incident page shows it: its timeline is the page's own (live, above),
    so the document's copy is a link to it rather than the same rows a second time."""
    return replace_section(
        markdown,
        "Timeline",
        "The timeline is [above](#timeline), as recorded now (this revision's copy is in the document file).",
    )


ANALYTICS_WINDOWS = ("30d", "90d", "quarter", "year")


@dataclass(frozen=True)
class FilterChoice:
    """One select of the analytics form: its parameter, label, choices and the chosen one."""

    param: str
    label: str
    choices: list[str]
    chosen: str


@dataclass
class AnalyticsPage:
    window: str
    period: str
    since: datetime
    rows: list[Row]
    svg: str
    labels: dict[str, str]
    durations: tuple[str, ...]
    title: str = ""
    of: str = ""  # the slice, in words ("type security · Services payments")
    query: str = ""  # the slice as query parameters, for the CSV link
    filters: list[FilterChoice] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)

    def bucket(self, start: date) -> str:
        """``Oct 2026`` / ``6 Oct 2026``: the table's first column."""
        return formats.period(start, self.period)


def analytics_slice(params: Iterable[tuple[str, str]], config: BotConfig) -> Slice:
    """The page's ``type`` and ``field.<name>`` parameters, checked against the config."""
    pairs = [
        (name.removeprefix("field."), value)
        for name, value in params
        if name == TYPE_KEY or name.startswith("field.")
    ]
    try:
        return parse_slice(pairs, config.types, config.fields)
    except BadSlice as exc:
        raise BadFilter(str(exc)) from exc


def _filter_choices(config: BotConfig, where: Slice) -> list[FilterChoice]:
    chosen = dict(where.fields)
    out = []
    if config.types:
        out.append(FilterChoice(TYPE_KEY, "Type", type_names(config.types), where.incident_type or ""))
    for name, spec in config.fields.items():
        if spec.kind in GROUPABLE:
            options = [s.name for s in config.services] if spec.kind == FieldKind.SERVICES else spec.options
            out.append(FilterChoice(f"field.{name}", spec.label, options, chosen.get(name, "")))
    return out


def analytics_rows(
    repo: Repository,
    window: str,
    period: str,
    now: datetime,
    where: Slice,
    config: BotConfig,
    breakdown: bool = True,
) -> tuple[datetime, list[Row], list[IncidentFacts] | None]:
    """The window's rows per period and severity: aggregated in the database for every incident;
    from the incidents themselves when they are read anyway (a slice, or breakdowns to draw)."""
    if window not in ANALYTICS_WINDOWS:
        raise BadFilter(f"window: use one of {', '.join(ANALYTICS_WINDOWS)}")
    if period not in ("week", "month"):
        raise BadFilter("period: use week or month")
    since = now - timedelta(days=window_days(window))
    until = now + timedelta(seconds=1)
    kind: Period = "week" if period == "week" else "month"
    broken_down = breakdown and (bool(config.types) or groupable(config.fields))
    if where or broken_down:
        facts = facts_of(repo, since, until, metric_pairs(), where, config.fields)
        return since, summarise(facts, kind), facts
    groups = repo.duration_summary(since, until, metric_pairs(), period)
    return since, rows_from_groups(groups), None


def analytics_page(
    repo: Repository, window: str, period: str, now: datetime, where: Slice, config: BotConfig
) -> AnalyticsPage:
    since, rows, facts = analytics_rows(repo, window, period, now, where, config)
    kind: Period = "week" if period == "week" else "month"
    of = where.label(config.fields)
    title = f"Incidents per {period}, since {formats.day(since)}" + (f" ({of})" if of else "")
    svg = chart_svg(rows, buckets(since, now, kind), kind, title)
    return AnalyticsPage(
        window,
        period,
        since,
        rows,
        svg,
        LABELS,
        DURATIONS,
        title,
        of=of,
        query="".join(f"&{quote(k)}={quote(v)}" for k, v in where.query().items()),
        filters=_filter_choices(config, where),
        breakdowns=breakdowns(facts, config.types, config.fields) if facts is not None else [],
    )


def analytics_csv(
    repo: Repository, window: str, period: str, now: datetime, where: Slice, config: BotConfig
) -> str:
    return to_csv(analytics_rows(repo, window, period, now, where, config, breakdown=False)[1])
