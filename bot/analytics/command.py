"""`/incident stats [30d|90d|quarter]`: the period's summary, with a text chart per week."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from bot.analytics.core import (
    DURATIONS,
    LABELS,
    BadWindow,
    Totals,
    buckets,
    human,
    metric_pairs,
    summarise,
    totals,
    window_days,
)
from bot.analytics.message import stats_blocks
from bot.analytics.slices import BadSlice, Breakdown, breakdowns, facts_of, parse_slice
from bot.errors import UsageError
from bot.incidents.access import Action
from bot.incidents.types import FieldConfig, TypeConfig
from bot.slack.client import slack_error
from bot.slack.commands import CommandContext, Subcommand, Where
from storage.models import utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stats:
    days: int
    label: str
    filters: tuple[tuple[str, str], ...] = ()


def parse_stats(rest: str) -> Stats:
    """``[30d|90d|quarter] [type=NAME] [FIELD=VALUE …]``: the filters are checked against the
    config when the command runs (``slices.parse_slice``)."""
    window: str | None = None
    filters: list[tuple[str, str]] = []
    for token in rest.split():
        name, eq, value = token.partition("=")
        if eq:
            if not name or not value:
                raise UsageError(f"`{token}`: a filter is NAME=VALUE, e.g. `type=security`.")
            filters.append((name, value))
        elif window is None:
            window = token
        else:
            raise UsageError(f"One period at a time: `{window}` or `{token}`.")
    try:
        days = window_days(window)
    except BadWindow as exc:
        raise UsageError(str(exc)) from exc
    label = (window or "30d").strip().lower()
    return Stats(days, "last quarter" if label == "quarter" else f"last {days} days", tuple(filters))


def summary_text(t: Totals, label: str, since: datetime, of: str = "") -> str:
    sev = " · ".join(f"{k.upper()} {v}" for k, v in t.by_severity.items())
    heading = f"Incidents ({of}), {label}" if of else f"Incidents, {label}"
    lines = [f"*{heading}* (since {since:%Y-%m-%d}): {t.count} declared" + (f" ({sev})" if sev else "")]
    for key in DURATIONS:
        st = t.stats[key]
        if st.n:
            lines.append(f"• {LABELS[key]}: median {human(st.median)}, p90 {human(st.p90)} (n={st.n})")
        else:
            lines.append(f"• {LABELS[key]}: no incident has both milestones")
    lines.append(f"• Action items: {t.actions_open} open, {t.actions_done} done")
    return "\n".join(lines)


def breakdown_text(tables: Sequence[Breakdown]) -> str:
    """``*By type*`` then a line per group: its incidents and median time to fix and downtime."""
    lines = []
    for table in tables:
        lines.append(f"*{table.title}*")
        for g in table.groups:
            fix, down = g.stats["fix"], g.stats["downtime"]
            lines.append(
                f"• {g.name}: {g.count} incident{'s' if g.count != 1 else ''} · time to fix "
                f"{human(fix.median) if fix.n else '—'} · downtime {human(down.median) if down.n else '—'}"
            )
    return "\n".join(lines)


class StatsReporter:
    """Posts the period's summary with its per-week text chart where the command was run."""

    def __init__(
        self,
        repo: Repository,
        *,
        types: Mapping[str, TypeConfig] | None = None,
        fields: Mapping[str, FieldConfig] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.types = dict(types or {})
        self.fields = dict(fields or {})
        self.clock = clock

    def post(self, ctx: CommandContext, args: Stats) -> None:
        try:
            where = parse_slice(args.filters, self.types, self.fields)
        except BadSlice as exc:
            raise UsageError(str(exc)) from exc
        now = self.clock()
        since = now - timedelta(days=args.days)
        facts = facts_of(self.repo, since, now + timedelta(seconds=1), metric_pairs(), where, self.fields)
        text = summary_text(totals(facts), args.label, since, where.label(self.fields))
        more = breakdown_text(breakdowns(facts, self.types, self.fields))
        blocks = stats_blocks(text, summarise(facts, "week"), buckets(since, now, "week"), "week", more)
        try:
            ctx.respond(text=text, blocks=[b.to_dict() for b in blocks], response_type="in_channel")
        except Exception as exc:
            log.info("could not post the stats in %s: %s", ctx.channel_id, slack_error(exc))
            ctx.reply(text)


def stats_command(ctx: CommandContext, args: Stats) -> None:
    cast(StatsReporter, ctx.context["stats"]).post(ctx, args)


COMMANDS = (
    Subcommand(
        "stats",
        "/incident stats [30d|90d|quarter] [type=NAME] [FIELD=VALUE]",
        "Incident counts, time to detect/identify/fix and downtime, week by week; by type and field.",
        parse_stats,
        stats_command,
        Where.ANYWHERE,
        action=Action.READ,
    ),
)
