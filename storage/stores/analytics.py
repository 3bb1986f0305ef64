"""Reads for the overview surfaces (App Home, web pages, analytics): aggregated in SQL.

One row per incident comes back for analytics (milestones pivoted, action items counted in the
database as the document lists them: ``storage.stores.followups.action_item_counts``); percentiles
are left to the caller, since SQLite has no percentile function.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Float, Integer, and_, case, cast, func, or_, tuple_, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import (
    Incident,
    IncidentField,
    Milestone,
    RoleAssignment,
    TimelineEvent,
    UTCDateTime,
)
from storage.stores import Store
from storage.stores.followups import action_item_counts

PIVOTED = ("started", "detected", "declared", "identified", "fixed", "verified", "closed")


@dataclass(frozen=True)
class IncidentFacts:
    """What analytics needs of one incident."""

    number: int
    severity: str
    declared_at: datetime
    is_closed: bool
    milestones: dict[str, datetime] = field(default_factory=dict)
    actions_open: int = 0
    actions_done: int = 0
    # Durations already computed (by ``incident_durations``, in SQL), in seconds; None = missing.
    seconds: dict[str, float | None] | None = None
    incident_type: str = "default"
    # Custom field name -> value (a string, a number or a list of strings), when asked for.
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupStats:
    """Incidents of one period and severity (``severity`` None: every severity) in numbers."""

    bucket: date
    severity: str | None
    count: int
    actions_open: int
    actions_done: int
    durations: dict[str, tuple[int, float | None, float | None]]  # key -> (n, median, p90) in seconds


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default, PostgreSQL's percentile_cont); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _sqlite_groups(rows: Sequence[Any], keys: Sequence[str]) -> list[GroupStats]:
    """Per-severity groups with their values as strings → GroupStats, plus each period's total."""
    out: list[GroupStats] = []
    per_bucket: dict[date, list[tuple[Any, dict[str, list[float]]]]] = {}
    for r in rows:
        values = {k: [float(v) for v in (getattr(r, f"values_{k}") or "").split(",") if v] for k in keys}
        per_bucket.setdefault(_as_date(r.bucket), []).append((r, values))
    for b, members in per_bucket.items():
        merged: dict[str, list[float]] = {k: [] for k in keys}
        for r, values in members:
            out.append(_group(b, r.severity, [r], values, keys))
            for k in keys:
                merged[k] += values[k]
        out.append(_group(b, None, [r for r, _v in members], merged, keys))
    return out


def _group(
    b: date, severity: str | None, rows: Sequence[Any], values: dict[str, list[float]], keys: Sequence[str]
) -> GroupStats:
    return GroupStats(
        bucket=b,
        severity=severity,
        count=sum(int(r.n) for r in rows),
        actions_open=sum(int(r.open) for r in rows),
        actions_done=sum(int(r.done) for r in rows),
        durations={k: (len(values[k]), percentile(values[k], 0.5), percentile(values[k], 0.9)) for k in keys},
    )


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    kind: str
    source: str
    plain_text: str
    text: str
    author_id: str | None
    actor_id: str | None
    permalink: str | None


@dataclass(frozen=True)
class IncidentFilter:
    status: str | None = None  # "open" | "closed" | a status value (investigating, fixed …)
    severity: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AnalyticsStore(Store):
    def incident_facts(self, since: datetime, until: datetime) -> list[IncidentFacts]:
        """Active incidents declared in [since, until), with milestones and action-item counts."""
        m = (
            sa_select(
                col(Milestone.incident_id).label("incident_id"),
                *[
                    type_coerce(
                        func.max(case((col(Milestone.name) == name, col(Milestone.at)))), UTCDateTime()
                    ).label(name)
                    for name in PIVOTED
                ],
            )
            .group_by(col(Milestone.incident_id))
            .subquery("m")
        )
        a = action_item_counts()
        declared = func.coalesce(m.c.declared, col(Incident.created_at))
        q = (
            sa_select(
                col(Incident.number),
                col(Incident.severity),
                col(Incident.incident_type),
                type_coerce(declared, UTCDateTime()).label("declared_at"),
                col(Incident.is_closed),
                *[m.c[name] for name in PIVOTED],
                type_coerce(func.coalesce(a.c.done, 0), Integer()).label("done"),
                type_coerce(func.coalesce(a.c.total, 0), Integer()).label("total"),
            )
            .select_from(Incident)
            .join(m, m.c.incident_id == col(Incident.id), isouter=True)
            .join(a, a.c.incident_id == col(Incident.id), isouter=True)
            .where(col(Incident.state) == "active", declared >= since, declared < until)
            .order_by(col(Incident.number))
        )
        with session_scope(self.engine) as s:
            rows = s.execute(q).all()
        out = []
        for r in rows:
            stones = {name: getattr(r, name) for name in PIVOTED if getattr(r, name) is not None}
            out.append(
                IncidentFacts(
                    number=r.number,
                    severity=r.severity,
                    declared_at=r.declared_at,
                    is_closed=bool(r.is_closed),
                    milestones=stones,
                    actions_open=int(r.total) - int(r.done),
                    actions_done=int(r.done),
                    incident_type=r.incident_type,
                )
            )
        return out

    def _durations_query(
        self, since: datetime, until: datetime, pairs: Sequence[tuple[str, str, str]]
    ) -> Any:
        """One row per active incident declared in [since, until): its durations (``d_<key>``, in
        seconds, NULL when a milestone is missing or they are out of order) and action items."""
        names = sorted({n for _key, end, start in pairs for n in (end, start)} | {"declared"})
        stones = {name: aliased(Milestone, name=f"m_{name}") for name in names}
        pg = self.engine.dialect.name == "postgresql"

        def seconds(end: Any, start: Any) -> Any:
            raw = (
                func.extract("epoch", end - start)
                if pg
                else (func.julianday(end) - func.julianday(start)) * 86400.0
            )
            return case((raw >= 0, raw))

        a = action_item_counts()
        declared = func.coalesce(stones["declared"].at, col(Incident.created_at))
        q: Any = sa_select(
            col(Incident.number).label("number"),
            col(Incident.severity).label("severity"),
            col(Incident.incident_type).label("incident_type"),
            type_coerce(declared, UTCDateTime()).label("declared_at"),
            col(Incident.is_closed).label("is_closed"),
            *[
                type_coerce(seconds(stones[end].at, stones[start].at), Float()).label(f"d_{key}")
                for key, end, start in pairs
            ],
            type_coerce(func.coalesce(a.c.done, 0), Integer()).label("done"),
            type_coerce(func.coalesce(a.c.total, 0), Integer()).label("total"),
        ).select_from(Incident)
        for name, m in stones.items():
            q = q.join(m, and_(col(m.incident_id) == col(Incident.id), col(m.name) == name), isouter=True)
        return q.join(a, a.c.incident_id == col(Incident.id), isouter=True).where(
            col(Incident.state) == "active", declared >= since, declared < until
        )

    def incident_durations(
        self, since: datetime, until: datetime, pairs: Sequence[tuple[str, str, str]]
    ) -> list[IncidentFacts]:
        """Like ``incident_facts``, but each (key, end milestone, start milestone) of ``pairs`` is
        computed in the database, in seconds: one index lookup per milestone, no pivot to Python."""
        q = self._durations_query(since, until, pairs).order_by("number")
        with session_scope(self.engine) as s:
            rows = s.execute(q).all()
        out = []
        for r in rows:
            secs = {}
            for key, _end, _start in pairs:
                v = getattr(r, f"d_{key}")
                secs[key] = float(v) if v is not None and v >= 0 else None
            out.append(
                IncidentFacts(
                    number=r.number,
                    severity=r.severity,
                    declared_at=r.declared_at,
                    is_closed=bool(r.is_closed),
                    actions_open=int(r.total) - int(r.done),
                    actions_done=int(r.done),
                    seconds=secs,
                    incident_type=r.incident_type,
                )
            )
        return out

    def fields_by_number(self, numbers: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Incident number -> its custom fields (name -> value), for the numbers given."""
        out: dict[int, dict[str, Any]] = {}
        wanted = sorted(set(numbers))
        with session_scope(self.engine) as s:
            for start in range(0, len(wanted), 900):  # SQLite's bound on parameters
                rows = s.execute(
                    sa_select(col(Incident.number), col(IncidentField.name), col(IncidentField.value))
                    .join(Incident, col(Incident.id) == col(IncidentField.incident_id))
                    .where(col(Incident.number).in_(wanted[start : start + 900]))
                ).all()
                for number, name, value in rows:
                    out.setdefault(number, {})[name] = value
        return out

    def duration_summary(
        self, since: datetime, until: datetime, pairs: Sequence[tuple[str, str, str]], period: str
    ) -> list[GroupStats]:
        """``incident_durations`` aggregated in the database: one row per (calendar ``period`` —
        "week" from Monday or "month" —, severity) and one per period over every severity
        (severity None), in UTC: counts, action items, and per duration the number of values with
        their median and p90 (linear interpolation). PostgreSQL computes the percentiles
        (``percentile_cont``); SQLite, which has none, sends each group's values as one string."""
        base = self._durations_query(since, until, pairs).subquery("per_incident")
        keys = [key for key, _end, _start in pairs]
        pg = self.engine.dialect.name == "postgresql"
        bucket: Any
        if pg:
            utc = func.timezone("UTC", base.c.declared_at)
            bucket = cast(func.date_trunc(period, utc), Date)
        elif period == "week":
            bucket = func.date(base.c.declared_at, "weekday 0", "-6 days")
        else:
            bucket = func.strftime("%Y-%m-01", base.c.declared_at)
        common = [
            func.count().label("n"),
            func.coalesce(func.sum(base.c.total - base.c.done), 0).label("open"),
            func.coalesce(func.sum(base.c.done), 0).label("done"),
            *[func.count(base.c[f"d_{k}"]).label(f"n_{k}") for k in keys],
        ]
        if pg:
            values = [
                func.percentile_cont(q).within_group(base.c[f"d_{k}"]).label(f"{name}_{k}")
                for k in keys
                for q, name in ((0.5, "median"), (0.9, "p90"))
            ]
            q = sa_select(bucket.label("bucket"), base.c.severity, *common, *values).group_by(
                func.grouping_sets(tuple_(bucket, base.c.severity), tuple_(bucket))
            )
        else:
            values = [func.group_concat(base.c[f"d_{k}"], ",").label(f"values_{k}") for k in keys]
            q = sa_select(bucket.label("bucket"), base.c.severity, *common, *values).group_by(
                bucket, base.c.severity
            )
        with session_scope(self.engine) as s:
            rows = s.execute(q).all()
        if pg:
            return [
                GroupStats(
                    bucket=_as_date(r.bucket),
                    severity=r.severity,
                    count=int(r.n),
                    actions_open=int(r.open),
                    actions_done=int(r.done),
                    durations={
                        k: (
                            int(getattr(r, f"n_{k}")),
                            _float(getattr(r, f"median_{k}")),
                            _float(getattr(r, f"p90_{k}")),
                        )
                        for k in keys
                    },
                )
                for r in rows
            ]
        return _sqlite_groups(rows, keys)

    def incident_list(
        self, f: IncidentFilter, *, before: int | None = None, limit: int = 50
    ) -> Sequence[Incident]:
        """Active incidents matching ``f``, newest number first, below ``before`` (keyset paging)."""
        q = select(Incident).where(col(Incident.state) == "active")
        if f.status == "open":
            q = q.where(col(Incident.is_closed).is_(False))
        elif f.status == "closed":
            q = q.where(col(Incident.is_closed).is_(True))
        elif f.status:
            q = q.where(col(Incident.status) == f.status)
        if f.severity:
            q = q.where(col(Incident.severity) == f.severity)
        if f.since is not None:
            q = q.where(col(Incident.created_at) >= f.since)
        if f.until is not None:
            q = q.where(col(Incident.created_at) < f.until)
        if f.text:
            pattern = _like(f.text.strip())
            conds: list[ColumnElement[bool]] = [
                func.lower(col(Incident.title)).like(pattern, escape="\\"),
                func.lower(func.coalesce(col(Incident.channel_name), "")).like(pattern, escape="\\"),
            ]
            digits = f.text.strip().lstrip("#")
            if digits.isdigit() and len(digits) < 10:
                conds.append(col(Incident.number) == int(digits))
            q = q.where(or_(*conds))
        if before is not None:
            q = q.where(col(Incident.number) < before)
        with session_scope(self.engine) as s:
            return s.exec(q.order_by(col(Incident.number).desc()).limit(limit)).all()

    def timeline_page(self, incident_id: int, limit: int = 2000) -> list[TimelineLine]:
        """The visible timeline, oldest first, at most ``limit`` events: only the columns a page
        shows (no ORM objects: a 2,000-event incident is one cheap query)."""
        e = TimelineEvent
        q = (
            sa_select(
                col(e.at),
                col(e.kind),
                col(e.source),
                col(e.plain_text),
                col(e.text),
                col(e.author_id),
                col(e.actor_id),
                col(e.permalink),
            )
            .where(col(e.incident_id) == incident_id, col(e.hidden).is_(False))
            .order_by(col(e.at), col(e.id))
            .limit(limit)
        )
        with session_scope(self.engine) as s:
            return [TimelineLine(*row) for row in s.execute(q).all()]

    def leads(self, incident_ids: Sequence[int]) -> dict[int, str]:
        """incident id → current lead's user id."""
        if not incident_ids:
            return {}
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(RoleAssignment).where(
                    col(RoleAssignment.incident_id).in_(list(incident_ids)),
                    col(RoleAssignment.role) == "lead",
                    col(RoleAssignment.ended_at).is_(None),
                )
            ).all()
        return {r.incident_id: r.user_id for r in rows}

    def recently_closed(self, limit: int = 10) -> Sequence[Incident]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(Incident)
                .where(col(Incident.state) == "active", col(Incident.is_closed).is_(True))
                .order_by(col(Incident.updated_at).desc(), col(Incident.number).desc())
                .limit(limit)
            ).all()

    def counts_since(self, since: datetime) -> dict[str, int]:
        """Incidents declared since ``since``: total, open, closed, and per severity."""
        with session_scope(self.engine) as s:
            rows = s.execute(
                sa_select(
                    col(Incident.severity),
                    func.count().label("n"),
                    func.sum(case((col(Incident.is_closed).is_(True), 1), else_=0)).label("closed"),
                )
                .where(col(Incident.state) == "active", col(Incident.created_at) >= since)
                .group_by(col(Incident.severity))
            ).all()
        out: dict[str, int] = {"total": 0, "open": 0, "closed": 0}
        for sev, n, closed in rows:
            out[sev] = int(n)
            out["total"] += int(n)
            out["closed"] += int(closed or 0)
        out["open"] = out["total"] - out["closed"]
        return out
