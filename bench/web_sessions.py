"""What a server-side web session costs a request, and what the purge at sign-in costs.

    .venv/bin/python bench/web_sessions.py [--database-url URL] [--requests 2000] [--stale 10000]

The web UI in process (no network), on a throw-away SQLite file unless --database-url names a
throw-away PostgreSQL database. It times GET /ui/static/style.css (the cheapest route: what is left
is the session's own cost) with no cookie, with a garbled cookie (turned away by its signature,
no query) and with a live session (one SELECT; "last seen" is written at most once a minute), and
one sign-in's record with ``--stale`` expired rows to delete. Reports medians and their ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore", category=DeprecationWarning)

from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.web.app import create_web_app  # noqa: E402
from bot.web.sessions import Person  # noqa: E402
from bot.wiring import build_services  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import WebSession  # noqa: E402

SECRET = "bench-session-secret-0123456789abcdef0123"


class NoSlack:
    """Stands in for Slack (this benchmark never asks it anything)."""


def median_ms(fn: Any, n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--stale", type=int, default=10_000)
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-sessions-')}/web.db"
    engine = make_engine(url)
    upgrade(engine)
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
    services = build_services(settings, engine, NoSlack())  # type: ignore[arg-type]
    app = create_web_app(services.settings, services.repo, services.client, services.now, services.access)
    ui = app.state.ui
    cookie, _ = ui.sessions.open(Person("U1", "T1", "bench"), "bench")
    web = TestClient(Starlette(routes=[Mount("/ui", app=app)]))
    print(f"engine: {engine.dialect.name}; {args.requests} requests each")

    def get(value: str | None) -> None:
        web.cookies.clear()
        if value is not None:
            web.cookies.set("incident_bot_session", value, path="/ui")
        assert web.get("/ui/static/style.css").status_code == 200

    for value in (None, cookie):
        get(value)  # warm
    results = {
        "no cookie": median_ms(lambda: get(None), args.requests),
        "garbled cookie (signature refused)": median_ms(lambda: get("x" * 60), args.requests),
        "live session (one SELECT)": median_ms(lambda: get(cookie), args.requests),
    }
    base = results["no cookie"]
    print("\nrequest                                  p50 ms   × no cookie")
    for label, ms in results.items():
        print(f"{label:40} {ms:7.2f}   {ms / base:5.2f}")

    past = datetime.now(UTC) - timedelta(days=2)
    stale = [
        WebSession(
            id_hash=f"{i:064x}",
            user_id="U2",
            team_id="T1",
            name="old",
            created_at=past,
            last_seen_at=past,
            checked_at=past,
            expires_at=past + timedelta(hours=8),
        )
        for i in range(args.stale)
    ]
    with engine.begin() as conn:
        conn.execute(WebSession.__table__.insert(), [s.model_dump() for s in stale])  # type: ignore[attr-defined]
    t = time.perf_counter()
    ui.sessions.open(Person("U3", "T1", "bench"), "bench")
    purge = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    ui.sessions.open(Person("U3", "T1", "bench"), "bench")
    plain = (time.perf_counter() - t) * 1000
    print(
        f"\nsign-in record, deleting {args.stale} expired rows: {purge:.1f} ms; with none to delete: {plain:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
