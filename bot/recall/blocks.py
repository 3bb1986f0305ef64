"""The catch-up, similar incidents and search results as Block Kit (slack_sdk.models checks the
limits as it builds): each list bounded to what a section holds, the rest said as "and N more"."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, tzinfo

from markupsafe import Markup
from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock

from bot.incidents.timeparse import format_time
from bot.incidents.vocabulary import incident_ref
from bot.recall.catchup import CatchUp, Fact
from bot.search.service import Result
from bot.search.similar import Candidate
from bot.slack.text import escape, one_line

SECTION_TEXT = 3000  # a section block's text limit
MAX_LINES = 15  # per group: a catch-up is read at a glance; the timeline has the rest
LINE = 220  # characters of a fact's text
MAX_BLOCKS = 50  # per message
_MARK = re.compile(r"<mark>(.*?)</mark>")


def _clock(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def link(url: str | None, label: str) -> str:
    """``<url|label>``, or the label alone when there is no (safe) URL."""
    if not url or any(c in url for c in "<>| \n"):
        return label
    return f"<{url}|{label}>"


def bounded(heading: str, lines: Sequence[str], max_lines: int = MAX_LINES) -> str:
    """``heading`` and as many ``lines`` as fit a section (and ``max_lines``), then "…and N more"."""
    text = heading
    shown = 0
    for line in lines[:max_lines]:
        rest = len(lines) - shown - 1
        tail = f"\n…and {rest} more" if rest else ""
        if len(text) + 1 + len(line) + len(tail) > SECTION_TEXT - 40:
            break
        text += "\n" + line
        shown += 1
    if shown < len(lines):
        text += f"\n…and {len(lines) - shown} more"
    return text


def fact_line(f: Fact, tz: tzinfo) -> str:
    who = f" <@{f.author_id}>" if f.author_id else ""
    note = f" _({f.note})_" if f.note else ""
    text = escape(one_line(f.plain_text, LINE)) or "(no text)"
    return f"• {_clock(f.at, tz)}{who}: {text}{note} · {link(f.permalink, 'message')}"


def catchup_blocks(c: CatchUp, tz: tzinfo) -> list[Block]:
    head = [f"*Catch-up on {c.ref}: {escape(one_line(c.title, 150))}*"]
    head.append(
        f"Status: *{c.status}* · Severity: *{c.severity}* · Lead: {f'<@{c.lead}>' if c.lead else '_nobody yet_'}"
    )
    if c.roles:
        head.append(" · ".join(f"{escape(role.capitalize())}: <@{user}>" for role, user in c.roles))
    if c.root_cause:
        head.append(f"Root cause (Resolve form): {escape(one_line(c.root_cause, 400))}")
    if c.fix:
        head.append(f"Fix (Resolve form): {escape(one_line(c.fix, 400))}")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(head)))]
    if c.latest_update is not None:
        u = c.latest_update
        body = one_line(u.text, 1500)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Latest status update* ({format_time(u.at, tz)}, <@{u.author_id}>)\n>{body}"
                )
            )
        )
    else:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="_No status update has been posted yet._")))
    blocks.append(DividerBlock())
    said = f"What was found {c.since_said}"
    if not c.groups:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{said}:* nothing was marked.")))
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"{said}: {c.found} marked.")]))
        for label, facts in c.groups:
            lines = [fact_line(f, tz) for f in facts]
            blocks.append(
                SectionBlock(text=MarkdownTextObject(text=bounded(f"*{label}* ({len(facts)})", lines)))
            )
    return blocks[:MAX_BLOCKS]


def catchup_text(c: CatchUp) -> str:
    """The notification's text (Slack shows it where blocks cannot be shown)."""
    return f"Catch-up on {c.ref}: {c.status}, {c.found} marked {c.since_said}."


def similar_line(c: Candidate) -> str:
    inc = c.incident
    ref = f"*{incident_ref(inc)}*"
    where = f"<#{inc.channel_id}>" if inc.channel_id else ""
    parts = [f"{ref} {escape(one_line(inc.title, 120))} {where}".rstrip()]
    if c.cause:
        parts.append(f"root cause: {escape(one_line(c.cause, 200))}")
    if c.fix:
        parts.append(f"fixed by {escape(one_line(c.fix, 200))}")
    return "• " + " · ".join(parts)


def similar_blocks(ref: str, found: Sequence[Candidate]) -> list[Block]:
    if not found:
        text = f"No past incident is similar enough to {ref} (they share too few words)."
        return [SectionBlock(text=MarkdownTextObject(text=text))]
    lines = [similar_line(c) for c in found]
    return [SectionBlock(text=MarkdownTextObject(text=bounded(f"*Similar to {ref}:*", lines)))]


def quote(markup: Markup) -> str:
    """A search snippet (escaped HTML, hits in ``<mark>``) as mrkdwn, the hits in bold."""
    parts = _MARK.split(str(markup))
    out = []
    for i, part in enumerate(parts):
        text = escape(html.unescape(part))
        out.append(f"*{text}*" if i % 2 and text.strip() else text)
    return "".join(out)


def search_blocks(typed: str, results: Sequence[Result], more: bool) -> list[Block]:
    words = escape(one_line(typed, 100))
    if not results:
        return [SectionBlock(text=MarkdownTextObject(text=f"No incident you can see matches _{words}_."))]
    lines = []
    for n, r in enumerate(results, 1):
        inc = r.incident
        where = f" <#{inc.channel_id}>" if inc.channel_id else ""
        state = "closed" if inc.is_closed else "open"
        lines.append(
            f"{n}. *{incident_ref(inc)}* {escape(one_line(inc.title, 120))}{where} ({state})\n"
            f"      _{r.where}_: “{quote(r.quote)}”"
        )
    heading = f"*Incidents matching _{words}_:*"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=bounded(heading, lines)))]
    if more:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text="More match: add words to narrow it down.")])
        )
    return blocks
