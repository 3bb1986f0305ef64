"""The sections about the way out: fixes and their links, prevention and lessons, the people and
their action items, and which sections are still missing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.postmortem.document_text import (
    LESSON_PREFIXES,
    MAX_KEY,
    MAX_MATCHED_LINE,
    PR_OR_COMMIT,
    Text,
    event_entry,
    find_links,
    fmt_time,
    plain_entry,
    split_code,
)
from bot.postmortem.model import ActionEntry, Entry, Link, MarkedEvent, Participant
from bot.postmortem.sections import OPTIONAL, SECTION_TITLES, Collected, Sections, by_kind
from bot.slack.text import escape


def fix_sections(s: Sections) -> None:
    """Immediate fix (marked up to the ``fixed`` time, and the Resolve form's fix), proper fix, PRs,
    verification."""
    c, t = s.c, s.t
    fixed_at = c.milestones.get("fixed")
    fixes = by_kind(c.events, "fix")
    immediate = [e for e in fixes if fixed_at is None or e.at <= fixed_at]
    proper = [e for e in fixes if e not in immediate]
    entries = [s.entry(e) for e in immediate]
    if c.incident.fix:
        entries.insert(0, plain_entry(c.incident.fix, note="from the Resolve form"))
    s.put("immediate_fix", entries, s.hint("fix"))
    s.put(
        "proper_fix",
        [s.entry(e) for e in proper],
        s.hint("fix", "Fixes marked after the fix time go here."),
    )
    s.put(
        "fix_links",
        _links(t, c.events, PR_OR_COMMIT),
        "No pull request or commit link was posted in a marked message.",
    )
    s.put("verification", s.entries("verification"), s.hint("verification"))


def fix_status(c: Collected) -> str:
    """One rule, said the same way everywhere: the ``fixed`` time is the fix; Verified and closed
    incidents always have one (reaching Verified sets it), older records say what is missing."""
    fixed = c.milestones.get("fixed")
    if fixed is not None:
        return f"✅ Applied at {fmt_time(fixed, c.tz)}"
    if c.incident.status == "verified" or c.incident.status == "fixed":
        return "Fixed, but no fix time was recorded: set it with `/incident time fixed <time>`."
    if c.incident.is_closed:
        return "Closed without a fix: no fix time was recorded (`/incident time fixed <time>` sets one)."
    return "Not fixed yet: no fix time recorded."


def prevention_sections(s: Sections) -> None:
    items = _action_items(s.t, s.c)
    for horizon in ("immediate", "short", "long"):
        s.put(
            f"prevention_{horizon}",
            [a for a in items if a.horizon == horizon],
            s.hint("action_item", f"Start the message with `{horizon}:` to file it here."),
        )
    lessons: dict[str, list[Entry]] = {"went_well": [], "could_be_better": [], "process": [], "other": []}
    for e in by_kind(s.c.events, "lesson"):
        prose = split_code(e.text or escape(e.plain_text))[0]
        head, sep, rest = prose.partition(":")
        kind = LESSON_PREFIXES.get(head.strip().lower()) if sep and len(head) <= MAX_KEY else None
        entry = event_entry(s.t, e, with_replies=False, text=rest.strip() if kind else None)
        lessons[kind or "other"].append(entry)
    for kind, found in lessons.items():
        s.put(
            f"lessons_{kind}",
            found,
            s.hint("lesson", "Start it with `Went well:`, `Could be better:` or `Process:`."),
        )


def people_sections(s: Sections) -> list[Participant]:
    """Related issues, status updates, participants, the appendix."""
    c, t = s.c, s.t
    related = list(c.digest.links)
    if c.incident.related_issue and all(link.url != c.incident.related_issue for link in related):
        related.insert(0, Link(url=c.incident.related_issue, label=c.incident.related_issue, source=None))
    s.put("related", related, "No issue-tracker link was posted in the incident channel.")
    s.put(
        "status_updates",
        [
            Entry(text=t.plain(u.text), body=t.blocks(u.text), at=u.posted_at, who=t.who(u.author_id))
            for u in c.updates
        ],
        "No status update was posted. `/incident update <text>` posts one.",
    )
    s.put(
        "public_updates",
        [
            plain_entry(
                f"{u.state.capitalize()}: {title}: {u.message}",
                at=u.posted_at,
                who=t.who(u.author_id),
            )
            for title, u in c.public_updates
        ],
        "Nothing was published to the status page. `/incident statuspage` publishes.",
    )
    participants = _participants(t, c)
    s.put("participants", participants, "Nobody posted in the incident channel.")
    appendix = [
        event_entry(t, e, with_replies=False)
        for e in c.events
        if "timeline" in e.kinds and split_code(e.text)[1]
    ]
    s.put(
        "appendix",
        appendix,
        "No code or configuration was pinned. React with 📌 (`:pushpin:`) to a message with a code block.",
    )
    return participants


def without_coaching(s: Sections) -> None:
    """The final document says what is missing, not how to add it (the incident is over)."""
    for sec in s.all.values():
        if sec.empty:
            sec.empty = sec.empty.split(". ", 1)[0].rstrip(".") + "."


def missing_sections(s: Sections, has_traces: bool) -> list[str]:
    """The titles (as the document shows them) of the sections with nothing recorded."""
    sections = s.all
    missing = [
        k
        for k, sec in sections.items()
        if sec.is_empty and k not in OPTIONAL and not k.startswith("lessons_")
    ]
    if "errors" in missing and has_traces:
        missing.remove("errors")
    titles = [SECTION_TITLES[k] for k in missing]
    if all(sec.is_empty for k, sec in sections.items() if k.startswith("lessons_")):
        titles.append("Lessons Learned")
    if not s.c.milestones.get("started"):
        titles.append("Metrics")
    return titles


def _links(t: Text, events: Sequence[MarkedEvent], pattern: re.Pattern[str]) -> list[Link]:
    out: list[Link] = []
    seen: set[str] = set()
    for e in events:
        for url in find_links(e.text or e.plain_text, pattern):
            if url not in seen:
                seen.add(url)
                out.append(Link(url=url, label=url, source=e.permalink))
    return out


def _action_items(t: Text, c: Collected) -> list[ActionEntry]:
    out = [
        ActionEntry(
            text=a.text, owner=t.who(a.owner_id), done=a.done, horizon=a.horizon, permalink=a.permalink
        )
        for a in c.action_items
    ]
    recorded = {a.source_ts for a in c.action_items if a.source_ts}
    for e in by_kind(c.events, "action_item"):
        if e.message_ts and e.message_ts in recorded:
            continue
        text = t.plain(split_code(e.text)[0]) if e.text else e.plain_text
        head, sep, rest = text.partition(":")
        horizon = "short"
        key = head.strip().lower()
        if sep and key in {"immediate", "now", "short", "short-term", "long", "long-term"}:
            horizon = {"now": "immediate", "short-term": "short", "long-term": "long"}.get(key, key)
            text = rest.strip()
        owner = t.who(e.author_id)
        named = OWNER.search(text[:MAX_MATCHED_LINE])
        if named:  # "… — owner @Carol": the item's owner is who it names, not who wrote it
            owner, text = named.group(1).strip(), text[: named.start()].rstrip()
        entry = ActionEntry(text=text, owner=owner, done=False, horizon=horizon, permalink=e.permalink)
        out.append(_with_ticket(entry, c, e.message_ts))
    return out


OWNER = re.compile(r"\s*[-–—,;(]?\s*\bowner\b:?\s+@?([^\s@()][^@()\n]{0,80}?)\)?\s*$", re.IGNORECASE)
TICKET_DONE = {"done", "closed", "resolved", "completed"}


def _with_ticket(item: ActionEntry, c: Collected, message_ts: str | None) -> ActionEntry:
    """The item with its follow-up ticket (bot/followups), matched by the item's message."""
    tickets = c.extra.get("tickets")
    link: Any = tickets.get(message_ts or "") if isinstance(tickets, dict) else None
    if link is None:
        return item
    state = {"in_progress": "in progress", "pending": "ticket pending", "error": "not created"}
    return replace(
        item,
        ticket=link.key or "pending",
        ticket_url=link.url,
        ticket_state=state.get(link.state, link.state),
        ticket_assignee=link.assignee,
        done=item.done or str(link.state).lower() in TICKET_DONE,
    )


def _participants(t: Text, c: Collected) -> list[Participant]:
    roles_by_user: dict[str, list[str]] = {}
    for role, uid in [*c.roles.items(), *c.role_history]:  # a role handed over stays in its history
        if role not in roles_by_user.setdefault(uid, []):
            roles_by_user[uid].append(role)
    users = list(
        dict.fromkeys([*roles_by_user, *sorted(c.digest.per_user, key=lambda u: -c.digest.per_user[u])])
    )
    return [
        Participant(
            name=t.who(uid) or uid,
            roles=tuple(roles_by_user.get(uid, ())),
            messages=c.digest.per_user.get(uid, 0),
        )
        for uid in users
    ]
