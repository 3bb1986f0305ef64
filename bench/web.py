"""Web UI and analytics at scale: 10,000 incidents, 500,000 timeline events (issue 19).

    .venv/bin/python bench/web.py [--database-url URL] [--incidents 10000] [--events 500000]

Without --database-url a throw-away SQLite file is used; give a PostgreSQL URL to a throw-away
database for the other engine. Rows are generated in the database with INSERT … SELECT (a
recursive CTE on SQLite, generate_series on PostgreSQL). It reports p50/p95 of the list page
(several filters), the incident page of the incident with 2,000 events, the analytics page over a
year (chart included), the query plans of the hot queries, and the App Home: views.publish calls per
open and the month-count queries it made.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import warnings  # noqa: E402

from sqlalchemy import text  # noqa: E402
from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
from starlette.testclient import TestClient  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.wiring import build_services  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

SECRET = "bench-session-secret-0123456789abcdef0123"
BIG = 1  # the incident with 2,000 events
BIG_EVENTS = 2000


def seed(engine: Any, incidents: int, events: int) -> None:
    pg = engine.dialect.name == "postgresql"
    seq = (
        "SELECT generate_series(1, :n) AS x"
        if pg
        else "WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < :n) SELECT x FROM seq"
    )
    ts = (
        "(TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:00+00' + (x * 47) * INTERVAL '1 minute')"
        if pg
        else "datetime('2026-01-01', '+' || (x * 47) || ' minutes')"
    )

    def at(offset_min: str) -> str:
        return (
            f"({ts} + ({offset_min}) * INTERVAL '1 minute')"
            if pg
            else f"datetime('2026-01-01', '+' || (x * 47 + {offset_min}) || ' minutes')"
        )

    false, true = ("false", "true") if pg else ("0", "1")
    stmts = [
        f"""INSERT INTO incidents (number, title, severity, status, is_private, is_closed, state, channel_id,
            channel_name, declarer_id, summary, created_at, updated_at)
            SELECT x, 'Incident ' || x || CASE WHEN x % 10 = 0 THEN ' checkout errors' ELSE ' latency' END,
                   'sev' || (1 + x % 4), CASE WHEN x % 20 = 0 THEN 'investigating' ELSE 'fixed' END, {false},
                   CASE WHEN x % 20 = 0 THEN {false} ELSE {true} END, 'active', 'CB' || x, 'inc-' || x, 'U1', '',
                   {ts}, {ts}
            FROM ({seq}) s""",
    ]
    for name, off in (
        ("started", "-(x % 30)"),
        ("detected", "0"),
        ("identified", "(x % 90)"),
        ("fixed", "(x % 300) + 90"),
    ):
        stmts.append(
            f"""INSERT INTO milestones (incident_id, name, at, source, updated_at)
                SELECT x, '{name}', {at(off)}, 'bench', {ts} FROM ({seq}) s"""
        )
    # One action item per incident, stored as the bot stores them: a message's event marked 📝,
    # every third with a done ticket.
    stmts += [
        f"""INSERT INTO timeline_events (incident_id, at, source, kind, text, plain_text, files, hidden,
            source_deleted, message_ts, dedupe_key, created_at)
            SELECT x, {ts}, 'reaction', 'action_item', 'fix it', 'fix it', '[]', {false}, {false},
                   x || '.000100', 'bench-item-' || x, {ts}
            FROM ({seq}) s""",
        """INSERT INTO timeline_marks (event_id, kind, reaction, user_id, created_at)
            SELECT id, 'action_item', 'memo', 'U1', created_at FROM timeline_events
            WHERE dedupe_key LIKE 'bench-item-%'""",
        f"""INSERT INTO ticket_links (incident_id, event_id, source_ts, tracker, project, key, state, linked,
            created_at)
            SELECT incident_id, id, message_ts, 'github', 'acme/ops', 'acme/ops#' || incident_id, 'done',
                   {false}, created_at
            FROM timeline_events WHERE dedupe_key LIKE 'bench-item-%' AND incident_id % 3 = 0""",
    ]
    rest = events - BIG_EVENTS
    ev_seq = seq.replace(":n", ":m")
    stmts.append(
        f"""INSERT INTO timeline_events (incident_id, at, source, kind, text, plain_text, files, hidden,
            source_deleted, dedupe_key, created_at)
            SELECT CASE WHEN x <= {BIG_EVENTS} THEN {BIG} ELSE 2 + (x % ({incidents} - 1)) END,
                   {ts.replace("x * 47", "x")}, 'command', CASE WHEN x % 7 = 0 THEN 'finding' ELSE 'timeline' END,
                   'event ' || x || ' <b>text</b>', 'event ' || x, '[]', {false}, {false}, 'bench-' || x, {ts.replace("x * 47", "x")}
            FROM ({ev_seq}) s"""
    )
    with engine.begin() as conn:
        if not pg:
            conn.exec_driver_sql("PRAGMA recursive_triggers = OFF")
        for s in stmts:
            conn.execute(text(s), {"n": incidents, "m": BIG_EVENTS + rest})
        if pg:
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")


def plans(engine: Any, repo: Any) -> None:
    from datetime import UTC, datetime

    from sqlmodel import col, select

    from storage.models import Incident, TimelineEvent

    pg = engine.dialect.name == "postgresql"
    dialect = postgresql.dialect() if pg else sqlite.dialect()
    hot = {
        "list (newest 50)": select(Incident)
        .where(col(Incident.state) == "active")
        .order_by(col(Incident.number).desc())
        .limit(50),
        "list (open, sev1)": select(Incident)
        .where(
            col(Incident.state) == "active",
            col(Incident.is_closed).is_(False),
            col(Incident.severity) == "sev1",
        )
        .order_by(col(Incident.number).desc())
        .limit(50),
        "timeline of one incident": select(TimelineEvent)
        .where(col(TimelineEvent.incident_id) == BIG, col(TimelineEvent.hidden).is_(False))
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
        .limit(2001),
        "analytics window": select(Incident.id).where(
            col(Incident.state) == "active", col(Incident.created_at) >= datetime(2026, 6, 1, tzinfo=UTC)
        ),
    }
    with engine.connect() as conn:
        for name, q in hot.items():
            sql = str(q.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + sql).all()
            print(f"\n-- plan: {name}")
            for r in rows:
                print("   ", r[-1] if not pg else r[0])


def timed(fn: Any, n: int) -> tuple[float, float, float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    return statistics.median(samples), p95, samples[-1]


class CountingClient:
    """Stands in for Slack: counts views.publish; everybody is in every channel."""

    def __init__(self) -> None:
        self.publishes = 0

    def views_publish(self, **_: Any) -> dict[str, Any]:
        self.publishes += 1
        return {"ok": True}

    def conversations_members(self, **_: Any) -> dict[str, Any]:
        return {"members": ["U1", "U2"], "response_metadata": {"next_cursor": ""}}

    def auth_test(self) -> dict[str, Any]:
        return {"team_id": "T1"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url")
    ap.add_argument("--incidents", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=500_000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-web-")
    url = args.database_url or f"sqlite:///{tmp}/web.db"
    engine = make_engine(url)
    upgrade(engine)
    t = time.perf_counter()
    seed(engine, args.incidents, args.events)
    print(
        f"engine: {engine.dialect.name}; seeded {args.incidents} incidents, {args.events} events in {time.perf_counter() - t:.1f} s"
    )

    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET="bench",
        DATABASE_URL=url,
        INCIDENT_WEB_URL="http://testserver",
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="s",
        INCIDENT_WEB_SESSION_SECRET=SECRET,
        INCIDENT_WEB_TEAM_ID="T1",
    )
    client = CountingClient()
    services = build_services(settings, engine, client)  # type: ignore[arg-type]
    from datetime import UTC, datetime

    services.clock = lambda: datetime(2026, 12, 31, tzinfo=UTC)
    from bot.web.app import create_web_app

    app = create_web_app(services.settings, services.repo, services.client, services.now, services.access)
    from bot.web.sessions import Person

    cookie, _ = app.state.ui.sessions.open(Person("U1", "T1", "bench"), "bench")
    from starlette.applications import Starlette
    from starlette.routing import Mount

    web = TestClient(Starlette(routes=[Mount("/ui", app=app)]), cookies={"incident_bot_session": cookie})

    def get(path: str) -> None:
        r = web.get("/ui" + path)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])

    print("\npage                                   p50 ms   p95 ms   max ms   target")
    for label, path, n, target in (
        ("list: newest", "/", 60, "p95 ≤ 150"),
        ("list: open + sev1", "/?status=open&severity=sev1", 60, "p95 ≤ 150"),
        ("list: text 'checkout'", "/?q=checkout", 60, "p95 ≤ 150"),
        ("list: dates", "/?from=2026-03-01&to=2026-03-31", 60, "p95 ≤ 150"),
        ("list: page 50 (keyset)", "/?before=7500", 60, "p95 ≤ 150"),
        (f"incident with {BIG_EVENTS} events", f"/incidents/{BIG}", 30, "p95 ≤ 300"),
        ("analytics page (cached ≤ 60 s)", "/analytics?window=year&period=week", 30, "≤ 1000"),
    ):
        get(path)  # warm
        p50, p95, worst = timed(lambda p=path: get(p), n)
        print(f"{label:38} {p50:7.1f}  {p95:7.1f}  {worst:7.1f}   {target}")
    from bot.analytics.slices import Slice
    from bot.web import views

    now = services.clock()
    for period in ("month", "week"):  # uncached: query + summary + chart, every time
        cpu = time.process_time()
        p50, p95, worst = timed(
            lambda p=period: views.analytics_page(
                services.repo, "year", p, now, Slice(), services.settings.config
            ),
            6,
        )
        cpu_ms = (time.process_time() - cpu) * 1000 / 6
        print(
            f"{'analytics, uncached: year per ' + period:38} {p50:7.1f}  {p95:7.1f}  {worst:7.1f}   ≤ 1000"
            f"   (this process's CPU: {cpu_ms:.0f} ms per page)"
        )
    cpu = time.process_time()
    p50, p95, worst = timed(
        lambda: views.analytics_rows(services.repo, "year", "week", now, Slice(), services.settings.config), 6
    )
    cpu_ms = (time.process_time() - cpu) * 1000 / 6
    print(
        f"{'  of which query + summary':38} {p50:7.1f}  {p95:7.1f}  {worst:7.1f}            (CPU {cpu_ms:.0f} ms)"
    )
    print(
        f"(load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs)"
    )

    plans(engine, services.repo)

    from bot.home.service import HomeTab

    home = HomeTab(services.repo, services.client, services.settings, clock=services.now)
    queries = {"n": 0}
    original = services.repo.counts_since

    def counting(since: Any) -> Any:
        queries["n"] += 1
        return original(since)

    services.repo.counts_since = counting  # type: ignore[method-assign]
    t = time.perf_counter()
    for user in ("U1", "U2", "U1", "U2", "U1"):
        home.publish(user)
    took = (time.perf_counter() - t) * 1000 / 5
    print(
        f"\nApp Home: 5 opens → {client.publishes} views.publish, {queries['n']} month-count query; {took:.1f} ms per open"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
