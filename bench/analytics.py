"""The analytics page at scale: where the time goes (SQL vs chart), on SQLite and PostgreSQL.

    .venv/bin/python bench/analytics.py [--postgres URL] [--incidents 10000] [--events 500000]
                                        [--bot-root DIR ...] [--runs 12]

Seeds one database per engine through the bot's own store code: each incident with
``create_pending_incident``, its milestones with ``set_milestone``, one action item as the capture
path stores it (``ensure_message_event`` + a 📝 ``set_mark``; every third with a done ticket through
``add_ticket_link``), and the bulk of the timeline (the rest of ``--events``) as ``TimelineEvent``
rows written in batches through the store's own session (the same rows ``add_timeline_event``
writes, many per unit of work). The SQLite file is throw-away; ``--postgres`` names a server where
a throw-away database is created and dropped.

Then, for each ``--bot-root`` (a checkout of the code, with its own ``.venv`` when it has one: give
the code before and after a change to compare them **in one run** on the same data), a child process
times the uncached analytics page over a year (per month and per week) and its parts: the query and
summary (``views.analytics_rows``) and the chart (the rest), and reports its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
NOW = datetime(2026, 12, 31, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)


# ---- seeding (this checkout's store code) --------------------------------------------------------
def seed(url: str, incidents: int, events: int) -> None:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert, text

    from storage.db import make_engine, session_scope
    from storage.migrate import upgrade
    from storage.models import Incident, TicketLink, TimelineEvent
    from storage.repository import Repository

    engine = make_engine(url)
    upgrade(engine)
    pg = engine.dialect.name == "postgresql"
    if pg:  # a throw-away database: no wait for the WAL flush per unit of work while seeding
        with engine.begin() as conn:
            conn.execute(text("ALTER DATABASE " + engine.url.database + " SET synchronous_commit = off"))
        engine.dispose()
    else:  # a throw-away file: no fsync per unit of work while seeding
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA synchronous = OFF")

        engine.dispose()
    repo = Repository(engine)
    t = time.perf_counter()
    ids: list[int] = []
    for x in range(1, incidents + 1):
        at = START + timedelta(minutes=47 * x)
        closed = x % 20 != 0
        inc = repo.create_pending_incident(
            Incident(
                title=f"Incident {x} {'checkout errors' if x % 10 == 0 else 'latency'}",
                severity=f"sev{1 + x % 4}",
                status="fixed" if closed else "investigating",
                is_closed=closed,
                state="active",
                channel_id=f"CB{x}",
                channel_name=f"inc-{x}",
                declarer_id="U1",
                created_at=at,
                updated_at=at,
            )
        )
        assert inc.id is not None
        ids.append(inc.id)
        for name, offset in (
            ("started", -(x % 30)),
            ("detected", 0),
            ("identified", x % 90),
            ("fixed", x % 300 + 90),
        ):
            repo.set_milestone(inc.id, name, at + timedelta(minutes=offset), "U1", "bench", False)
        ts = f"{int(at.timestamp())}.000100"
        item = repo.ensure_message_event(
            TimelineEvent(
                incident_id=inc.id,
                at=at,
                source="reaction",
                text="fix it",
                plain_text="fix it",
                author_id="U1",
                message_ts=ts,
            )
        )
        assert item.id is not None
        repo.set_mark(item.id, "action_item", "memo", "U1", active=True, changed_ts=ts)
        if x % 3 == 0:
            repo.add_ticket_link(
                TicketLink(
                    incident_id=inc.id,
                    event_id=item.id,
                    source_ts=ts,
                    tracker="github",
                    project="acme/ops",
                    key=f"acme/ops#{x}",
                    state="done",
                )
            )
    print(f"  {incidents} incidents through the stores in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    t = time.perf_counter()
    rest = events - incidents
    # One TimelineEvent made by the model (its defaults), then plain copies of its columns: the
    # rows add_timeline_event writes, inserted many per unit of work.
    template = TimelineEvent(incident_id=ids[0], at=START, source="command", text="", plain_text="")
    columns = {c.name: getattr(template, c.name) for c in TimelineEvent.__table__.columns if c.name != "id"}
    batch: list[dict[str, Any]] = []
    for i in range(rest):
        at = START + timedelta(minutes=i * incidents * 47 / max(rest, 1))
        batch.append(
            columns
            | {
                "incident_id": ids[i % len(ids)],
                "at": at,
                "kind": "finding" if i % 7 == 0 else "timeline",
                "text": f"event {i} <b>text</b>",
                "plain_text": f"event {i}",
                "dedupe_key": f"bench-{i}",
                "created_at": at,
            }
        )
        if len(batch) == 5000 or i == rest - 1:
            with session_scope(engine) as s:
                s.execute(insert(TimelineEvent), batch)
            batch = []
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"  {rest} more timeline events in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    engine.dispose()


# ---- measuring (a child process per code root) ---------------------------------------------------
def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set of this process, MB."""
    now = peak = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return now, peak


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(q * len(ordered)) - 1)]


def measure(url: str, runs: int) -> dict[str, Any]:
    base_rss = rss_mb()[0]
    from storage.db import make_engine
    from storage.repository import Repository

    t = time.perf_counter()
    from bot.analytics.slices import Slice
    from bot.config import BotConfig
    from bot.web import views

    import_ms = (time.perf_counter() - t) * 1000
    repo = Repository(make_engine(url))
    out: dict[str, Any] = {"import_ms": import_ms}
    for period in ("month", "week"):
        views.analytics_page(repo, "year", period, NOW, Slice(), BotConfig())  # connections, first-use costs
        pages, rows, page_cpu, rows_cpu = [], [], [], []
        for _ in range(runs):
            a, ca = time.perf_counter(), time.process_time()
            views.analytics_rows(repo, "year", period, NOW, Slice(), BotConfig())
            b, cb = time.perf_counter(), time.process_time()
            views.analytics_page(repo, "year", period, NOW, Slice(), BotConfig())
            c, cc = time.perf_counter(), time.process_time()
            rows.append((b - a) * 1000)
            pages.append((c - b) * 1000)
            rows_cpu.append((cb - ca) * 1000)
            page_cpu.append((cc - cb) * 1000)
        out[period] = {
            "page_p50": statistics.median(pages),
            "page_p95": pct(pages, 0.95),
            "sql_p50": statistics.median(rows),
            "sql_p95": pct(rows, 0.95),
            "chart_p50": statistics.median(p - r for p, r in zip(pages, rows, strict=True)),
            # this process's CPU (a PostgreSQL server's work is not in it)
            "page_cpu_p50": statistics.median(page_cpu),
            "sql_cpu_p50": statistics.median(rows_cpu),
            "chart_cpu_p50": statistics.median(p - r for p, r in zip(page_cpu, rows_cpu, strict=True)),
        }
    out["rss_base_mb"] = base_rss
    out["rss_mb"], out["rss_peak_mb"] = rss_mb()
    return out


def child(root: Path, url: str, runs: int) -> dict[str, Any]:
    py = root / ".venv" / "bin" / "python"
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [str(py if py.exists() else sys.executable), str(HERE), "--measure", url, "--runs", str(runs)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"measuring {root} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", help="a PostgreSQL server URL (a throw-away database is made on it)")
    ap.add_argument("--incidents", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--bot-root", action="append", type=Path, help="code to measure (repeatable)")
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--database-url", help="measure a database seeded before (by --seed-only)")
    ap.add_argument("--seed-only", action="store_true", help="seed, print the URLs, keep the databases")
    ap.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs)))
        return 0
    roots = args.bot_root or [ROOT]
    targets: list[tuple[str, str, Any]] = []
    tmp = tempfile.mkdtemp(prefix="bench-analytics-")
    if args.database_url:
        targets.append(("given", args.database_url, None))
    else:
        if not args.no_sqlite:
            targets.append(("SQLite", f"sqlite:///{tmp}/analytics.db", None))
        if args.postgres:
            from sqlalchemy import create_engine, text

            name = f"bench_analytics_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f"CREATE DATABASE {name}"))
            drop = None if args.seed_only else (admin, name)
            targets.append(("PostgreSQL", args.postgres.rsplit("/", 1)[0] + "/" + name, drop))
    try:
        for label, url, _drop in targets:
            if not args.database_url:
                print(f"seeding {label}: {args.incidents} incidents, {args.events} events", file=sys.stderr)
                seed(url, args.incidents, args.events)
            if args.seed_only:
                print(f"{label}: {url}")
                continue
            for root in roots:
                r = child(root, url, args.runs)
                print(json.dumps({"engine": label, "root": str(root), **r}))
                for period in ("month", "week"):
                    p = r[period]
                    print(
                        f"{label:10} {root.name:8} year per {period:5}: page p50 {p['page_p50']:6.0f} "
                        f"p95 {p['page_p95']:6.0f} ms | query+summary p50 {p['sql_p50']:5.0f} "
                        f"p95 {p['sql_p95']:5.0f} ms | chart p50 {p['chart_p50']:5.0f} ms | CPU: page "
                        f"{p['page_cpu_p50']:4.0f}, query+summary {p['sql_cpu_p50']:4.0f}, chart {p['chart_cpu_p50']:4.0f} ms",
                        file=sys.stderr,
                    )
                print(
                    f"{label:10} {root.name:8} RSS {r['rss_base_mb']:.0f} MB at start → {r['rss_mb']:.0f} MB "
                    f"(peak {r['rss_peak_mb']:.0f}); import of the web views {r['import_ms']:.0f} ms",
                    file=sys.stderr,
                )
    finally:
        for _label, _url, drop in targets:
            if drop is not None:
                admin, name = drop
                from sqlalchemy import text

                with admin.connect() as c:
                    c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    print(f"(load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
