"""`/incident stats` as Block Kit: the period's summary, then one line per week drawn in text.

Slack shows no SVG, and a picture would need an imaging library only for this; a text bar per
week reads on a phone, is searchable, and is what a screen reader says. Pure: rows in, blocks out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.analytics.core import ALL, Period, Row, human
from bot.incidents.vocabulary import SEVERITIES
from bot.present.formats import period

BAR = 12  # characters of the longest bar
EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(count: int, most: int) -> str:
    """``count`` as a bar of full and partial blocks, ``most`` filling BAR characters."""
    if count <= 0 or most <= 0:
        return ""
    eighths = max(1, round(count * BAR * 8 / most))
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def per_bucket_lines(rows: Sequence[Row], buckets: Sequence[date], kind: Period) -> list[str]:
    """One line per bucket, empty ones too: label, bar, count, median time to fix, severities."""
    totals = {r.bucket: r for r in rows if r.severity == ALL}
    by_sev: dict[date, list[str]] = {}
    order = {s: n for n, s in enumerate(SEVERITIES)}
    for r in sorted(rows, key=lambda r: order.get(r.severity, len(order))):
        if r.severity != ALL and r.count:
            by_sev.setdefault(r.bucket, []).append(f"{r.severity.upper()} {r.count}")
    most = max([r.count for r in totals.values()] + [0])
    lines = [f"{'Week of' if kind == 'week' else 'Month':<8} {'Incidents':<{BAR + 4}}  {'Time to fix':<11}"]
    for b in buckets:
        row = totals.get(b)
        count = row.count if row else 0
        fix = human(row.stats["fix"].median) if row and row.stats["fix"].n else "—"
        sevs = " · ".join(by_sev.get(b, []))
        line = f"{period(b, kind, year=False):<8} {bar(count, most):<{BAR}} {count:>3}  {fix:<11}  {sevs}"
        lines.append(line.rstrip())
    return lines


def stats_blocks(
    summary: str, rows: Sequence[Row], buckets: Sequence[date], kind: Period, breakdown: str = ""
) -> list[Block]:
    """The summary (mrkdwn), the breakdown by type and field when there is one, then the
    per-bucket lines in a code block."""
    lines = per_bucket_lines(rows, buckets, kind)
    first = period(buckets[0], kind) if buckets else ""
    return [
        SectionBlock(text=MarkdownTextObject(text=summary)),
        *([SectionBlock(text=MarkdownTextObject(text=breakdown))] if breakdown else []),
        SectionBlock(text=MarkdownTextObject(text="```\n" + "\n".join(lines) + "\n```")),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Per {kind} since {first} (UTC); time to fix is the median of the incidents "
                    "that have both milestones."
                )
            ]
        ),
    ]
