"""Incident analytics. Pure: no Slack, no database, no clock.

Durations reuse the document's metric definitions (``bot.incidents.metrics``): time to
detect / identify / fix and total downtime, each from two milestones; an incident missing either
milestone simply has no value for that metric (it is not counted as zero).
Buckets are calendar weeks (Monday) or months, in UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from bot.incidents.metrics import METRICS, metrics
from bot.present.formats import duration
from storage.stores.analytics import GroupStats, IncidentFacts, percentile

Period = Literal["week", "month"]
DURATIONS: tuple[str, ...] = ("detect", "identify", "fix", "downtime")
LABELS: dict[str, str] = dict(zip(DURATIONS, (name for name, _end, _start in METRICS), strict=True))
ALL = "all"
WINDOWS = {"30d": 30, "90d": 90, "quarter": 91, "year": 365}


class BadWindow(ValueError):
    """A window that is not one of WINDOWS."""


def window_days(text: str | None) -> int:
    key = (text or "30d").strip().lower()
    if key not in WINDOWS:
        raise BadWindow(f"Unknown period {text!r}: use {', '.join(w for w in WINDOWS if w != 'year')}.")
    return WINDOWS[key]


def durations(milestones: dict[str, datetime]) -> dict[str, timedelta | None]:
    """The four durations of one incident, None where a milestone is missing (or out of order)."""
    out: dict[str, timedelta | None] = {}
    for key, metric in zip(DURATIONS, metrics(milestones), strict=True):
        out[key] = metric.value if metric.value is not None and metric.value >= timedelta(0) else None
    return out


def metric_pairs() -> list[tuple[str, str, str]]:
    """(key, end milestone, start milestone) per duration, from the document's METRICS."""
    return [(key, end, start) for key, (_name, end, start) in zip(DURATIONS, METRICS, strict=True)]


def seconds_of(f: IncidentFacts) -> dict[str, float | None]:
    """An incident's durations in seconds: computed by the database, or from its milestones."""
    if f.seconds is not None:
        return f.seconds
    return {k: (v.total_seconds() if v is not None else None) for k, v in durations(f.milestones).items()}


def bucket_of(at: datetime, period: Period) -> date:
    day = at.astimezone(UTC).date()
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def buckets(since: datetime, until: datetime, period: Period) -> list[date]:
    """Every bucket from the one holding ``since`` to the one holding ``until``, empty ones too."""
    out, b, last = [], bucket_of(since, period), bucket_of(until, period)
    while b <= last:
        out.append(b)
        b = b + timedelta(days=7) if period == "week" else (b + timedelta(days=32)).replace(day=1)
    return out


@dataclass(frozen=True)
class Stat:
    n: int
    median: float | None
    p90: float | None


@dataclass
class Row:
    bucket: date
    severity: str
    count: int = 0
    actions_open: int = 0
    actions_done: int = 0
    stats: dict[str, Stat] = field(default_factory=dict)


def summarise(facts: Iterable[IncidentFacts], period: Period) -> list[Row]:
    """One row per (bucket, severity) plus an ``all`` row per bucket, oldest bucket first."""
    groups: dict[tuple[date, str], list[IncidentFacts]] = {}
    for f in facts:
        b = bucket_of(f.declared_at, period)
        groups.setdefault((b, f.severity), []).append(f)
        groups.setdefault((b, ALL), []).append(f)
    rows = []
    for (b, sev), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] == ALL, kv[0][1])):
        row = Row(bucket=b, severity=sev, count=len(members))
        row.actions_open = sum(m.actions_open for m in members)
        row.actions_done = sum(m.actions_done for m in members)
        values: dict[str, list[float]] = {k: [] for k in DURATIONS}
        for m in members:
            for k, v in seconds_of(m).items():
                if v is not None:
                    values[k].append(v)
        row.stats = {k: Stat(len(v), percentile(v, 0.5), percentile(v, 0.9)) for k, v in values.items()}
        rows.append(row)
    return rows


def rows_from_groups(groups: Iterable[GroupStats]) -> list[Row]:
    """The database's per-period aggregates (``duration_summary``) as ``summarise`` gives them."""
    rows = [
        Row(
            bucket=g.bucket,
            severity=g.severity if g.severity is not None else ALL,
            count=g.count,
            actions_open=g.actions_open,
            actions_done=g.actions_done,
            stats={k: Stat(*g.durations[k]) for k in DURATIONS},
        )
        for g in groups
    ]
    return sorted(rows, key=lambda r: (r.bucket, r.severity == ALL, r.severity))


@dataclass(frozen=True)
class Totals:
    count: int
    by_severity: dict[str, int]
    actions_open: int
    actions_done: int
    stats: dict[str, Stat]


def totals(facts: Sequence[IncidentFacts]) -> Totals:
    """The whole window at once (the stats command's headline)."""
    by_sev: dict[str, int] = {}
    values: dict[str, list[float]] = {k: [] for k in DURATIONS}
    for f in facts:
        by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
        for k, v in seconds_of(f).items():
            if v is not None:
                values[k].append(v)
    return Totals(
        count=len(facts),
        by_severity=dict(sorted(by_sev.items())),
        actions_open=sum(f.actions_open for f in facts),
        actions_done=sum(f.actions_done for f in facts),
        stats={k: Stat(len(v), percentile(v, 0.5), percentile(v, 0.9)) for k, v in values.items()},
    )


def human(seconds: float | None) -> str:
    """A duration as every surface writes it (``30 min``, ``1 h 05 min``); an em dash for none."""
    return duration(seconds)


CSV_HEADER = [
    "bucket",
    "severity",
    "incidents",
    *[f"{k}_{q}_seconds" for k in DURATIONS for q in ("median", "p90")],
    *[f"{k}_n" for k in DURATIONS],
    "action_items_open",
    "action_items_done",
]


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; prefix those with a quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_csv(rows: Sequence[Row]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for r in rows:
        cells: list[object] = [r.bucket.isoformat(), _csv_safe(r.severity), r.count]
        for k in DURATIONS:
            st = r.stats[k]
            cells += ["" if st.median is None else round(st.median), "" if st.p90 is None else round(st.p90)]
        cells += [r.stats[k].n for k in DURATIONS]
        cells += [r.actions_open, r.actions_done]
        w.writerow(cells)
    return buf.getvalue()
