"""The overview store's queries, on SQLite or PostgreSQL (TEST_POSTGRES_URL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import Repository
from storage.stores.analytics import IncidentFilter
from tests.support.overview_seed import T0, add_incident

M = timedelta(minutes=1)


def repo_for(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    return Repository(engine)


def test_facts_pivot_milestones_and_count_action_items_in_sql(database_url: str) -> None:
    repo = repo_for(database_url)
    add_incident(
        repo,
        1,
        declared=T0,
        milestones={"started": -5 * M, "detected": 0 * M, "fixed": 30 * M},
        actions=(True, False, False),
    )
    add_incident(repo, 2, declared=T0 + timedelta(days=40))
    add_incident(repo, 3, declared=T0 - timedelta(days=1))
    facts = repo.incident_facts(T0, T0 + timedelta(days=30))
    assert [f.number for f in facts] == [1]
    f = facts[0]
    assert f.milestones == {"started": T0 - 5 * M, "detected": T0, "fixed": T0 + 30 * M}
    assert (f.actions_open, f.actions_done) == (2, 1)
    assert f.declared_at == T0


def test_the_declared_milestone_wins_over_the_row_time(database_url: str) -> None:
    repo = repo_for(database_url)
    add_incident(repo, 1, declared=T0, milestones={"declared": timedelta(days=-3)})
    assert [f.number for f in repo.incident_facts(T0 - timedelta(days=4), T0 - timedelta(days=2))] == [1]


def test_list_filters_status_severity_dates_and_text_with_keyset_paging(database_url: str) -> None:
    repo = repo_for(database_url)
    add_incident(repo, 1, title="Checkout 100% down", severity="sev1", closed=True)
    add_incident(repo, 2, title="Slow search", severity="sev3", declared=T0 + timedelta(days=2))
    add_incident(repo, 3, title="checkout_v2 errors", severity="sev2", declared=T0 + timedelta(days=5))

    def numbers(**kw: object) -> list[int]:
        return [i.number for i in repo.incident_list(IncidentFilter(**kw))]  # type: ignore[arg-type]

    assert numbers() == [3, 2, 1]
    assert numbers(status="open") == [3, 2]
    assert numbers(status="closed") == [1]
    assert numbers(severity="sev3") == [2]
    assert numbers(text="CHECKOUT") == [3, 1]
    assert numbers(text="100%") == [1]  # % is literal, not a wildcard
    assert numbers(text="t_v") == [3]  # so is _
    assert numbers(text="#2") == [2]
    assert numbers(since=T0 + timedelta(days=1), until=T0 + timedelta(days=3)) == [2]
    assert [i.number for i in repo.incident_list(IncidentFilter(), before=3, limit=1)] == [2]


def test_counts_and_recently_closed(database_url: str) -> None:
    repo = repo_for(database_url)
    add_incident(repo, 1, severity="sev1", closed=True)
    add_incident(repo, 2, severity="sev1")
    add_incident(repo, 3, severity="sev2", declared=T0 - timedelta(days=60), closed=True)
    assert repo.counts_since(T0 - timedelta(days=1)) == {"total": 2, "open": 1, "closed": 1, "sev1": 2}
    assert [i.number for i in repo.recently_closed()] == [1, 3]


def test_timeline_page_is_in_order_and_bounded(database_url: str) -> None:
    repo = repo_for(database_url)
    inc = add_incident(repo, 1, events=30)
    assert inc.id is not None
    page = repo.timeline_page(inc.id, limit=10)
    assert [e.text for e in page] == [f"event {i}" for i in range(10)]


def test_durations_computed_in_sql_match_the_document_metrics(database_url: str) -> None:
    from bot.analytics.core import metric_pairs, seconds_of

    repo = repo_for(database_url)
    add_incident(
        repo,
        1,
        milestones={"started": -5 * M, "detected": 0 * M, "identified": 7 * M, "fixed": 90 * M},
        actions=(True, False),
    )
    add_incident(repo, 2, milestones={"detected": 0 * M, "fixed": -3 * M})  # backwards: no value
    add_incident(repo, 3, milestones={"declared": timedelta(days=-40)})  # declared outside the window
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    in_sql = repo.incident_durations(*window, metric_pairs())
    in_python = repo.incident_facts(*window)
    assert [f.number for f in in_sql] == [f.number for f in in_python] == [1, 2]
    for a, b in zip(in_sql, in_python, strict=True):
        assert a.seconds == pytest.approx(seconds_of(b))
        assert (a.actions_open, a.actions_done, a.declared_at) == (
            b.actions_open,
            b.actions_done,
            b.declared_at,
        )
    assert in_sql[0].seconds == pytest.approx({"detect": 300, "identify": 420, "fix": 5400, "downtime": 5700})
    assert in_sql[1].seconds == {"detect": None, "identify": None, "fix": None, "downtime": None}


@pytest.mark.parametrize("period", ["week", "month"])
def test_periods_aggregated_in_sql_match_the_summary_of_each_incident(database_url: str, period: str) -> None:
    from bot.analytics.core import metric_pairs, rows_from_groups, summarise

    repo = repo_for(database_url)
    spread = [0, 1, 2, 6, 7, 13, 30, 31, 45, 59]  # days after T0 (a Monday): weeks and months apart
    for n, day in enumerate(spread, start=1):
        add_incident(
            repo,
            n,
            severity=("sev1", "sev2", "sev3")[n % 3],
            declared=T0 + timedelta(days=day, hours=23 if n % 2 else 0, minutes=59),
            milestones={"started": -n * M, "detected": 0 * M, "fixed": (7 * n + 3) * M}
            if n % 4
            else {"detected": 0 * M, "fixed": -M},  # out of order: no value
            actions=(True, False)[: n % 3],
        )
    window = (T0 - timedelta(days=1), T0 + timedelta(days=90))
    in_sql = rows_from_groups(repo.duration_summary(*window, metric_pairs(), period))
    in_python = summarise(repo.incident_durations(*window, metric_pairs()), period)  # type: ignore[arg-type]
    assert [(r.bucket, r.severity, r.count) for r in in_sql] == [
        (r.bucket, r.severity, r.count) for r in in_python
    ]
    for a, b in zip(in_sql, in_python, strict=True):
        assert (a.actions_open, a.actions_done) == (b.actions_open, b.actions_done)
        for key, stat in b.stats.items():
            assert a.stats[key].n == stat.n, (a.bucket, a.severity, key)
            assert a.stats[key].median == pytest.approx(stat.median, abs=1e-3)
            assert a.stats[key].p90 == pytest.approx(stat.p90, abs=1e-3)
    assert len({r.bucket for r in in_sql}) == (5 if period == "week" else 2)
