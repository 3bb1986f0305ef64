"""The public status page under load: `/status` of 100 components and 1,000 past public incidents,
requested open-loop at 200 requests/s from a real `incident-bot serve` process.

    .venv/bin/python bench/statuspage.py [--components 100] [--incidents 1000] [--rate 200] [--seconds 20]
                                         [--database-url URL]

Processes: the Slack emulator (in this process) and one bot (`python -m bot serve`, a throw-away
SQLite file unless --database-url names a throw-away PostgreSQL database). Before the bot starts,
the incidents are inserted (plain rows: the page reads only their privacy) and their public
incidents and updates recorded through the bot's own store (`Repository.publish_update`: an
Investigating, an Identified and a Resolved update each, spread over the last 85 days and over the
components). Then `/status` is requested at --rate per second for --seconds (each request on its
own schedule, whatever the previous ones take, timed from when it was due until its last byte
arrived; the body is received, not decompressed: what a CDN in front would fetch), from 32 client
threads sharing one connection pool. Reports: p50 / p95 / p99 /
max latency and errors of 200 answers; the body size; the caching headers; the same at the same
rate with If-None-Match (304, no body); and the time of one rebuild (the first request after
start, and one after `MAX_AGE` expired is the same work).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_emulator import SlackEmulator  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Incident, PublicUpdate  # noqa: E402
from storage.repository import Repository  # noqa: E402

PY = sys.executable
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
IMPACTS = ("degraded_performance", "partial_outage", "major_outage")


def config(components: int) -> str:
    lines = ['[statuspage]\ntitle = "Bench status"\n']
    for i in range(components):
        lines.append(
            f'[[statuspage.components]]\nid = "c{i:03d}"\nname = "Component {i:03d}"\ngroup = "Group {i // 10}"\n'
        )
    return "\n".join(lines)


def seed(url: str, components: int, incidents: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    now = datetime.now(UTC)
    rows = [
        Incident(
            number=n,
            title=f"internal {n}",
            severity="sev3",
            status="fixed",
            is_private=False,
            is_closed=True,
            state="active",
            channel_id=f"CB{n}",
            channel_name=f"inc-{n}",
            declarer_id="U1",
            created_at=now,
            updated_at=now,
        )
        for n in range(1, incidents + 1)
    ]
    from sqlmodel import Session

    with Session(engine) as s:
        s.add_all(rows)
        s.commit()
        ids = [r.id for r in rows]
    for k, incident_id in enumerate(ids):
        start = now - timedelta(days=85) + timedelta(minutes=k * 85 * 24 * 60 // incidents)
        hit = {f"c{(k * 7 + j) % components:03d}": IMPACTS[(k + j) % 3] for j in range(1 + k % 3)}
        for step, (state, minutes) in enumerate((("investigating", 0), ("identified", 20), ("resolved", 90))):
            impacts = hit if state != "resolved" else dict.fromkeys(hit, "operational")
            update = PublicUpdate(
                state=state,
                message=f"Update {step} of public incident {k}: what the public is told.",
                impacts=impacts,
                author_id="U1",
                dedupe_key=f"bench:{k}:{step}",
                posted_at=start + timedelta(minutes=minutes),
                public_incident_id=0,
            )
            repo.publish_update(incident_id or 0, f"Public incident {k}", update)
    engine.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load(url: str, rate: float, seconds: float, headers: dict[str, str]) -> tuple[list[float], Counter[int]]:
    """``url`` at ``rate`` per second for ``seconds``, open loop: latencies (ms) and statuses."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    # One client, its connections opened before the clock starts (a client's set-up is not the server's time).
    client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=32, max_keepalive_connections=32))

    def send(due: float) -> None:
        try:
            with client.stream("GET", url, headers=headers) as r:  # every byte received, none decoded
                for _ in r.iter_raw():
                    pass
                status = r.status_code
        except httpx.HTTPError:
            status = 0
        elapsed = (time.perf_counter() - due) * 1000  # from when it was due: queueing counts
        with lock:
            latencies.append(elapsed)
            statuses[status] += 1

    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda _: client.get(url, headers=headers), range(64)))  # threads and connections up
        t0 = time.perf_counter()
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, due)
    client.close()
    return latencies, statuses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--components", type=int, default=100)
    ap.add_argument("--incidents", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--database-url")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-statuspage-"))
    url = args.database_url or f"sqlite:///{tmp / 'bot.db'}"
    t = time.perf_counter()
    seed(url, args.components, args.incidents)
    print(f"seeded {args.incidents} public incidents x 3 updates in {time.perf_counter() - t:.1f} s")
    (tmp / "bot.toml").write_text(config(args.components), encoding="utf-8")

    emu = SlackEmulator(signing_secret=SECRET, bot_token=TOKEN)
    emu.start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "ALERTS_"))}
    env.update(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=url,
        INCIDENT_BOT_CONFIG=str(tmp / "bot.toml"),
        INCIDENT_OUTPUT_DIR=str(tmp / "docs"),
        LOG_LEVEL="WARNING",
    )
    log = open(tmp / "bot.log", "wb")  # noqa: SIM115
    bot = subprocess.Popen(
        [PY, "-m", "bot", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or bot.poll() is not None:
                print("the bot did not start; see", tmp / "bot.log")
                return 1
            time.sleep(0.2)

        t = time.perf_counter()
        first = httpx.get(f"{base}/status", timeout=30)
        build_ms = (time.perf_counter() - t) * 1000
        assert first.status_code == 200, first.text[:300]
        assert first.text.count('class="component"') == args.components, "not every component shown"
        zipped = int(first.headers.get("content-length", "0"))
        print(
            f"first request (build + render): {build_ms:.0f} ms; body {len(first.content) / 1024:.0f} KiB, "
            f"{zipped / 1024:.0f} KiB gzipped"
        )
        for h in ("cache-control", "etag", "content-type"):
            print(f"  {h}: {first.headers.get(h)}")
        etag = first.headers["etag"]
        with httpx.Client(timeout=10) as client:  # one at a time: the service time, no queueing
            alone = []
            for _ in range(50):
                t = time.perf_counter()
                client.get(f"{base}/status")
                alone.append((time.perf_counter() - t) * 1000)
        print(f"one at a time (50): p50 {pct(alone, 50):.1f} ms, p95 {pct(alone, 95):.1f} ms")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        # The first seconds at the rate are not the steady state (the server's worker threads and
        # connections grow then): measured and shown, then the rate is measured again.
        warm, _ = load(f"{base}/status", args.rate, 3, {})
        print(
            f"first 3 s at {args.rate:.0f}/s (warming up): p50 {pct(warm, 50):.1f} ms, p95 {pct(warm, 95):.1f} ms"
        )
        for label, headers in (("200 (full page)", {}), ("304 (If-None-Match)", {"if-none-match": etag})):
            latencies, statuses = load(f"{base}/status", args.rate, args.seconds, headers)
            n = len(latencies)
            print(
                f"{label}: {n} requests at {args.rate:.0f}/s: p50 {pct(latencies, 50):.1f} ms, "
                f"p95 {pct(latencies, 95):.1f} ms, p99 {pct(latencies, 99):.1f} ms, max {max(latencies):.1f} ms; "
                f"statuses {dict(statuses)}"
            )
    finally:
        bot.terminate()
        try:
            bot.wait(timeout=20)
        except subprocess.TimeoutExpired:
            bot.kill()
        log.close()
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
