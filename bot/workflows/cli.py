"""`incident-bot workflows check FILE` and `incident-bot workflows try [--since 90d] [--file FILE]`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.config import ConfigError, load_config
from bot.config.config_file import BotConfig
from bot.workflows.evaluate import Rules
from bot.workflows.history import Recorded, replay
from bot.workflows.model import On, Since
from bot.workflows.step_kinds import parse_duration
from storage.models import utcnow
from storage.repository import Repository


def channel_messages(repo: Repository, events: list[Recorded]) -> list[Recorded]:
    """People's recorded messages in the incidents' channels, as ``message`` events."""
    channels = {e.incident_id: e.snapshot.get("channel_id") for e in events if e.snapshot}
    out = []
    for incident_id, channel in channels.items():
        if not isinstance(channel, str):
            continue
        for m in repo.iter_channel_messages(channel):
            if m.user_id and not m.bot_id and not m.subtype and not m.deleted:
                at = datetime.fromtimestamp(float(m.ts), UTC)
                out.append(
                    Recorded(
                        incident_id, On.MESSAGE.value, at, f"{incident_id}:message:{m.ts}", None, None, m.text
                    )
                )
    return out


def check_file(path: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Validate a config file (the whole file, as the bot loads it): one line per problem on
    ``err`` and 2, or a summary on ``out`` and 0."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"incident-bot workflows check: {line}", file=err)
        return 2
    n = len(config.workflows)
    print(f"{path}: {n} workflow{'s' if n != 1 else ''}, no problems", file=out)
    return 0


def since_arg(text: str) -> timedelta:
    """``--since``: a duration (``90d``); ValueError with a human message otherwise."""
    return parse_duration(text)


def _counts_from_a_milestone(config: BotConfig) -> bool:
    return any(w.trigger.on == On.TIMER and w.trigger.since != Since.DECLARED for w in config.workflows)


def try_rules(repo: Repository, config: BotConfig, since: timedelta, out: TextIO = sys.stdout) -> int:
    """Print what every rule (enabled or not) would have done on the incidents declared since then."""
    now = utcnow()
    rows = repo.workflow_events(now - since)
    events = [
        Recorded(r.incident_id, r.kind, r.at, r.key, r.detail.get("field"), r.snapshot, detail=r.detail)
        for r in rows
    ]
    if any(w.trigger.on == On.MESSAGE for w in config.workflows):
        events += channel_messages(repo, events)
    ids = sorted({e.incident_id for e in events})
    updates = repo.status_update_times(ids)
    milestones = {i: repo.milestones(i) for i in ids} if _counts_from_a_milestone(config) else {}
    rules = Rules(config.workflows, include_disabled=True)
    tried = replay(rules, events, updates, now, config.tz, milestones)
    incidents = len({e.incident_id for e in events})
    for t in tried:
        print(t.line(config.tz), file=out)
    runs = sum(1 for t in tried if not t.skipped)
    print(
        f"{len(config.workflows)} rules on {incidents} incident{'s' if incidents != 1 else ''}: "
        f"{runs} run{'s' if runs != 1 else ''} would have started",
        file=out,
    )
    return 0
