"""`/incident stats [30d|90d|quarter]`: the period's summary, with its chart as an image."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from slack_sdk import WebClient

from bot.analytics.charts import chart_png
from bot.analytics.core import (
    DURATIONS,
    LABELS,
    BadWindow,
    Totals,
    human,
    metric_pairs,
    summarise,
    totals,
    window_days,
)
from bot.errors import UsageError
from bot.slack.client import slack_error
from bot.slack.commands import CommandContext, Subcommand, Where
from storage.models import utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stats:
    days: int
    label: str


def parse_stats(rest: str) -> Stats:
    try:
        days = window_days(rest or None)
    except BadWindow as exc:
        raise UsageError(str(exc)) from exc
    label = (rest or "30d").strip().lower()
    return Stats(days, "last quarter" if label == "quarter" else f"last {days} days")


def summary_text(t: Totals, label: str, since: datetime) -> str:
    sev = " · ".join(f"{k.upper()} {v}" for k, v in t.by_severity.items())
    lines = [
        f"*Incidents, {label}* (since {since:%Y-%m-%d}): {t.count} declared" + (f" ({sev})" if sev else "")
    ]
    for key in DURATIONS:
        st = t.stats[key]
        if st.n:
            lines.append(f"• {LABELS[key]}: median {human(st.median)}, p90 {human(st.p90)} (n={st.n})")
        else:
            lines.append(f"• {LABELS[key]}: no incident has both milestones")
    lines.append(f"• Action items: {t.actions_open} open, {t.actions_done} done")
    return "\n".join(lines)


class StatsReporter:
    """Posts the period's summary with its chart into a channel."""

    def __init__(
        self, repo: Repository, client: WebClient, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.repo = repo
        self.client = client
        self.clock = clock

    def post(self, ctx: CommandContext, args: Stats) -> None:
        now = self.clock()
        since = now - timedelta(days=args.days)
        facts = self.repo.incident_durations(since, now + timedelta(seconds=1), metric_pairs())
        text = summary_text(totals(facts), args.label, since)
        png = chart_png(summarise(facts, "week"), f"Incidents per week, {args.label}")
        try:
            self.client.files_upload_v2(
                channel=ctx.channel_id,
                content=png,
                filename=f"incident-stats-{args.days}d.png",
                title=f"Incident stats, {args.label}",
                initial_comment=text,
            )
        except Exception as exc:
            log.info("could not post the stats chart in %s: %s", ctx.channel_id, slack_error(exc))
            ctx.reply(f"{text}\n_(The chart could not be posted here: {slack_error(exc)}.)_")


def stats_command(ctx: CommandContext, args: Stats) -> None:
    cast(StatsReporter, ctx.context["stats"]).post(ctx, args)


COMMANDS = (
    Subcommand(
        "stats",
        "/incident stats [30d|90d|quarter]",
        "Incident counts, time to detect/identify/fix and downtime, with a chart.",
        parse_stats,
        stats_command,
        Where.ANYWHERE,
    ),
)
