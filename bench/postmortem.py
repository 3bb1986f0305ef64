"""Investigation-document generation at scale (issue 6).

`.venv/bin/python bench/postmortem.py [--sizes 1000,10000,50000] [--cases live,gap,backfill] [--limits tiers]
[--bot-root DIR ...]`

``--bot-root`` (repeatable) measures another checkout's code with this script and this venv (the
dependencies must match): e.g. ``--bot-root /work/main --bot-root .`` for before and after in one run.

Each (size, case) runs in its own subprocess, so peak RSS is that run's own. A channel of N messages
(5% of them thread replies, 500 of them marked with reactions) is built, then the document is
generated through the Slack emulator and the real services:

- live: the channel is recorded in the database (seeded directly) and a heartbeat covers it all;
- gap: the emulator holds the channel, the database the first 80% (the bot was down for the rest);
- backfill: nothing recorded, emulator rate limits "2025" on a simulated clock;
- restart: the gap case at a restart: 3 000 recorded, 300 of them on the timeline (confirmed by the
  bot's reaction); while the bot was down 100 new messages, 40 new pins (📌 reactions), 20 pins
  removed, 20 edits, replies in 5 threads;
- burst: 200 📌 reactions captured live within a minute (the confirmations' cost).

``--limits tiers`` runs every case under the emulator's Slack tiers on its simulated clock and
reports the simulated time to a complete timeline (the catch-up's real time plus the waits Slack's
limits would have imposed; a wait is a 429 avoided).

Reports wall time of `generate`, peak RSS (process, and growth during generate), Web API calls, the
name lookups of the document (one `users.info` per distinct person, one `conversations.info` per
distinct label-less channel mention; every 11th message mentions a person and a channel), and
history + replies calls ÷ the minimum that reads the gap (ceil(messages / page) + threads with
replies in it); the target is at most 1.1.
"""

from __future__ import annotations

import argparse
import json
import os
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

ROOT = Path(os.environ.get("BENCH_BOT_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))  # the code measured: this checkout, or --bot-root's

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


def downtime(
    emu: Any, channel: str, msgs: list[dict[str, Any]], cut: int, users: list[str]
) -> dict[str, int]:
    """The restart case's changes while the bot was down, on messages recorded before (by the
    emulator's own user actions): pins added and removed, edits, replies in five old threads."""
    rng = random.Random(7)
    old_marked = [m for m in msgs[:cut] if m.get("reactions") and not m.get("thread_ts")]
    old_plain = [m for m in msgs[:cut] if not m.get("reactions") and not m.get("thread_ts")]
    new_plain = [m for m in msgs[cut:] if not m.get("reactions") and not m.get("thread_ts")]
    for m in rng.sample(old_marked, 20):
        r = m["reactions"][0]
        emu.remove_reaction(r["users"][0], channel, m["ts"], r["name"])
    for m in rng.sample(new_plain, 20) + rng.sample(old_plain[-500:], 20):
        emu.add_reaction(rng.choice(users), channel, m["ts"], "pushpin")
    for m in rng.sample(old_plain, 20):
        emu.edit_message(m["user"], channel, m["ts"], m["text"] + " (edited)")
    roots = [m["ts"] for m in msgs[:cut] if not m.get("thread_ts")][-400::80]
    for root in roots:
        emu.post_message(rng.choice(users), channel, "late reply", thread_ts=root)
    return {"pins_added": 40, "pins_removed": 20, "edits": 20, "threads_touched": len(roots)}


def run_case(size: int, case: str, limits: str | None = None) -> dict[str, Any]:
    from sqlalchemy import insert
    from sqlmodel import Session

    from bot.config import load_settings
    from bot.serve import prepare
    from bot.timeline import capture
    from slack_emulator import SlackEmulator
    from storage.models import ChannelMessage, Incident, TimelineEvent, TimelineMark, utcnow

    profile = limits or ("2025" if case == "backfill" else "off")
    emu = SlackEmulator(
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        rate_limits=profile,
        rate_limit_clock="simulated" if profile != "off" else "real",
    )
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
        if case == "restart":  # 100 messages after the recorded ones, none marked yet
            msgs = msgs + [
                {k: v for k, v in m.items() if k != "reactions"}
                for m in build_channel(100, users, start + size * 2, [channel])
            ]
            for i, m in enumerate(msgs[size:]):
                m["ts"] = f"{int(start) + (size + i) * 2}.{(size + i) % 1_000_000:06d}"
                m.pop("thread_ts", None)
        pending = repo.create_pending_incident(
            Incident(number=0, title="Bench incident", declarer_id=users[0], created_at=created)
        )
        assert pending.id is not None
        incident = repo.update_incident(
            pending.id, channel_id=channel, channel_name="inc-1-bench", state="active"
        )
        cut = {"live": size, "burst": size, "gap": int(size * 0.8), "restart": size}.get(case, 0)
        recorded = msgs[:cut]
        if case == "restart":  # the bot had confirmed what it captured
            for m in recorded:
                if m.get("reactions"):
                    m["reactions"] = [
                        *m["reactions"],
                        {"name": "inbox_tray", "users": [emu.bot_user_id], "count": 1},
                    ]
        if case != "live":
            ch = emu.ws.channels[channel]
            with emu.ws.lock:
                for m in msgs:
                    m2 = {k: v for k, v in m.items() if k != "thread_ts"}
                    m2["team"] = emu.team_id
                    emu.ws.add_message(ch, m2, m.get("thread_ts"), False)  # lists top-level ones too
        with Session(services.engine) as s:
            if recorded:
                s.execute(
                    insert(ChannelMessage),
                    [capture.message_row(channel, m).model_dump(exclude={"id"}) for m in recorded],
                )
                s.commit()
            for m in recorded:
                for r in [r for r in m.get("reactions", []) if r["name"] in KINDS]:
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
        # The changes made while no bot ran (the restarted one beats from after them).
        changes = downtime(emu, channel, msgs, cut, users) if case == "restart" else {}
        if case in ("live", "burst"):
            repo.beat("bench-live", now=created)
            repo.beat("bench-live", now=utcnow())
        elif case in ("gap", "restart"):
            gap_start = capture.ts_to_datetime(msgs[cut]["ts"])
            repo.beat("bench-before", now=created)
            repo.beat("bench-before", now=gap_start - timedelta(seconds=1), stopped=True)
            repo.beat("bench-now", now=utcnow())
        emu.reset_calls()
        emu.limiter.reset()
        waited0 = emu.simulated_wait_seconds
        before = rss_mb()
        assert incident.id is not None
        timeline = services.timeline
        t0 = time.perf_counter()
        if case == "burst":
            marked = [m for m in msgs if not m.get("reactions") and not m.get("thread_ts")][:200]
            for i, m in enumerate(marked):
                timeline.on_reaction(incident, m["ts"], "pushpin", users[i % 20], True, m["ts"])
            for ch_id in list(timeline.confirmer._pending):
                timeline.confirmer.flush(ch_id)
        else:
            timeline.reconcile(incident)
        catch_up_s = time.perf_counter() - t0
        catch_up_calls = Counter(c.method for c in emu.calls)
        # Exact: the messages shown on the timeline are those carrying a kind reaction in Slack now.
        with emu.ws.lock:
            in_slack = list(emu.ws.channels[channel].msgs.values())
        expected = {
            m["ts"]
            for m in in_slack
            if any(r["name"] in KINDS and set(r["users"]) - {emu.bot_user_id} for r in m.get("reactions", []))
        }
        shown = {e.message_ts for e in repo.timeline(incident.id) if e.message_ts}
        catch_up_wait = emu.simulated_wait_seconds - waited0
        repo.beat("bench-now" if case in ("gap", "restart") else "bench-live", now=utcnow())  # still alive
        emu.reset_calls()
        t1 = time.perf_counter()
        doc = services.postmortem.generate(incident.id, draft=False, requested_by=None, request_key=None)
        wall = time.perf_counter() - t1
        calls = Counter(c.method for c in emu.calls)
        threads = emu.ws.channels[channel].threads
        gap_threads = len({m["thread_ts"] for m in msgs[cut:] if m.get("thread_ts") in threads})
        gap_threads += changes.get("threads_touched", 0)
        page = services.settings.config.history_page_size if profile != "2025" else 15
        unread = len(msgs) - cut
        # The fewest reads of the gap alone: its messages a page at a time, plus one call per thread
        # with replies in it. An exact timeline also needs the state of the messages recorded before
        # the gap that are on the timeline: the window from the oldest of those is the minimum the
        # target is counted against (every method: reads, reactions, the confirmation message).
        gap_minimum = -(-unread // page) + gap_threads if case not in ("live", "burst") else 0
        top_level = [m for m in msgs if not m.get("thread_ts")]
        oldest = (
            next((m["ts"] for m in msgs[:cut] if m.get("reactions")), msgs[0]["ts"]) if cut else msgs[0]["ts"]
        )
        in_window = [m for m in top_level if float(m["ts"]) >= float(oldest)] if cut else top_level
        window_minimum = -(-len(in_window) // page) + gap_threads if case not in ("live", "burst") else 0
        n_calls = sum(catch_up_calls.values())
        return {
            "size": size,
            "case": case,
            "limits": profile,
            "catch_up_calls": dict(sorted(catch_up_calls.items())),
            "catch_up_total": n_calls,
            "gap_minimum": gap_minimum,
            "window_minimum": window_minimum,
            "calls_per_window_minimum": round(n_calls / window_minimum, 3) if window_minimum else None,
            "catch_up_real_s": round(catch_up_s, 2),
            "catch_up_simulated_wait_s": round(catch_up_wait, 1),
            "time_to_complete_timeline_s": round(catch_up_s + catch_up_wait, 1),
            "changes_while_down": changes,
            # live and burst: the reactions are the seeded / driven ones, not the emulator's
            "timeline_exact": shown == expected if case not in ("live", "burst") else None,
            "timeline_missing": len(expected - shown) if case not in ("live", "burst") else None,
            "wall_s": round(wall, 2),
            "rss_peak_mb": round(rss_mb(), 1),
            "rss_growth_mb": round(rss_mb() - before, 1),
            "document_calls": dict(sorted(calls.items())),
            "name_lookups": {
                "users.info": services.postmortem.last_directory.user_lookups,
                "conversations.info": services.postmortem.last_directory.channel_lookups,
            },
            "history_pages_needed": -(-unread // page) if case not in ("live", "burst") else 0,
            "threads_in_gap": gap_threads,
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
    parser.add_argument(
        "--limits", choices=("off", "tiers", "2025"), help="emulator rate limits (simulated clock)"
    )
    parser.add_argument(
        "--bot-root",
        action="append",
        type=Path,
        help="a checkout whose code is measured (repeatable: before and after in one run; default this one)",
    )
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(int(args.one[0]), args.one[1], args.limits)))
        return 0
    rows = []
    roots = [r.resolve() for r in args.bot_root] if args.bot_root else [ROOT]
    for case in args.cases.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            for root in roots:
                env = {**os.environ, "BENCH_BOT_ROOT": str(root)}
                try:
                    out = subprocess.run(
                        [sys.executable, __file__, "--one", str(size), case]
                        + (["--limits", args.limits] if args.limits else []),
                        capture_output=True,
                        text=True,
                        timeout=args.timeout,
                        check=True,
                        env=env,
                        cwd=root,
                    )
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                except subprocess.CalledProcessError as exc:
                    row = {"size": size, "case": case, "error": exc.stderr.strip().splitlines()[-1:]}
                except subprocess.TimeoutExpired:
                    row = {"size": size, "case": case, "error": f"timed out after {args.timeout:.0f}s"}
                row["bot_root"] = str(root)
                print(json.dumps(row), flush=True)
                rows.append(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
