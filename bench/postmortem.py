"""Investigation-document generation at scale (issue 6).

`.venv/bin/python bench/postmortem.py [--sizes 1000,10000,50000] [--cases live,gap,backfill]`

Each (size, case) runs in its own subprocess, so peak RSS is that run's own. A channel of N messages
(5% of them thread replies, 500 of them marked with reactions) is built, then the document is
generated through the Slack emulator and the real services:

- live: the channel is recorded in the database (seeded directly) and a heartbeat covers it all;
- gap: the emulator holds the channel, the database the first 80% (the bot was down for the rest);
- backfill: nothing recorded, emulator rate limits "2025" on a simulated clock.

Reports wall time of `generate`, peak RSS (process, and growth during generate), Web API calls, the
name lookups of the document (one `users.info` per distinct person, one `conversations.info` per
distinct label-less channel mention; every 11th message mentions a person and a channel), and
history + replies calls ÷ the minimum that reads the gap (ceil(messages / page) + threads with
replies in it); the target is at most 1.1.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGNING_SECRET = "bench-signing-secret-0123456789"
BOT_TOKEN = "xoxb-bench-bot-token-0123456789"
EVENTS = 500
KINDS = {
    "pushpin": "timeline", "mag": "finding", "bulb": "hypothesis", "dart": "root_cause", "bug": "error",
    "hammer_and_wrench": "fix", "white_check_mark": "verification", "memo": "action_item",
    "mortar_board": "lesson", "repeat": "reproduction", "question": "open_question", "rotating_light": "impact",
}  # fmt: skip


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_channel(n: int, users: list[str], start: float, channels: list[str]) -> list[dict[str, Any]]:
    """Messages oldest first: 95% top level, 5% replies in threads of 5, 500 carrying a reaction."""
    rng = random.Random(n)
    msgs: list[dict[str, Any]] = []
    parents: list[str] = []
    replies_left = int(n * 0.05)
    for i in range(n):
        ts = f"{int(start) + i * 2}.{i % 1_000_000:06d}"
        text = f"message {i}: checked shard {rng.randint(1, 64)} — p99 {rng.randint(10, 900)} ms"
        if i % 7 == 0:
            text += f"\n```grep -c ERROR /var/log/app-{i}.log 2>&amp;1```"
        if i % 11 == 0:  # people and channels mentioned: names resolved once per distinct id
            text += f" cc <@{rng.choice(users)}> in <#{rng.choice(channels)}> *now* :eyes:"
        msg: dict[str, Any] = {"type": "message", "user": rng.choice(users), "text": text, "ts": ts}
        if replies_left and parents and i % 20 == 0:
            msg["thread_ts"] = parents[-1 - (i // 20) % min(len(parents), 100)]
            replies_left -= 1
        elif i % 100 == 0:
            parents.append(ts)
        msgs.append(msg)
    marked = rng.sample(range(n), min(EVENTS, n))
    emojis = list(KINDS)
    for j, idx in enumerate(sorted(marked)):
        msgs[idx]["reactions"] = [{"name": emojis[j % len(emojis)], "users": [msgs[idx]["user"]], "count": 1}]
    return msgs


def emu_channel_ids(emu: Any) -> list[str]:
    with emu.ws.lock:
        return sorted(emu.ws.channels)[:3]


def run_case(size: int, case: str) -> dict[str, Any]:
    from sqlalchemy import insert
    from sqlmodel import Session

    from bot.config import load_settings
    from bot.serve import prepare
    from bot.timeline import capture
    from slack_emulator import SlackEmulator
    from storage.models import ChannelMessage, Incident, TimelineEvent, TimelineMark, utcnow

    limits = {"rate_limits": "2025", "rate_limit_clock": "simulated"} if case == "backfill" else {}
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, **limits)  # type: ignore[arg-type]
    emu.start()
    tmp = tempfile.TemporaryDirectory(prefix="bench-postmortem-")
    try:
        users = [emu.add_user(f"user{i}", f"User {i}") for i in range(20)]
        channel = emu.add_channel("inc-1-bench", members=[*users, emu.bot_user_id])
        settings = load_settings(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=emu.api_url,
            DATABASE_URL=f"sqlite:///{tmp.name}/bench.db",
            INCIDENT_OUTPUT_DIR=f"{tmp.name}/out",
        )
        services = prepare(settings).services
        repo = services.repo
        now = utcnow()
        created = now - timedelta(days=3)
        start = created.timestamp() + 60
        msgs = build_channel(size, users, start, [channel, *emu_channel_ids(emu)])
        pending = repo.create_pending_incident(
            Incident(number=0, title="Bench incident", declarer_id=users[0], created_at=created)
        )
        assert pending.id is not None
        incident = repo.update_incident(
            pending.id, channel_id=channel, channel_name="inc-1-bench", state="active"
        )
        cut = size if case == "live" else int(size * 0.8) if case == "gap" else 0
        if case != "live":
            ch = emu.ws.channels[channel]
            with emu.ws.lock:
                for m in msgs:
                    m2 = {k: v for k, v in m.items() if k != "thread_ts"}
                    m2["team"] = emu.team_id
                    emu.ws.add_message(ch, m2, m.get("thread_ts"), False)  # lists top-level ones too
        recorded = msgs[:cut]
        with Session(services.engine) as s:
            if recorded:
                s.execute(
                    insert(ChannelMessage),
                    [capture.message_row(channel, m).model_dump(exclude={"id"}) for m in recorded],
                )
                s.commit()
            for m in recorded:
                for r in m.get("reactions", []):
                    ev = TimelineEvent(
                        incident_id=incident.id,
                        at=capture.ts_to_datetime(m["ts"]),
                        source="reaction",
                        kind=KINDS[r["name"]],
                        text=m["text"],
                        plain_text=m["text"],
                        author_id=m["user"],
                        message_ts=m["ts"],
                        thread_ts=m.get("thread_ts"),
                        permalink=f"https://bench.slack.test/archives/{channel}/p{m['ts'].replace('.', '')}",
                    )
                    s.add(ev)
                    s.flush()
                    assert ev.id is not None
                    s.add(TimelineMark(event_id=ev.id, kind=ev.kind, reaction=r["name"], user_id=m["user"]))
            s.commit()
        if case == "live":
            repo.beat("bench-live", now=created)
            repo.beat("bench-live", now=utcnow())
        elif case == "gap":
            gap_start = capture.ts_to_datetime(msgs[cut]["ts"])
            repo.beat("bench-before", now=created)
            repo.beat("bench-before", now=gap_start - timedelta(seconds=1), stopped=True)
            repo.beat("bench-now", now=utcnow())
        emu.reset_calls()
        before = rss_mb()
        t0 = time.perf_counter()
        doc = services.postmortem.generate(incident.id, draft=False, requested_by=None, request_key=None)
        wall = time.perf_counter() - t0
        calls = Counter(c.method for c in emu.calls)
        threads = emu.ws.channels[channel].threads
        gap_threads = len({m["thread_ts"] for m in msgs[cut:] if m.get("thread_ts") in threads})
        page = 15 if case == "backfill" else services.settings.config.history_page_size
        unread = size - cut
        # The fewest history + replies calls that can read the gap: its messages a page at a time,
        # plus one call per thread with replies (a thread's replies are not in the history pages).
        minimum = -(-unread // page) + gap_threads if case != "live" else 0
        read_calls = calls["conversations.history"] + calls["conversations.replies"]
        return {
            "size": size,
            "case": case,
            "wall_s": round(wall, 2),
            "rss_peak_mb": round(rss_mb(), 1),
            "rss_growth_mb": round(rss_mb() - before, 1),
            "calls": dict(sorted(calls.items())),
            "name_lookups": {
                "users.info": services.postmortem.last_directory.user_lookups,
                "conversations.info": services.postmortem.last_directory.channel_lookups,
            },
            "history_pages_needed": -(-unread // page) if case != "live" else 0,
            "threads_in_gap": gap_threads,
            "read_calls": read_calls,
            "read_calls_per_minimum": round(read_calls / minimum, 3) if minimum else None,
            "simulated_wait_min": round(emu.simulated_wait_seconds / 60, 1),
            "doc_chars": len(doc.markdown),
            "missing": doc.missing_sections,
        }
    finally:
        emu.stop()
        tmp.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--cases", default="live,gap,backfill")
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=900, help="per run, seconds")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(int(args.one[0]), args.one[1])))
        return 0
    rows = []
    for case in args.cases.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            try:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", str(size), case],
                    capture_output=True,
                    text=True,
                    timeout=args.timeout,
                    check=True,
                )
                row = json.loads(out.stdout.strip().splitlines()[-1])
            except subprocess.CalledProcessError as exc:
                row = {"size": size, "case": case, "error": exc.stderr.strip().splitlines()[-1:]}
            except subprocess.TimeoutExpired:
                row = {"size": size, "case": case, "error": f"timed out after {args.timeout:.0f}s"}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
