"""A database outage under steady load: what the bot acknowledges, and what it stores afterwards.

Run: .venv/bin/python bench/outage.py [--database-url postgresql+psycopg://postgres@127.0.0.1/postgres]
                                      [--rate 100] [--outage 60] [--before 10] [--after 10]

Processes: the Slack emulator and one `incident-bot serve` whose PostgreSQL (a throw-away database
on the server given, default TEST_POSTGRES_URL) is reached through a TCP proxy in this process.
This process signs and sends reaction_added events open-loop at ``--rate`` for
before + outage + after seconds; the proxy is cut after ``--before`` s and restored ``--outage`` s
later. Reported: acknowledged (2xx) share, ack latency (p50/p99) before / during / after the
outage, then, once the database is back, how long until every acknowledged reaction is stored (the
spool drained), the replay rate, stored share, duplicates and the bot's delivery counters.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from reactions import MESSAGES, Stack, pct, reaction_body, sign
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests.support.reliability_support import scrape, total  # noqa: E402
from tests.support.tcp_proxy import TcpProxy  # noqa: E402

DRAIN_LIMIT_S = 300.0


@dataclass
class Sent:
    at: float  # seconds since the load started
    latency: float
    ok: bool


async def drive(url: str, body_for: callable, rate: int, seconds: float) -> list[Sent]:  # type: ignore[valid-type]
    """One request every 1/rate s whatever the answers; each one's send time, latency and answer."""
    out: list[Sent] = []
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(limits=limits, timeout=10.0, trust_env=False) as client:
        start = time.perf_counter()

        async def one(n: int) -> None:
            body = body_for(n)
            t0 = time.perf_counter()
            try:
                ok = (await client.post(url, content=body, headers=sign(body))).status_code == 200
            except httpx.HTTPError:
                ok = False
            out.append(Sent(t0 - start, time.perf_counter() - t0, ok))

        tasks = []
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return out


def marks(engine: object) -> tuple[int, int]:
    """(bench marks, 'mark' audit rows of bench users)."""
    with engine.connect() as conn:  # type: ignore[attr-defined]
        m = conn.execute(text("SELECT count(*) FROM timeline_marks WHERE user_id LIKE 'UB%'")).scalar()
        a = conn.execute(
            text("SELECT count(*) FROM timeline_audit WHERE action='mark' AND actor_id LIKE 'UB%'")
        ).scalar()
    return int(m or 0), int(a or 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL"))
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--outage", type=float, default=60.0)
    ap.add_argument("--before", type=float, default=10.0)
    ap.add_argument("--after", type=float, default=10.0)
    args = ap.parse_args()
    if not args.database_url:
        print(
            "outage.py: give --database-url (a PostgreSQL server) or set TEST_POSTGRES_URL", file=sys.stderr
        )
        return 2
    server = make_url(args.database_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"bench_outage_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = create_engine(server.set(database=name))
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    proxied = server.set(database=name, host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-outage-"))
    stack = Stack(tmp)
    try:
        url = stack.bot(ROOT, proxied, "bot")
        base = url.removesuffix("/slack/events")
        user = stack.user("alice")
        channel = stack.declare([url], user, "Bench outage")
        deadline = time.monotonic() + 30  # the declarer is invited just after the channel appears
        while "result" not in stack.act("post_message", user=user, channel=channel, text="first"):
            if time.monotonic() > deadline:
                raise RuntimeError("the declarer was never invited to the incident channel")
            time.sleep(0.2)
        posted = [
            stack.act("post_message", user=user, channel=channel, text=f"bench message {m}")
            for m in range(MESSAGES)
        ]
        if any("result" not in p for p in posted):
            raise RuntimeError(f"the emulator did not post: {next(p for p in posted if 'result' not in p)}")
        messages = [p["result"]["ts"] for p in posted]
        time.sleep(1.0)
        before_marks, before_audits = marks(db)
        seconds = args.before + args.outage + args.after
        loop = asyncio.new_event_loop()
        loop.call_later(args.before, proxy.cut)
        loop.call_later(args.before + args.outage, proxy.restore)
        print(
            f"reaction events at {args.rate}/s for {seconds:.0f} s; PostgreSQL cut from {args.before:.0f} s "
            f"to {args.before + args.outage:.0f} s (a TCP proxy refusing and breaking connections)\n"
        )
        sent = loop.run_until_complete(
            drive(url, lambda n: reaction_body(n, channel, messages, stack.team), args.rate, seconds)
        )
        loop.close()
        restored = time.perf_counter() - args.after  # when the proxy was restored, near enough
        acked = sum(s.ok for s in sent)
        while time.perf_counter() - restored < DRAIN_LIMIT_S and marks(db)[0] - before_marks < acked:
            time.sleep(0.2)
        drained = time.perf_counter() - restored
        stored, audits = (m - b for m, b in zip(marks(db), (before_marks, before_audits), strict=True))
        metrics = scrape(base)

        def counter(outcome: str) -> int:
            return int(total(metrics, "incident_bot_deliveries_total", outcome=outcome))

        phases = {
            "before": [s for s in sent if s.at < args.before],
            "during": [s for s in sent if args.before <= s.at < args.before + args.outage],
            "after": [s for s in sent if s.at >= args.before + args.outage],
        }
        print(f"{'phase':>7} {'sent':>6} {'acked':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
        for phase, group in phases.items():
            lat = [s.latency for s in group]
            print(f"{phase:>7} {len(group):>6} {sum(s.ok for s in group):>7} {pct(lat, 50):>7.1f} "
                  f"{pct(lat, 99):>7.1f} {max(lat, default=0) * 1000:>7.1f}")  # fmt: skip
        replayed = counter("replayed")
        print(
            f"\nacknowledged {acked}/{len(sent)} ({100 * acked / len(sent):.1f} %); stored {stored}/{acked} "
            f"({100 * stored / max(1, acked):.1f} %) {drained:.1f} s after the database came back; "
            f"duplicated {audits - stored}\n"
            f"deliveries: stored {counter('stored')}, spooled {counter('spooled')}, replayed {replayed}, "
            f"duplicate {counter('duplicate')}, refused {counter('refused')}, dropped {counter('dropped')}"
        )
        log = (tmp / "bot.log").read_text().splitlines()
        lines = [
            ln.split(": ", 1)[-1] for ln in log if "deliveries (database" in ln or "from the spool in" in ln
        ]
        print("bot log:", *(lines or ["(no spool lines)"]), sep="\n  ")
        print(f"raw logs: {tmp}")
        return 0 if acked == len(sent) and stored == acked and counter("dropped") == 0 else 1
    finally:
        stack.close()
        proxy.close()
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
