"""Reaction events over HTTP at increasing rates: the bot (SQLite) beside a bare Bolt app that only acks.

Run: .venv/bin/python bench/reactions.py [--rates 100,200,300,400,600] [--seconds 5]

Three processes: the Slack emulator (the bot's Web API calls), the bot (`incident-bot serve`), the
bare app; this process signs and sends reaction_added events open-loop at each rate (with ~5% replays
of an already sent event_id, as Slack retries), measures ack latency, then waits for the bot to store
every mark. Lost = marks missing; duplicated = a mark applied more than once (audit rows). Bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
KINDS = ["pushpin", "mag", "bulb", "dart", "bug", "hammer_and_wrench", "white_check_mark", "memo"]
MESSAGES = 120
REPLAY_EVERY = 20  # one replay of an earlier event per 20 events

BARE_APP = """
import sys, uvicorn
from slack_bolt import App
from slack_sdk import WebClient
from slack_bolt.adapter.starlette.handler import SlackRequestHandler
from starlette.applications import Starlette
from starlette.routing import Route
app = App(client=WebClient(token=sys.argv[3], base_url=sys.argv[2]), signing_secret=sys.argv[4],
          token_verification_enabled=False, process_before_response=False)
@app.event("reaction_added")
def on_reaction(): pass
handler = SlackRequestHandler(app)
async def events(request): return await handler.handle(request)
uvicorn.run(Starlette(routes=[Route("/slack/events", events, methods=["POST"])]),
            host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def sign(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + sig,
    }


def envelope(n: int, channel: str, messages: list[str], team: str) -> bytes:
    event = {
        "type": "reaction_added",
        "user": f"UB{n:08d}",
        "item": {"type": "message", "channel": channel, "ts": messages[n % len(messages)]},
        "reaction": KINDS[n % len(KINDS)],
        "event_ts": f"{time.time():.6f}",
    }
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": team,
            "api_app_id": "A1",
            "event": event,
            "event_id": f"EvB{n:09d}",
            "event_time": int(time.time()),
        }
    ).encode()


async def drive(url: str, rate: int, seconds: float, first: int, channel: str, messages: list[str], team: str
                ) -> dict[str, Any]:  # fmt: skip
    """Open-loop load: one request every 1/rate s, whatever the answers; returns latencies and errors."""
    latencies: list[float] = []
    errors = 0
    sent: list[int] = []
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(limits=limits, timeout=10.0, trust_env=False) as client:

        async def one(n: int, replay: bool) -> None:
            nonlocal errors
            body = envelope(n, channel, messages, team)
            headers = sign(body)
            if replay:
                headers.update({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
            t0 = time.perf_counter()
            try:
                r = await client.post(url, content=body, headers=headers)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            if not ok:
                errors += 1

        tasks = []
        total = int(rate * seconds)
        start = time.perf_counter()
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            replay = i % REPLAY_EVERY == REPLAY_EVERY - 1 and sent
            n = sent[-7 if len(sent) > 7 else 0] if replay else first + len(sent)
            if not replay:
                sent.append(n)
            tasks.append(asyncio.create_task(one(n, bool(replay))))
        send_time = time.perf_counter() - start
        await asyncio.gather(*tasks)
    return {
        "latencies": latencies,
        "errors": errors,
        "unique": sent,
        "requests": total,
        "send_time": send_time,
    }


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def db_counts(db: Path) -> tuple[int, int]:
    """(active bench marks, 'mark' audit rows of bench users)."""
    with sqlite3.connect(db, timeout=30) as conn:
        marks = conn.execute("SELECT count(*) FROM timeline_marks WHERE user_id LIKE 'UB%'").fetchone()[0]
        audits = conn.execute(
            "SELECT count(*) FROM timeline_audit WHERE action='mark' AND actor_id LIKE 'UB%'"
        ).fetchone()[0]
    return int(marks), int(audits)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="100,200,300,400,600")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-reactions-"))
    db = tmp / "bot.db"
    emu_port, bot_port, bare_port = free_port(), free_port(), free_port()
    bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
    bare_url = f"http://127.0.0.1:{bare_port}/slack/events"
    api = f"http://127.0.0.1:{emu_port}/api/"
    control = f"http://127.0.0.1:{emu_port}/_emulator"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            [PY, "-m", "slack_emulator", "--port", str(emu_port), "--signing-secret", SECRET, "--bot-token", TOKEN,
             "--request-url", bot_url], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        wait_http(f"{control}/state")
        bot_env = {**env, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api,
                   "DATABASE_URL": f"sqlite:///{db}", "LOG_LEVEL": "WARNING"}  # fmt: skip
        procs.append(subprocess.Popen(
            [PY, "-m", "bot", "serve", "--port", str(bot_port)], cwd=ROOT, env=bot_env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        procs.append(subprocess.Popen(
            [PY, "-c", BARE_APP, str(bare_port), api, TOKEN, SECRET], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        wait_http(f"http://127.0.0.1:{bot_port}/healthz")
        wait_http(f"http://127.0.0.1:{bare_port}/slack/events")

        state = httpx.get(f"{control}/state").json()
        team = state["team_id"]
        user = httpx.post(f"{control}/users", json={"name": "alice"}).json()["result"]
        general = next(c["id"] for c in state["channels"] if c["name"] == "general")
        httpx.post(f"{control}/act/slash_command", json={"user": user, "channel": general,
                                                          "text": "declare sev2 Bench incident"})  # fmt: skip
        channel = ""
        for _ in range(100):
            channel = next((c["id"] for c in httpx.get(f"{control}/state").json()["channels"]
                            if c["name"].startswith("inc-1")), "")  # fmt: skip
            if channel:
                break
            time.sleep(0.1)
        messages = []
        for i in range(MESSAGES):
            d = httpx.post(f"{control}/act/post_message", json={"user": user, "channel": channel,
                                                                 "text": f"bench message {i}"}).json()  # fmt: skip
            messages.append(d["result"]["ts"])
        time.sleep(1.0)

        print(f"reaction events, {args.seconds:.0f} s per rate, {len(messages)} messages, "
              f"1 replay per {REPLAY_EVERY} events; 2 cores shared by load, bot, bare app and emulator\n")  # fmt: skip
        header = (f"{'rate/s':>7} | {'bare p50':>8} {'bare p99':>8} {'err':>4} | {'bot p50':>8} {'bot p99':>8} "
                  f"{'err':>4} {'p99 x':>6} | {'stored/s':>8} {'lag s':>6} {'lost':>5} {'dup':>4}")  # fmt: skip
        print(header)
        print("-" * len(header))
        first = 0
        results = []
        for rate in rates:
            bare = asyncio.run(drive(bare_url, rate, args.seconds, 10**8 + first, channel, messages, team))
            marks_before, audits_before = db_counts(db)
            t0 = time.perf_counter()
            bot = asyncio.run(drive(bot_url, rate, args.seconds, first, channel, messages, team))
            expected = len(bot["unique"])
            deadline = time.perf_counter() + 60
            marks = marks_before
            while time.perf_counter() < deadline:
                marks, audits = db_counts(db)
                if marks - marks_before >= expected:
                    break
                time.sleep(0.05)
            done = time.perf_counter() - t0
            marks, audits = db_counts(db)
            stored = marks - marks_before
            lost = expected - stored
            dup = (audits - audits_before) - stored
            lag = max(0.0, done - bot["send_time"])
            row = {
                "rate": rate, "bare_p50": pct(bare["latencies"], 50), "bare_p99": pct(bare["latencies"], 99),
                "bare_errors": bare["errors"], "bot_p50": pct(bot["latencies"], 50),
                "bot_p99": pct(bot["latencies"], 99), "bot_errors": bot["errors"],
                "stored_per_s": stored / done if done else 0.0, "lag_s": lag, "lost": lost, "duplicated": dup,
            }  # fmt: skip
            results.append(row)
            ratio = row["bot_p99"] / row["bare_p99"] if row["bare_p99"] else float("nan")
            print(f"{rate:>7} | {row['bare_p50']:>6.1f}ms {row['bare_p99']:>6.1f}ms {bare['errors']:>4} | "
                  f"{row['bot_p50']:>6.1f}ms {row['bot_p99']:>6.1f}ms {bot['errors']:>4} {ratio:>5.2f}x | "
                  f"{row['stored_per_s']:>8.0f} {lag:>6.2f} {lost:>5} {dup:>4}")  # fmt: skip
            first += expected + 10
        sustained = [
            r["rate"] for r in results if r["lag_s"] < 1.0 and r["lost"] == 0 and r["bot_errors"] == 0
        ]
        print(f"\nsustained (backlog drained within 1 s, nothing lost, no errors): "
              f"{max(sustained) if sustained else 0} events/s")  # fmt: skip
        print(f"lost {sum(r['lost'] for r in results)}, duplicated {sum(r['duplicated'] for r in results)}")
        print(
            f"mean p99 ratio bot/bare: {statistics.mean(r['bot_p99'] / r['bare_p99'] for r in results):.2f}x"
        )
        (tmp / "results.json").write_text(json.dumps(results, indent=2))
        print(f"raw numbers: {tmp / 'results.json'}")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    raise SystemExit(main())
