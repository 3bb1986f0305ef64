"""How long one reminder sweep takes to work out what is due, by number of incidents.

    .venv/bin/python bench/bench_scheduler_sweep.py [N] [POSTGRES_SERVER_URL]

(with a PostgreSQL URL it works in a throw-away database on that server, dropped afterwards)

Builds N open and N closed incidents (with updates, leads, close milestones, documents and
claims), then times ``ReminderSweeper.due`` — the part every replica runs every ``sweep_every``
seconds even when nothing is due. No Slack calls are made.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bot.config import load_settings
from bot.slack.client import make_client
from bot.wiring import build_services
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Document, Incident, Milestone, ReminderClaim, RoleAssignment, StatusUpdate, utcnow


def populate(engine: object, n: int) -> None:
    now = utcnow()
    with Session(engine) as s:  # type: ignore[call-overload]
        for i in range(2 * n):
            closed = i >= n
            inc = Incident(
                number=i + 1, title=f"Incident {i}", severity=f"sev{1 + i % 4}", declarer_id="U1",
                state="active", channel_id=f"C{i:06d}", is_closed=closed, created_at=now - timedelta(hours=3),
            )  # fmt: skip
            s.add(inc)
            s.flush()
            assert inc.id is not None
            s.add(
                StatusUpdate(incident_id=inc.id, text="u", author_id="U1", posted_at=now - timedelta(hours=1))
            )
            s.add(RoleAssignment(incident_id=inc.id, role="lead", user_id="U2"))
            s.add(ReminderClaim(incident_id=inc.id, kind="lead", slot="x", state="sent"))
            if closed:
                s.add(Milestone(incident_id=inc.id, name="closed", at=now - timedelta(hours=2)))
                s.add(
                    Document(
                        incident_id=inc.id, revision=1, state="published", missing_sections=["Root Cause"]
                    )
                )
        s.commit()


@contextmanager
def scratch_database(server_url: str | None) -> Iterator[str]:
    """A throw-away database: a SQLite file, or a new database on the given PostgreSQL server."""
    if not server_url:
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
        return
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"ib_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with scratch_database(sys.argv[2] if len(sys.argv) > 2 else None) as url:
        run(n, url)


def run(n: int, url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    populate(engine, n)
    settings = load_settings(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET="bench", DATABASE_URL=url)
    settings.config.reminders.archive_after = 7 * 86400
    services = build_services(settings, engine, make_client("xoxb-bench", "http://127.0.0.1:9/api/"))
    sweeper = services.reminder_sweeper()
    due = sweeper.due()
    runs = 10
    started = time.perf_counter()
    for _ in range(runs):
        sweeper.due()
    per_sweep = (time.perf_counter() - started) / runs * 1000
    print(
        f"{engine.dialect.name}: {2 * n} incidents ({n} open, {n} closed), {len(due)} due: {per_sweep:.1f} ms per sweep"
    )


if __name__ == "__main__":
    main()
