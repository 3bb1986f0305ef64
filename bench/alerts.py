"""An alert storm against one replica: Alertmanager notifications at --rate per second for --seconds
(default 50/s for 30 s) over --groups alert groups (default 100), with repeats, growing groups and
resolves, sent open-loop with a bearer token.

Run: .venv/bin/python bench/alerts.py [--rate 50] [--seconds 30] [--groups 100] [--drain 300]

Processes: the Slack emulator (in this process, Slack's rate-limit tiers ON: 429 + Retry-After past
them) and one bot (`incident-bot serve`, SQLite, a throw-away database). Per group, notification k
(k = 0..steps-1): 1 alert firing, then 2, then 3 (the same alerts again in between: repeats); in
the last two steps even-numbered groups resolve. Reports: intake ack p50/p99/max and errors;
cards per group (must be exactly 1); chat.update calls per group and the shortest interval between
two updates of one group (must be ≥ the 2 s coalescing window); Slack 429s (must be 0: the bot
paces itself); time until every card shows its group's final state (nothing lost).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes.alerts import alert, alertmanager_payload  # noqa: E402
from slack_emulator import SlackEmulator  # noqa: E402

PY = sys.executable
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
BEARER = "bench-alerts-token"


class TimedCalls(list):  # type: ignore[type-arg]
    """The emulator's call log, with the monotonic time of each call beside it."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, call: Any) -> None:
        self.times.append(time.monotonic())
        super().append(call)


def payload(group: int, step: int, steps: int) -> Any:
    size = 1 + min(2, step * 3 // steps)
    resolved = group % 2 == 0 and step >= steps - 2
    alerts = [
        alert(
            f"Storm{group:03d}",
            status="resolved" if resolved else "firing",
            labels={"instance": f"node-{i}", "severity": "warning", "team": "bench"},
            annotations={"summary": f"group {group} is unhappy"},
        )
        for i in range(size)
    ]
    return alertmanager_payload(alerts)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--drain", type=float, default=300, help="seconds to wait for the cards to catch up")
    args = ap.parse_args()
    total = int(args.rate * args.seconds)
    steps = max(3, total // args.groups)

    emu = SlackEmulator(signing_secret=SECRET, bot_token=TOKEN, rate_limits="tiers")
    emu.ws.calls = TimedCalls()
    emu.start()
    triage = emu.add_channel("alerts-triage")
    tmp = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    (tmp / "bot.toml").write_text(
        f'[alerts]\ntriage_channel = "{triage}"\nnew_groups_per_minute = {max(30, args.groups)}\n',
        encoding="utf-8",
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "ALERTS_"))}
    env.update(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=f"sqlite:///{tmp / 'bot.db'}",
        INCIDENT_BOT_CONFIG=str(tmp / "bot.toml"),
        INCIDENT_OUTPUT_DIR=str(tmp / "docs"),
        ALERTS_BEARER_TOKEN=BEARER,
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
        deadline = time.monotonic() + 60
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

        bodies = [
            payload(i % args.groups, i // args.groups, steps).model_dump_json().encode() for i in range(total)
        ]
        latencies: list[float] = []
        statuses: dict[int, int] = defaultdict(int)
        lock = threading.Lock()
        local = threading.local()

        def send(body: bytes) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=10)
            headers = {"Authorization": f"Bearer {BEARER}", "Content-Type": "application/json"}
            started = time.perf_counter()
            try:
                status = client.post(f"{base}/alerts/alertmanager", content=body, headers=headers).status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1

        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=32) as pool:
            for i, body in enumerate(bodies):
                delay = t0 + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, body)
        sent_for = time.monotonic() - t0
        print(
            f"sent {total} notifications in {sent_for:.1f} s ({total / sent_for:.1f}/s) over {args.groups} groups"
        )

        # Expected final card per group: 3 alerts; even groups resolved.
        def converged() -> tuple[int, int]:
            db = sqlite3.connect(tmp / "bot.db")
            rows = db.execute(
                "SELECT group_key, card_ts, version, shown_version FROM alert_groups"
            ).fetchall()
            db.close()
            ok = 0
            for _key, ts, version, shown in rows:
                msg = emu.message(triage, ts) if ts and ts != "posting" else None
                if msg is not None and shown >= version:
                    ok += 1
            return ok, len(rows)

        drained_at = None
        end = time.monotonic() + args.drain
        while time.monotonic() < end:
            ok, n = converged()
            if n == args.groups and ok == n:
                drained_at = time.monotonic()
                break
            time.sleep(0.5)
        ok, n = converged()

        cards = [m for m in emu.messages(triage) if m.get("blocks")]
        per_group: dict[str, int] = defaultdict(int)
        for m in cards:
            per_group[m["text"].split("] ", 1)[1].split(":")[0]] += 1
        final_ok = 0
        for m in cards:
            name = m["text"].split("] ", 1)[1].split(":")[0]
            g = int(name.removeprefix("Storm"))
            expect = "[RESOLVED]" if g % 2 == 0 else "[FIRING]"
            final_ok += m["text"].startswith(expect) and "3 " in m["text"].split("—")[1]
        calls = list(zip(emu.ws.calls.times, emu.ws.calls, strict=True))
        updates: dict[str, list[float]] = defaultdict(list)
        for at, call in calls:
            if call.method == "chat.update" and call.ok:
                updates[str(call.args.get("ts"))].append(at)
        gaps = [b - a for times in updates.values() for a, b in itertools.pairwise(times)]
        limited = [c for _, c in calls if c.http_status == 429]

        print(f"intake acks: p50 {pct(latencies, 50) * 1000:.1f} ms, p99 {pct(latencies, 99) * 1000:.1f} ms, "
              f"max {max(latencies) * 1000:.1f} ms; statuses {dict(statuses)}")  # fmt: skip
        print(f"groups stored {n}/{args.groups}; cards posted {len(cards)}; groups with more than one card "
              f"{sum(1 for v in per_group.values() if v > 1)}")  # fmt: skip
        print(f"chat.update calls {sum(len(v) for v in updates.values())} "
              f"(max {max((len(v) for v in updates.values()), default=0)} per group); shortest interval "
              f"between two updates of one group {min(gaps, default=float('nan')):.2f} s")  # fmt: skip
        print(f"Slack 429 answers: {len(limited)} ({sorted({c.method for c in limited})})")
        if drained_at is not None:
            print(f"every card current {drained_at - t0 - sent_for:.1f} s after the last notification; "
                  f"cards showing the expected final state: {final_ok}/{args.groups}")  # fmt: skip
        else:
            print(f"NOT drained within {args.drain:.0f} s: {ok}/{n} cards current")
        good = (
            statuses.get(200, 0) == total
            and len(cards) == args.groups
            and all(v == 1 for v in per_group.values())
            and not limited
            and drained_at is not None
            and final_ok == args.groups
            and min(gaps, default=9) >= 2.0
            and pct(latencies, 99) <= 0.050
        )
        print("PASS" if good else "FAIL")
        return 0 if good else 1
    finally:
        bot.terminate()
        try:
            bot.wait(timeout=15)
        except subprocess.TimeoutExpired:
            bot.kill()
        emu.stop()


if __name__ == "__main__":
    raise SystemExit(main())
