"""Reaction events over HTTP at increasing rates: the bot beside a bare Bolt app that only acks.

Run: .venv/bin/python bench/reactions.py [--rates 100,200,300,400,600] [--seconds 5]
                                         [--bot-root DIR ...] [--profile DIR]

Processes: the Slack emulator (the bot's Web API calls), one bot (`incident-bot serve`, SQLite, its own
throw-away database) per ``--bot-root`` (a checkout of the code: give two to compare before/after in
one run), and the bare app. This process signs and sends reaction_added events open-loop at each rate
(with ~5% replays of an already sent event_id, as Slack retries), measures ack latency, then waits for
each bot to store every mark. Lost = marks missing; duplicated = a mark applied more than once (audit
rows). ``--profile DIR`` runs each bot under py-spy (collapsed stacks in DIR). Bounded: every rate
sends for ``--seconds`` and waits at most 60 s for the backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cpu_budget import CpuBudget

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
KINDS = ["pushpin", "mag", "bulb", "dart", "bug", "hammer_and_wrench", "white_check_mark", "memo"]
MESSAGES = 120
REPLAY_EVERY = 20  # one replay of an earlier event per 20 events
DRAIN_LIMIT_S = 60.0

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
@app.event("message")
def on_message(): pass
@app.command("/incident")
def on_command(ack): ack()
handler = SlackRequestHandler(app)
async def events(request): return await handler.handle(request)
uvicorn.run(Starlette(routes=[Route("/slack/events", events, methods=["POST"])]),
            host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def sign(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + sig}


def reaction_body(n: int, channel: str, messages: list[str], team: str) -> bytes:
    event = {
        "type": "reaction_added",
        "user": f"UB{n:08d}",
        "item": {"type": "message", "channel": channel, "ts": messages[n % len(messages)]},
        "reaction": KINDS[n % len(KINDS)],
        "event_ts": f"{time.time():.6f}",
    }
    return event_envelope(event, f"EvB{n:09d}", team)


def event_envelope(event: dict[str, Any], event_id: str, team: str) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": team,
            "api_app_id": "A1",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
        }
    ).encode()


@dataclass
class Drive:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    requests: int = 0
    send_time: float = 0.0
    unique: list[int] = field(default_factory=list)


# (sequence number, is a replay) -> (url, body, headers)
Request = Callable[[int, bool], tuple[str, bytes, dict[str, str]]]


async def drive(request: Request, rate: int, seconds: float, first: int) -> Drive:
    """Open-loop load: one request every 1/rate s whatever the answers (1 in REPLAY_EVERY a replay)."""
    out = Drive()
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(limits=limits, timeout=10.0, trust_env=False) as client:

        async def one(n: int, replay: bool) -> None:
            url, body, headers = request(n, replay)
            if replay:
                headers = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            t0 = time.perf_counter()
            try:
                r = await client.post(url, content=body, headers=headers)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            out.latencies.append(time.perf_counter() - t0)
            out.errors += 0 if ok else 1

        tasks = []
        out.requests = int(rate * seconds)
        start = time.perf_counter()
        for i in range(out.requests):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            replay = bool(i % REPLAY_EVERY == REPLAY_EVERY - 1 and out.unique)
            n = out.unique[-7 if len(out.unique) > 7 else 0] if replay else first + len(out.unique)
            if not replay:
                out.unique.append(n)
            tasks.append(asyncio.create_task(one(n, replay)))
        out.send_time = time.perf_counter() - start
        await asyncio.gather(*tasks)
    return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


class Stack:
    """The emulator, bots and the bare app as subprocesses; everything stops on close()."""

    def __init__(self, tmp: Path, delivery_mode: str = "round_robin") -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pids: dict[str, int] = {}
        self.budgets: dict[str, CpuBudget] = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
        self.env.pop("DATABASE_URL", None)
        port = free_port()
        self.api = f"http://127.0.0.1:{port}/api/"
        self.control = f"http://127.0.0.1:{port}/_emulator"
        self.spawn(
            [PY, "-m", "slack_emulator", "--port", str(port), "--signing-secret", SECRET,
             "--bot-token", TOKEN, "--delivery-mode", delivery_mode], ROOT, "emulator",
        )  # fmt: skip
        wait_http(f"{self.control}/state")
        self.team = str(httpx.get(f"{self.control}/state").json()["team_id"])

    def spawn(self, cmd: list[str], cwd: Path, name: str, env: dict[str, str] | None = None) -> None:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115
        self.procs.append(
            subprocess.Popen(cmd, cwd=cwd, env=env or self.env, stdout=log, stderr=subprocess.STDOUT)
        )

    def bot(
        self, root: Path, database_url: str, name: str, profile: Path | None = None, cpus: float | None = None
    ) -> str:
        """Start `incident-bot serve` from the code in ``root``; its /slack/events URL.

        ``cpus``: run it within that CPU budget (its own cgroup, see cpu_budget.py)."""
        port = free_port()
        env = {**self.env, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": self.api, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
               "INCIDENT_OUTPUT_DIR": str(self.tmp / f"{name}-docs")}  # fmt: skip
        cmd = [PY, "-m", "bot", "serve", "--port", str(port)]
        if profile is not None:
            spy = shutil.which("py-spy", path=str(Path(PY).parent)) or "py-spy"
            cmd = [spy, "record", "--nonblocking", "-r", "50", "-f", "raw", "-o", str(profile / f"{name}.txt"),
                   "--", *cmd]  # fmt: skip
        self.spawn(cmd, root, name, env)
        url = f"http://127.0.0.1:{port}/slack/events"
        self.pids[url] = self.procs[-1].pid
        if cpus is not None:
            budget = CpuBudget(f"incident-bot-bench-{name}-{port}", cpus)
            self.budgets[url] = budget
            budget.add(self.procs[-1].pid)
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        return url

    def bare(self) -> str:
        port = free_port()
        self.spawn([PY, "-c", BARE_APP, str(port), self.api, TOKEN, SECRET], ROOT, "bare")
        url = f"http://127.0.0.1:{port}/slack/events"
        self.pids[url] = self.procs[-1].pid
        wait_http(url)
        return url

    def act(self, action: str, **args: Any) -> dict[str, Any]:
        return dict(httpx.post(f"{self.control}/act/{action}", json=args, timeout=30).json())

    def route(self, urls: list[str]) -> None:
        httpx.put(f"{self.control}/request_urls", json={"urls": urls})

    def channel_ids(self) -> dict[str, str]:
        return {c["name"]: c["id"] for c in httpx.get(f"{self.control}/state").json()["channels"]}

    def user(self, name: str) -> str:
        return str(httpx.post(f"{self.control}/users", json={"name": name}).json()["result"])

    def declare(self, urls: list[str], user: str, title: str) -> str:
        """Declare through `urls` with /incident in #general; the new incident channel's id."""
        self.route(urls)
        before = set(self.channel_ids().values())
        self.act(
            "slash_command", user=user, channel=self.channel_ids()["general"], text=f"declare sev2 {title}"
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            new = [
                cid
                for name, cid in self.channel_ids().items()
                if cid not in before and name.startswith("inc-")
            ]
            if new:
                return new[0]
            time.sleep(0.1)
        raise RuntimeError("the incident channel did not appear")

    def close(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT; the rest exit cleanly
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for budget in self.budgets.values():
            budget.close()


def sqlite_counts(db: Path) -> tuple[int, int]:
    """(bench marks, 'mark' audit rows of bench users)."""
    with sqlite3.connect(db, timeout=30) as conn:
        marks = conn.execute("SELECT count(*) FROM timeline_marks WHERE user_id LIKE 'UB%'").fetchone()[0]
        audits = conn.execute(
            "SELECT count(*) FROM timeline_audit WHERE action='mark' AND actor_id LIKE 'UB%'"
        ).fetchone()[0]
    return int(marks), int(audits)


@dataclass
class Target:
    label: str
    url: str
    db: Path
    channel: str
    messages: list[str]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="100,200,300,400,600")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--bot-root", action="append", type=Path, help="code to run the bot from (repeatable)")
    ap.add_argument("--profile", type=Path, help="run each bot under py-spy, collapsed stacks here")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    roots: list[Path] = [r.resolve() for r in args.bot_root or [ROOT]]
    tmp = Path(tempfile.mkdtemp(prefix="bench-reactions-"))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    stack = Stack(tmp)
    try:
        bare_url = stack.bare()
        user = stack.user("alice")
        targets = []
        for i, root in enumerate(roots):
            label = root.name if len(roots) > 1 else "bot"
            db = tmp / f"bot{i}.db"
            url = stack.bot(root, f"sqlite:///{db}", f"bot{i}", args.profile)
            channel = stack.declare([url], user, f"Bench incident {i}")
            messages = [
                stack.act("post_message", user=user, channel=channel, text=f"bench message {m}")["result"][
                    "ts"
                ]
                for m in range(MESSAGES)
            ]
            targets.append(Target(label, url, db, channel, messages))
        time.sleep(1.0)

        print(f"reaction events, {args.seconds:.0f} s per rate, {MESSAGES} messages, 1 replay per "
              f"{REPLAY_EVERY} events; 2 shared cores run the load, the bots, the bare app and the emulator\n")  # fmt: skip
        header = (f"{'bot':>12} {'rate/s':>7} | {'bare p50':>8} {'bare p99':>8} | {'bot p50':>8} {'bot p99':>8} "
                  f"{'err':>4} {'p99 x':>6} | {'stored/s':>8} {'lag s':>6} {'lost':>5} {'dup':>4}")  # fmt: skip
        print(header)
        print("-" * len(header))
        first = 0
        results = []
        for rate in rates:
            for t in targets:

                def to(url: str, t: Target = t) -> Request:
                    return lambda n, _r: (
                        url,
                        body := reaction_body(n, t.channel, t.messages, stack.team),
                        sign(body),
                    )

                bare = asyncio.run(drive(to(bare_url), rate, args.seconds, 10**8 + first))
                marks_before, audits_before = sqlite_counts(t.db)
                t0 = time.perf_counter()
                bot = asyncio.run(drive(to(t.url), rate, args.seconds, first))
                expected = len(bot.unique)
                deadline = time.perf_counter() + DRAIN_LIMIT_S
                while time.perf_counter() < deadline and sqlite_counts(t.db)[0] - marks_before < expected:
                    time.sleep(0.05)
                done = time.perf_counter() - t0
                marks, audits = sqlite_counts(t.db)
                stored = marks - marks_before
                row = {
                    "bot": t.label, "rate": rate,
                    "bare_p50": pct(bare.latencies, 50), "bare_p99": pct(bare.latencies, 99),
                    "bare_errors": bare.errors, "bot_p50": pct(bot.latencies, 50), "bot_p99": pct(bot.latencies, 99),
                    "bot_errors": bot.errors, "stored_per_s": stored / done if done else 0.0,
                    "lag_s": max(0.0, done - bot.send_time), "lost": expected - stored,
                    "duplicated": (audits - audits_before) - stored,
                }  # fmt: skip
                results.append(row)
                ratio = row["bot_p99"] / row["bare_p99"] if row["bare_p99"] else float("nan")
                print(f"{t.label:>12} {rate:>7} | {row['bare_p50']:>6.1f}ms {row['bare_p99']:>6.1f}ms | "
                      f"{row['bot_p50']:>6.1f}ms {row['bot_p99']:>6.1f}ms {bot.errors:>4} {ratio:>5.2f}x | "
                      f"{row['stored_per_s']:>8.0f} {row['lag_s']:>6.2f} {row['lost']:>5} {row['duplicated']:>4}",
                      flush=True)  # fmt: skip
                first += expected + 10
        for t in targets:
            mine = [r for r in results if r["bot"] == t.label]
            sustained = [
                r["rate"] for r in mine if r["lag_s"] < 1.0 and r["lost"] == 0 and r["bot_errors"] == 0
            ]
            print(f"\n{t.label}: sustained (backlog drained within 1 s, nothing lost, no errors): "
                  f"{max(sustained) if sustained else 0} events/s; lost {sum(r['lost'] for r in mine)}, "
                  f"duplicated {sum(r['duplicated'] for r in mine)}")  # fmt: skip
        (tmp / "results.json").write_text(json.dumps(results, indent=2))
        print(f"raw numbers and process logs: {tmp}")
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    raise SystemExit(main())
