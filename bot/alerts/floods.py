"""What a flood of alerts may do: how many new groups a sender opens per minute (beyond that, one
"N more groups" summary card per channel instead of a card each), how many incidents alerts
declare by themselves per window, and how long resolved groups are kept.

Counts come from the database, so replicas share each limit (two replicas deciding at the same
instant may each take the last slot: a limit can be passed by one per replica, never more).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.config import AlertsConfig
from bot.slack.text import escape, one_line
from storage.models import AlertGroup
from storage.repository import Repository
from storage.stores.alerts import OVERFLOW

WINDOW = timedelta(minutes=1)  # the per-sender new-group limit's window
TITLES_SHOWN = 10


def over_new_group_limit(repo: Repository, cfg: AlertsConfig, source: str, now: datetime) -> bool:
    """Whether ``source`` already opened ``new_groups_per_minute`` groups in the last minute."""
    return repo.new_alert_groups_since(source, now - WINDOW) >= cfg.new_groups_per_minute


def summarise(repo: Repository, template: AlertGroup, now: datetime) -> None:
    """Count the new group ``template`` on its channel's summary card instead of giving it one."""
    summary = template.model_copy(
        update={
            "group_key": f"{OVERFLOW}:{template.source}:{template.channel_id}:{now.isoformat()}",
            "title": f"More alert groups from {template.source}",
            "status": "resolved",  # nothing to resolve: retention sweeps it like a resolved group
            "group_labels": {},
            "common_labels": {},
            "common_annotations": {},
            "truncated": 0,
            "auto_declare": False,
        }
    )
    repo.count_overflow(summary, template.group_key, template.title, now - WINDOW, now)


def auto_declare_allowed(repo: Repository, cfg: AlertsConfig, now: datetime) -> bool:
    """Fewer than ``auto_declare_max`` incidents auto-declared in the last ``auto_declare_window``."""
    since = now - timedelta(seconds=cfg.auto_declare_window)
    return repo.auto_declared_since(since) < cfg.auto_declare_max


def expire(repo: Repository, cfg: AlertsConfig, now: datetime) -> int:
    """Delete resolved groups no incident holds, ``retention_days`` after they last notified."""
    if not cfg.retention_days:
        return 0
    return repo.delete_resolved_alert_groups(now - timedelta(days=cfg.retention_days))


def summary_card(group: AlertGroup, limit: int) -> tuple[str, list[Block]]:
    """The text and blocks of a summary row's card."""
    n = group.truncated
    since = group.first_received_at.strftime("%H:%M UTC")
    text = one_line(f"{n} more alert groups from {group.source} since {since}, not shown one by one", 300)
    titles = [escape(one_line(t, 150)) for t in list(group.group_labels.values())[:TITLES_SHOWN]]
    more = f"\n…and {n - len(titles)} more" if n > len(titles) else ""
    body = (
        f":warning: *{n} more alert group{'s' if n != 1 else ''}* from {escape(group.source)} since {since}: "
        f"over the limit of {limit} new groups a minute, so they get no card of their own. "
        f"See {escape(group.source)} for all of them; each gets its card when it notifies again "
        "after the flood."
    )
    out: list[Block] = [SectionBlock(text=MarkdownTextObject(text=one_line(body, 2900)))]
    if titles:
        listing = "\n".join(f"• {t}" for t in titles) + more
        out.append(ContextBlock(elements=[MarkdownTextObject(text=listing[:2900])]))
    return escape(text), out
