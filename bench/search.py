"""Full-text search at scale: ranking cost and index upkeep (SQLite FTS5 / PostgreSQL tsvector).

    .venv/bin/python bench/search.py [--database-url URL] [--incidents 2000] [--events 50]

Without --database-url throw-away SQLite files are used; give a PostgreSQL server URL (its
database is only used to create and drop three throw-away databases). The history is written
through the stores in bulk, so the migration's triggers index it
as they do the bot's writes. Reports: seeding time, p50/p95 of ranked search (the store query
alone, and the whole ``bot.search.service.find`` with quotes) for a few kinds of query, a
catch-up over one incident of that database, and the cost of one timeline write with the index
against a database without it (migrated to 0005), as a ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.present.pages import Pages  # noqa: E402
from bot.search.query import parse  # noqa: E402
from bot.search.service import find  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import alembic_config, upgrade  # noqa: E402
from storage.models import Incident, TimelineEvent  # noqa: E402
from storage.repository import Repository  # noqa: E402

PHRASES = [
    "redis timeout on the cache tier",
    "checkout errors after the deploy",
    "database connection pool exhausted",
    "kafka consumer lag growing",
    "dns resolution failures in eu-west",
    "certificate expired on the ingress",
    "memory leak in the payments pod",
    "rolled back the release",
    "disk full on the log volume",
    "latency spike in the api gateway",
]
QUERIES = {
    "one common word": "errors",
    "two words, one entry": "redis timeout",
    "two words, across entries": "payments certificate",
    "rare word (1 in 5,000 events)": "zebrafish",
    "title word": "outage",
    "no match": "xylophone",
    "typed syntax": 'NEAR("redis" timeout*) OR',
    "a word of every incident": "event",
}


@contextmanager
def databases(server: str | None, tmp: Path) -> Iterator[Callable[[str], str]]:
    if server is None:
        yield lambda name: f"sqlite:///{tmp / f'{name}.db'}"
        return
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make(_name: str) -> str:
        made.append(f"ib_bench_{uuid.uuid4().hex[:10]}")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{made[-1]}"'))
        return make_url(server).set(database=made[-1]).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(engine: Any, incidents: int, per_incident: int) -> None:
    """The history written through the stores in bulk (``add_incidents``, ``add_timeline_events``:
    many rows to a statement); the migration's triggers index them as they are written, as they
    do the bot's own writes."""
    repo = Repository(engine)
    now = datetime.now(UTC)
    ids = repo.add_incidents(
        [
            Incident(
                number=0,
                title=("Outage of " if x % 25 == 0 else "Degraded ") + PHRASES[(x // 3) % 10],
                severity=f"sev{1 + x % 4}",
                status="fixed",
                is_closed=True,
                state="active",
                channel_id=f"CB{x}",
                channel_name=f"inc-{x}",
                declarer_id="U1",
                summary="Customers saw " + PHRASES[(x // 7) % 10],
            )
            for x in range(1, incidents + 1)
        ]
    )
    batch: list[dict[str, Any]] = []
    for x in range(1, incidents * per_incident + 1):
        words = f"event {x}: {PHRASES[x % 10]}" + (" zebrafish" if x % 5000 == 0 else "")
        batch.append(
            {
                "incident_id": ids[x % incidents],
                "at": now,
                "source": "pin",
                "kind": "timeline",
                "text": words,
                "plain_text": words,
                "files": [],
                "hidden": False,
                "source_deleted": False,
                "created_at": now,
            }
        )
        if len(batch) == 10_000:
            repo.add_timeline_events(batch)
            batch = []
    repo.add_timeline_events(batch)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # VACUUM as autovacuum would between writes: on PostgreSQL each event appended to an
        # incident's row in search_incidents leaves its old version behind.
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")


def backend_cpu(engine: Any) -> Callable[[], float]:
    """Seconds of CPU the database's server processes have used so far (PostgreSQL on this machine,
    read from /proc; 0 otherwise): with the client's own CPU time, what a query costs on a loaded
    machine, where its wall time mostly says how long it waited for a core."""
    if engine.dialect.name != "postgresql":
        return lambda: 0.0
    with engine.connect() as conn:
        pids = [
            int(r[0])
            for r in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        ]
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    return used


def timed(
    fn: Callable[[], Any], runs: int, server: Callable[[], float] = lambda: 0.0
) -> tuple[float, float, Any, float]:
    """p50 and p95 wall ms, the last result, and the mean CPU ms per run (this process and the
    database's server processes)."""
    fn()  # warm
    samples, result = [], None
    cpu_start, server_start = time.process_time(), server()
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    cpu = (time.process_time() - cpu_start + server() - server_start) * 1000 / runs
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)], result, cpu


def write_cost(url: str, revision: str, writes: int) -> float:
    """Median ms of one timeline write through the store, on a database at ``revision``."""
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), revision)
    repo = Repository(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incidents (number, title, severity, status, is_private, is_closed, state, "
                "declarer_id, summary, created_at, updated_at) VALUES (1, 'Write bench', 'sev3', 'new', "
                ":f, :f, 'active', 'U1', '', :at, :at)"
            ),
            {"f": False, "at": datetime.now(UTC)},
        )
    samples = []
    for n in range(writes):
        event = TimelineEvent(
            incident_id=1,
            at=datetime.now(UTC),
            source="pin",
            message_ts=f"{n}.000100",
            text=f"{PHRASES[n % 10]} {n}",
            plain_text=f"{PHRASES[n % 10]} {n}",
        )
        start = time.perf_counter()
        repo.add_timeline_event(event)
        samples.append((time.perf_counter() - start) * 1000)
    engine.dispose()
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", help="a PostgreSQL server (throw-away databases are made there)")
    ap.add_argument("--incidents", type=int, default=2000)
    ap.add_argument("--events", type=int, default=50, help="timeline events per incident")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--catchup-events", type=int, default=2000, help="0: no catch-up timing")
    ap.add_argument(
        "--seeded",
        metavar="URL",
        help="time the queries on this database, seeded before by this script's seed() at the same "
        "sizes (no seeding, no write cost): a 10k / 500k history takes 6-12 minutes to write",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, databases(args.database_url, Path(tmp)) as new:
        url = args.seeded or new("search")
        engine = make_engine(url)
        upgrade(engine)
        start = time.perf_counter()
        if not args.seeded:
            seed(engine, args.incidents, args.events)
        seeded = time.perf_counter() - start
        repo = Repository(engine)
        server = backend_cpu(engine)
        with engine.connect() as conn:
            entries = conn.execute(text("SELECT count(*) FROM search_entries")).scalar()
            incidents = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
            events = conn.execute(text("SELECT count(*) FROM timeline_events")).scalar()
        print(
            f"engine {engine.dialect.name}: {incidents} incidents, {events} events, {entries} index entries; "
            + (f"seeding through the triggers took {seeded:.1f} s" if not args.seeded else "seeded before")
        )
        print("| query | matches | store p50 / p95 (CPU) | find (quotes) p50 / p95 (CPU) |")
        print("|---|---:|---|---|")
        for label, typed in QUERIES.items():
            q = parse(typed)
            p50, p95, hits, cpu = timed(
                lambda q=q: repo.search_incidents(q.words, limit=51), args.runs, server
            )
            f50, f95, _, fcpu = timed(
                lambda q=q: find(repo, q, None, lambda inc: True, Pages(None)), args.runs, server
            )
            total = len(hits) if len(hits) < 51 else "50+"
            print(
                f"| {label} (`{typed}`) | {total} | {p50:.1f} / {p95:.1f} ms ({cpu:.1f}) "
                f"| {f50:.1f} / {f95:.1f} ms ({fcpu:.1f}) |"
            )
        if args.catchup_events:
            from bench.similar import catchup_time

            c50, c95 = catchup_time(repo, args.catchup_events)
            print(
                f"catch-up over one incident with {args.catchup_events} marked messages, among the above: "
                f"p50 {c50:.1f} ms / p95 {c95:.1f} ms"
            )
        engine.dispose()
        if args.seeded:
            return
        with_index = write_cost(new("writes-indexed"), "head", args.writes)
        without = write_cost(new("writes-plain"), "0005", args.writes)
        print(
            f"one timeline write: {with_index:.2f} ms with the index, {without:.2f} ms without "
            f"(ratio {with_index / without:.2f})"
        )


if __name__ == "__main__":
    main()
