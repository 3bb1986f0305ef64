"""The analytics core: durations from milestones, percentiles, buckets, CSV (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.analytics.core import (
    BadWindow,
    bucket_of,
    durations,
    human,
    percentile,
    summarise,
    to_csv,
    totals,
    window_days,
)
from storage.stores.analytics import IncidentFacts

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday


def facts(n: int, sev: str, at: datetime, **offsets_min: int) -> IncidentFacts:
    stones = {k: at + timedelta(minutes=v) for k, v in offsets_min.items()}
    return IncidentFacts(number=n, severity=sev, declared_at=at, is_closed=True, milestones=stones)


def test_durations_follow_the_document_metric_definitions() -> None:
    d = durations(
        {
            "started": T0,
            "detected": T0 + timedelta(minutes=5),
            "identified": T0 + timedelta(minutes=20),
            "fixed": T0 + timedelta(minutes=65),
        }
    )
    assert d == {
        "detect": timedelta(minutes=5),
        "identify": timedelta(minutes=15),
        "fix": timedelta(minutes=60),
        "downtime": timedelta(minutes=65),
    }


def test_a_missing_or_backwards_milestone_gives_no_value_not_zero() -> None:
    d = durations({"detected": T0, "fixed": T0 - timedelta(minutes=1)})
    assert d == {"detect": None, "identify": None, "fix": None, "downtime": None}


def test_percentiles_interpolate_like_numpy() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == pytest.approx(91.0)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    sunday = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    assert bucket_of(sunday, "week") == date(2026, 3, 2)
    assert bucket_of(sunday, "month") == date(2026, 3, 1)


def test_summary_per_bucket_and_severity_with_an_all_row() -> None:
    rows = summarise(
        [
            facts(1, "sev1", T0, started=0, detected=10, identified=20, fixed=70),
            facts(2, "sev1", T0 + timedelta(days=1), started=0, detected=30, fixed=90),
            facts(3, "sev3", T0 + timedelta(days=2), detected=0),
            facts(4, "sev2", T0 + timedelta(days=8), started=0, detected=1, fixed=2),
        ],
        "week",
    )
    got = [(r.bucket.isoformat(), r.severity, r.count) for r in rows]
    assert got == [
        ("2026-03-02", "sev1", 2),
        ("2026-03-02", "sev3", 1),
        ("2026-03-02", "all", 3),
        ("2026-03-09", "sev2", 1),
        ("2026-03-09", "all", 1),
    ]
    sev1 = rows[0]
    assert sev1.stats["detect"].median == 20 * 60  # 10 and 30 minutes
    assert sev1.stats["fix"].n == 2 and sev1.stats["fix"].median == 60 * 60  # fixed − detected: 60 and 60
    assert sev1.stats["downtime"].median == 80 * 60  # fixed − started: 70 and 90
    assert sev1.stats["identify"].n == 1  # incident 2 has no `identified`
    assert rows[2].stats["detect"].n == 2  # incident 3 has no `started`


def test_totals_count_action_items_open_and_done() -> None:
    a = IncidentFacts(1, "sev1", T0, True, {}, actions_open=2, actions_done=1)
    b = IncidentFacts(2, "sev2", T0, False, {}, actions_open=0, actions_done=3)
    t = totals([a, b])
    assert (t.count, t.actions_open, t.actions_done, t.by_severity) == (2, 2, 4, {"sev1": 1, "sev2": 1})


def test_csv_has_one_line_per_row_and_defuses_formulas() -> None:
    rows = summarise([facts(1, "=HYPERLINK(1)", T0, started=0, detected=5)], "month")
    text = to_csv(rows)
    lines = text.splitlines()
    assert lines[0].startswith("bucket,severity,incidents,detect_median_seconds")
    assert lines[1].startswith("2026-03-01,'=HYPERLINK(1),1,300,300")
    assert len(lines) == 3


def test_windows_and_human_durations() -> None:
    assert window_days(None) == 30 and window_days("90d") == 90 and window_days("Quarter") == 91
    with pytest.raises(BadWindow, match="use 30d, 90d, quarter"):
        window_days("lastweek")
    assert [human(x) for x in (None, 42, 600, 3900, 200000)] == [
        "—",
        "42 s",
        "10 min",
        "1 h 05 min",
        "2 d 07 h",
    ]
