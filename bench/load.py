"""Mixed load (messages, reactions, slash commands) at increasing rates: a bare Bolt app, one bot replica
on SQLite and two replicas on one PostgreSQL database (requests alternate between them, as behind a
load balancer).

Run: .venv/bin/python bench/load.py [--rates 100,200,400] [--seconds 5] [--postgres URL]

Per request: 60% message events (unique ts, recorded), 30% reaction_added (marks), 10% `/incident list`.
Reports sustained requests/s (everything stored and drained within 1 s of the last send), ack p50/p99 of
the bot beside the bare app, errors, lost / duplicated records. PostgreSQL runs against a database it
creates and drops (never the server's own schemas); skipped without --postgres. Bounded: every rate
sends for --seconds and waits at most 60 s for the backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cpu_budget import CpuBudgetUnavailable, cpu_seconds
from reactions import (
    DRAIN_LIMIT_S,
    KINDS,
    MESSAGES,
    ROOT,
    Stack,
    drive,
    event_envelope,
    pct,
    sign,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class ResponseSink:
    """Stands in for Slack's response_url: accepts every POST (the bot answers `/incident list` there)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/response"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


RESPONSE_URL = "http://127.0.0.1:9/unset"


def body_for(n: int, channel: str, messages: list[str], team: str) -> tuple[bytes, str]:
    kind = n % 10
    if kind < 6:
        event = {"type": "message", "channel": channel, "channel_type": "channel", "user": "UL0000001",
                 "text": f"load message {n}", "ts": f"1700000000.{n:06d}", "event_ts": f"1700000000.{n:06d}"}  # fmt: skip
        return event_envelope(event, f"EvL{n:09d}", team), "application/json"
    if kind < 9:
        event = {"type": "reaction_added", "user": f"UL{n:08d}", "reaction": KINDS[n % len(KINDS)],
                 "item": {"type": "message", "channel": channel, "ts": messages[n % len(messages)]},
                 "event_ts": f"{time.time():.6f}"}  # fmt: skip
        return event_envelope(event, f"EvL{n:09d}", team), "application/json"
    form = {"command": "/incident", "text": "list", "user_id": "UL0000001", "channel_id": channel,
            "team_id": team, "trigger_id": f"T{n}.{uuid.uuid4().hex[:8]}",
            "response_url": RESPONSE_URL}  # fmt: skip
    return urlencode(form).encode(), "application/x-www-form-urlencoded"


def expected(unique: list[int]) -> tuple[int, int]:
    """(messages, reactions) the bot must store for these sequence numbers."""
    return sum(1 for n in unique if n % 10 < 6), sum(1 for n in unique if 6 <= n % 10 < 9)


def counts(engine: Any) -> tuple[int, int, int]:
    """(load messages recorded, load marks, 'mark' audit rows of load users)."""
    with engine.connect() as c:
        msgs = c.execute(text("SELECT count(*) FROM channel_messages WHERE user_id = 'UL0000001'")).scalar()
        marks = c.execute(text("SELECT count(*) FROM timeline_marks WHERE user_id LIKE 'UL%'")).scalar()
        audits = c.execute(
            text("SELECT count(*) FROM timeline_audit WHERE action = 'mark' AND actor_id LIKE 'UL%'")
        ).scalar()
    return int(msgs or 0), int(marks or 0), int(audits or 0)


@dataclass
class Setup:
    label: str
    urls: list[str]
    engine: Any
    channel: str = ""
    messages: list[str] = field(default_factory=list)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="100,200,400")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument(
        "--postgres", help="server URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    ap.add_argument(
        "--replica-cpus",
        type=float,
        help="CPU budget of each bot replica (a cgroup quota, as a container limit; needs root)",
    )
    ap.add_argument("--profile", type=Path, help="run each bot under py-spy, collapsed stacks here")
    args = ap.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    rates = [int(r) for r in args.rates.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    stack = Stack(tmp)
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT") if args.postgres else None
    pg_names: list[str] = []
    setups: list[Setup] = []
    sink = ResponseSink()
    global RESPONSE_URL
    RESPONSE_URL = sink.url
    cpus = args.replica_cpus
    try:
        bare = stack.bare()
        user = stack.user("alice")
        sqlite_url = f"sqlite:///{tmp / 'one.db'}"
        setups.append(
            Setup(
                "1 x SQLite",
                [stack.bot(ROOT, sqlite_url, "sqlite", args.profile, cpus)],
                create_engine(sqlite_url),
            )
        )
        if admin is not None:
            for replicas in (1, 2):
                pg_names.append(name := f"ib_bench_{uuid.uuid4().hex[:10]}")
                with admin.connect() as c:
                    c.execute(text(f'CREATE DATABASE "{name}"'))
                url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
                bots = [
                    stack.bot(ROOT, url, f"pg{replicas}-{i}", args.profile, cpus) for i in range(replicas)
                ]
                setups.append(Setup(f"{replicas} x PostgreSQL", bots, create_engine(url)))
        for s in setups:
            s.channel = stack.declare(s.urls, user, f"Load {s.label}")
            s.messages = [
                stack.act("post_message", user=user, channel=s.channel, text=f"target {m}")["result"]["ts"]
                for m in range(MESSAGES)
            ]
        time.sleep(1.0)
        budget = f"each replica limited to {cpus:g} CPU" if cpus else "no CPU limits"
        print(f"mixed load (60% messages, 30% reactions, 10% commands), {args.seconds:.0f} s per rate, "
              f"1 replay per 20 requests; 2 shared cores run everything; {budget}\n")  # fmt: skip
        head = (f"{'target':>16} {'rate':>5} | {'bare p50/p99 ms':>16} | {'bot p50/p99 ms':>16} {'p99 x':>6} {'err':>4} | "
                f"{'req/s done':>10} {'lag s':>6} {'lost':>5} {'dup':>4} | {'cpu ms/req bare/bot':>19}")  # fmt: skip
        print(head + "\n" + "-" * len(head))
        first, results = 0, []
        for rate in rates:
            bare_cpu0 = cpu_seconds(stack.pids[bare])
            b = asyncio.run(drive(request([bare], setups[0], stack.team), rate, args.seconds, 10**8 + first))
            bare_cpu = 1000 * (cpu_seconds(stack.pids[bare]) - bare_cpu0) / b.requests
            for s in setups:
                m0, k0, a0 = counts(s.engine)
                cpu0 = sum(cpu_seconds(stack.pids[u]) for u in s.urls)
                t0 = time.perf_counter()
                d = asyncio.run(drive(request(s.urls, s, stack.team), rate, args.seconds, first))
                want_m, want_k = expected(d.unique)
                deadline = time.perf_counter() + DRAIN_LIMIT_S
                while time.perf_counter() < deadline:
                    m, k, a = counts(s.engine)
                    if m - m0 >= want_m and k - k0 >= want_k:
                        break
                    time.sleep(0.1)
                done = time.perf_counter() - t0
                cpu = sum(cpu_seconds(stack.pids[u]) for u in s.urls) - cpu0
                m, k, a = counts(s.engine)
                lost = (want_m - (m - m0)) + (want_k - (k - k0))
                dup = (a - a0) - (k - k0)
                row = {"target": s.label, "rate": rate, "bare_p50": pct(b.latencies, 50), "bare_p99": pct(b.latencies, 99),
                       "bot_p50": pct(d.latencies, 50), "bot_p99": pct(d.latencies, 99), "errors": d.errors,
                       "req_per_s": d.requests / done, "lag_s": max(0.0, done - d.send_time), "lost": lost, "dup": dup,
                       "cpu_ms_per_req": 1000 * cpu / d.requests, "bare_cpu_ms_per_req": bare_cpu}  # fmt: skip
                results.append(row)
                ratio = row["bot_p99"] / row["bare_p99"] if row["bare_p99"] else float("nan")
                print(f"{s.label:>16} {rate:>5} | {row['bare_p50']:>7.1f} /{row['bare_p99']:>7.1f} | "
                      f"{row['bot_p50']:>7.1f} /{row['bot_p99']:>7.1f} {ratio:>5.2f}x {d.errors:>4} | "
                      f"{row['req_per_s']:>10.0f} {row['lag_s']:>6.2f} {lost:>5} {dup:>4} | "
                      f"{bare_cpu:>9.2f} /{row['cpu_ms_per_req']:>8.2f}", flush=True)  # fmt: skip
                first += len(d.unique) + 10
        print()
        sustained, drained = {}, {}
        for s in setups:
            mine = [r for r in results if r["target"] == s.label]
            ok = [r["rate"] for r in mine if r["lag_s"] < 1.0 and not r["lost"] and not r["errors"]]
            sustained[s.label] = max(ok, default=0)
            drained[s.label] = max((r["req_per_s"] for r in mine), default=0.0)
            print(
                f"{s.label}: sustained {sustained[s.label]} req/s (best drained rate {drained[s.label]:.0f}/s)"
            )
        one, two = "1 x PostgreSQL", "2 x PostgreSQL"
        if sustained.get(one) and drained.get(one):
            print(f"two PostgreSQL replicas / one: {sustained[two] / sustained[one]:.2f}x sustained, "
                  f"{drained[two] / drained[one]:.2f}x best drained")  # fmt: skip
        (tmp / "results.json").write_text(json.dumps(results, indent=2))
        print(f"raw numbers and process logs: {tmp}")
        return 0
    finally:
        sink.close()
        stack.close()
        for s in setups:
            s.engine.dispose()
        if admin is not None:
            with admin.connect() as c:
                for name in pg_names:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def request(to: list[str], s: Setup, team: str) -> Any:
    """Requests for ``s``'s channel, alternating between the URLs ``to`` (round robin)."""

    def make(n: int, _replay: bool) -> tuple[str, bytes, dict[str, str]]:
        body, ctype = body_for(n, s.channel, s.messages, team)
        return to[n % len(to)], body, sign(body, ctype)

    return make


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except CpuBudgetUnavailable as exc:
        raise SystemExit(f"load.py: --replica-cpus: {exc}") from None
