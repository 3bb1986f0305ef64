"""Checklist ticks end to end: a signed checkbox click into the real bot (in-process, HTTP) until the
delivery is done (the item's row, its timeline event, the message updated), against the Slack
emulator, on SQLite or PostgreSQL.

Run: .venv/bin/python bench/checklists.py [--items 50] [--rounds 2] [--db postgresql+psycopg://…]

Declares one incident of a type with one checklist of ``--items`` items (posted at declare, as one
message of ``items / 10`` checkbox groups), then ticks and unticks every item ``--rounds`` times,
one click at a time, by three people in turn. Prints click → done p50/p95/max, the declare time
(channel, card, roles filled from a user group, the checklist posted) and a close refused for the
required items, and checks that every click is exactly one timeline event.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from sqlmodel import Session, select  # noqa: E402

from bench.search import databases  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.incidents.checklists import TICK_ACTION  # noqa: E402
from slack_emulator import SlackEmulator  # noqa: E402
from storage.models import Incident, IncidentChecklist, ProcessedEvent, TimelineEvent  # noqa: E402
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for  # noqa: E402


def config(items: int, group: str) -> str:
    listed = ",\n".join(
        f'  {{ text = "Step {n}", required = {"true" if n % 5 == 0 else "false"} }}' for n in range(items)
    )
    return f"""
[types.security]
private = true

[types.security.roles.security_officer]
filled_by = "{group}"

[[types.security.checklists]]
name = "triage"
items = [
{listed}
]
"""


def _done(bot: BotServer, key: str) -> bool:
    with Session(bot.services.engine) as s:
        row = s.get(ProcessedEvent, key)
        return row is not None and row.state == "done"


def _until_done(bot: BotServer, key: str, timeout: float = 60.0) -> None:
    """Poll every 2 ms (the tests' ``wait_for`` polls every 20 ms: too coarse to time a click)."""
    deadline = time.monotonic() + timeout
    while not _done(bot, key):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {key}")
        time.sleep(0.002)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(url: str, items: int, rounds: int, tmp: Path) -> str:
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
    emu.start()
    bot = None
    try:
        people = [emu.add_user(n, n.title()) for n in ("alice", "bob", "carol")]
        general = emu.general_channel_id
        group = emu.add_usergroup("security", "Security", users=people[1:])
        path = tmp / "bot.toml"
        path.write_text(config(items, group))
        settings = load_settings(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=emu.api_url,
            DATABASE_URL=url,
            INCIDENT_OUTPUT_DIR=str(tmp / "out"),
            INCIDENT_BOT_CONFIG=str(path),
        )
        bot = BotServer(settings, transport="http").start().attach(emu)
        engine = bot.services.engine
        t = time.perf_counter()
        d = emu.slash_command(people[0], general, "declare --type security Leaked keys")
        wait_for(lambda: _done(bot, f"cmd:{d.trigger_id}"), what="declare", timeout=60)
        with Session(engine) as s:
            checklist = wait_for(lambda: s.exec(select(IncidentChecklist)).first(), what="checklist")
            inc = s.exec(select(Incident)).one()
        declare_ms = (time.perf_counter() - t) * 1000
        channel = inc.channel_id or ""
        took: list[float] = []
        clicks = 0
        for _ in range(rounds):
            for position in [*range(items), *range(items)]:  # tick all, then untick all
                who = people[clicks % len(people)]
                t = time.perf_counter()
                d = emu.click_button(
                    who, channel, checklist.message_ts or "", TICK_ACTION, value=str(position)
                )
                _until_done(bot, f"action:{d.trigger_id}")
                took.append(time.perf_counter() - t)
                clicks += 1
        t = time.perf_counter()
        d = emu.slash_command(people[0], channel, "close")
        wait_for(lambda: _done(bot, f"cmd:{d.trigger_id}"), what="close", timeout=60)
        close_ms = (time.perf_counter() - t) * 1000
        with Session(engine) as s:
            assert not s.exec(select(Incident)).one().is_closed, "close was not refused"
            ticks = [e for e in s.exec(select(TimelineEvent).where(TimelineEvent.kind == "checklist")).all()]
        events = len([e for e in ticks if "ticked" in e.plain_text])
        assert events == clicks, f"{events} timeline events for {clicks} clicks"
        assert emu.violations == [], emu.violations
        return (
            f"{items} items, {clicks} clicks: click → done p50 {_p(took, 0.5):.1f} ms, p95 {_p(took, 0.95):.1f} ms, "
            f"max {max(took) * 1000:.1f} ms; declare {declare_ms:.0f} ms; close refused (open required items) "
            f"{close_ms:.0f} ms; {events} timeline events"
        )
    finally:
        if bot is not None:
            bot.stop()
        emu.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--db", default="", help="a PostgreSQL server URL (a throw-away database); default SQLite"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, databases(args.db or None, Path(tmp)) as make:
        print(run(make("checklists"), args.items, args.rounds, Path(tmp)))


if __name__ == "__main__":
    main()
