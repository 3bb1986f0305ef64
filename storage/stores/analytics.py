"""Reads for the overview surfaces (App Home, web pages, analytics): aggregated in SQL.

One row per incident comes back for analytics (milestones pivoted, action items counted in the
database); percentiles are left to the caller, since SQLite has no percentile function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, and_, case, func, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import (
    ActionItem,
    Incident,
    Milestone,
    RoleAssignment,
    TimelineEvent,
    UTCDateTime,
)
from storage.stores import Store

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


def _action_counts() -> Any:
    """Per incident: its action items (``total``) and how many are done (``done``)."""
    done = case((col(ActionItem.done).is_(True), 1), else_=0)
    return (
        sa_select(
            col(ActionItem.incident_id).label("incident_id"),
            func.sum(done).label("done"),
            func.count().label("total"),
        )
        .group_by(col(ActionItem.incident_id))
        .subquery("a")
    )


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
        a = _action_counts()
        declared = func.coalesce(m.c.declared, col(Incident.created_at))
        q = (
            sa_select(
                col(Incident.number),
                col(Incident.severity),
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
                )
            )
        return out

    def incident_durations(
        self, since: datetime, until: datetime, pairs: Sequence[tuple[str, str, str]]
    ) -> list[IncidentFacts]:
        """Like ``incident_facts``, but each (key, end milestone, start milestone) of ``pairs`` is
        computed in the database, in seconds: one index lookup per milestone, no pivot to Python."""
        names = sorted({n for _key, end, start in pairs for n in (end, start)} | {"declared"})
        stones = {name: aliased(Milestone, name=f"m_{name}") for name in names}
        pg = self.engine.dialect.name == "postgresql"

        def seconds(end: Any, start: Any) -> Any:
            if pg:
                return func.extract("epoch", end - start)
            return (func.julianday(end) - func.julianday(start)) * 86400.0

        a = _action_counts()
        declared = func.coalesce(stones["declared"].at, col(Incident.created_at))
        q = sa_select(
            col(Incident.number),
            col(Incident.severity),
            type_coerce(declared, UTCDateTime()).label("declared_at"),
            col(Incident.is_closed),
            *[
                type_coerce(seconds(stones[end].at, stones[start].at), Float()).label(f"d_{key}")
                for key, end, start in pairs
            ],
            type_coerce(func.coalesce(a.c.done, 0), Integer()).label("done"),
            type_coerce(func.coalesce(a.c.total, 0), Integer()).label("total"),
        ).select_from(Incident)
        for name, m in stones.items():
            q = q.join(m, and_(col(m.incident_id) == col(Incident.id), col(m.name) == name), isouter=True)
        q = (
            q.join(a, a.c.incident_id == col(Incident.id), isouter=True)
            .where(col(Incident.state) == "active", declared >= since, declared < until)
            .order_by(col(Incident.number))
        )
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
                )
            )
        return out

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
