"""Collected data → document model. Pure: no Slack, no database, no clock (``now`` is an input)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.incidents.metrics import metrics
from bot.incidents.vocabulary import MILESTONE_LABELS, Milestone, incident_ref, severity_label, status_label
from bot.postmortem.model import (
    ActionEntry,
    Attachment,
    ChannelDigest,
    DocumentModel,
    Entry,
    Link,
    MarkedEvent,
    Participant,
    Reply,
    Section,
    Step,
    TimelineRow,
)
from bot.slack.text import one_line, strip_control, to_plain
from storage.models import ActionItem, Incident, StatusUpdate

CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
URL = re.compile(r"https?://[^\s<>|\"')\]]+")
PR_OR_COMMIT = re.compile(r"/(pull|pulls|merge_requests)/\d+|/commit/[0-9a-f]{7,40}\b|/-/commit/", re.I)
TRACKER = re.compile(
    r"/issues/\d+|/browse/[A-Z][A-Z0-9]+-\d+|linear\.app/.+/issue/|/-/issues/\d+|/tickets?/\d+", re.I
)
RULED_OUT = re.compile(
    r"\b(ruled out|rule it out|not it|disproved|disproven|rejected|doesn'?t hold|does not hold|dead end)\b",
    re.I,
)
CONFIRMED = re.compile(r"\b(confirmed|that'?s it|this is it|root cause found)\b", re.I)
KEY_VALUE = re.compile(r"^\s*[-*•]?\s*([A-Za-z][A-Za-z /]{1,40}?)\s*:\s*(.+?)\s*$")
ANALYSIS = re.compile(r"^\s*(analysis|conclusion)\s*[:\-—]\s*", re.I)
STACK_TRACE = re.compile(r"Traceback \(most recent call last\)|^\s+at \S+\(|^\s+File \"", re.M)

IMPACT_KEYS = {
    "affected users": "users",
    "users affected": "users",
    "users": "users",
    "affected functionality": "functionality",
    "functionality": "functionality",
    "business impact": "business",
    "revenue impact": "business",
    "failed logins": "failed logins",
    "support tickets": "support tickets",
}
ENV_KEYS = {
    "environment": "environment",
    "env": "environment",
    "version": "version",
    "commit": "version",
    "version/commit": "version",
    "deployment date": "deployment_date",
    "deployed": "deployment_date",
    "deployed at": "deployment_date",
}
LESSON_PREFIXES = {
    "went well": "went_well",
    "well": "went_well",
    "good": "went_well",
    "could be better": "could_be_better",
    "better": "could_be_better",
    "improve": "could_be_better",
    "bad": "could_be_better",
    "process": "process",
    "process change": "process",
    "process improvement": "process",
}
SECTION_TITLES = {
    "impact": "Impact",
    "environment": "Environment",
    "reproduction": "Steps to Reproduce",
    "expected": "Expected Behavior",
    "actual": "Actual Behavior",
    "errors": "Error Messages",
    "stack_traces": "Stack Trace",
    "screenshots": "Screenshots/Videos",
    "known": "What do we know?",
    "unknown": "What don't we know?",
    "primary_hypothesis": "Primary Hypothesis",
    "alternative_hypotheses": "Alternative Hypotheses",
    "steps": "Investigation Steps",
    "root_cause": "Root Cause",
    "timeline": "Timeline",
    "immediate_fix": "Immediate Fix (Hot Patch)",
    "proper_fix": "Proper Fix",
    "fix_links": "PR / commits",
    "verification": "Verification Steps",
    "prevention_immediate": "Immediate Actions",
    "prevention_short": "Short-term Actions (Next Sprint)",
    "prevention_long": "Long-term Actions (Next Quarter)",
    "lessons_went_well": "What Went Well",
    "lessons_could_be_better": "What Could Be Better",
    "lessons_process": "Process Improvements",
    "lessons_other": "Other lessons",
    "related": "Related Issues",
    "status_updates": "Status Updates",
    "participants": "Participants and Roles",
    "appendix": "Relevant Code and Configuration",
}
# Sections that are optional refinements: their absence is not reported as missing.
OPTIONAL = {"stack_traces", "fix_links", "lessons_other", "status_updates", "proper_fix", "prevention_long"}


@dataclass
class Collected:
    incident: Incident
    milestones: dict[str, datetime]
    roles: dict[str, str]
    events: list[MarkedEvent]
    updates: list[StatusUpdate]
    action_items: list[ActionItem]
    digest: ChannelDigest
    names: dict[str, str]
    reactions: dict[str, str]  # emoji name -> kind
    tz: tzinfo
    draft: bool
    now: datetime
    timezone_name: str = "UTC"
    extra: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- text helpers
def split_code(text: str) -> tuple[str, tuple[str, ...]]:
    """Slack-formatted text → (prose, code blocks). Code keeps its content byte for byte."""
    blocks = []
    for m in CODE_BLOCK.finditer(text):
        body = m.group(1)
        if body.startswith("\n"):
            body = body[1:]
        blocks.append(body.rstrip("\n"))
    prose = CODE_BLOCK.sub("\n", text)
    return prose, tuple(blocks)


class Text:
    """Slack markup → plain text, with display names."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def plain(self, slack_text: str) -> str:
        return strip_control(to_plain(slack_text, user_name=self.names.get)).strip()

    def code(self, slack_code: str) -> str:
        return to_plain(slack_code, user_name=self.names.get)

    def who(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        return self.names.get(user_id, user_id)


def _files(raw: Iterable[dict[str, object]]) -> tuple[Attachment, ...]:
    out = []
    for f in raw:
        mimetype = str(f.get("mimetype") or "")
        is_image = bool(f.get("is_image")) or mimetype.startswith("image/")
        link = f.get("permalink") or f.get("url_private")
        out.append(
            Attachment(
                name=str(f.get("name") or "file"),
                permalink=str(link) if link else None,
                is_image=is_image,
                mimetype=mimetype or None,
            )
        )
    return tuple(out)


def ts_time(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC)
    except ValueError:
        return None


def reply_entry(t: Text, r: Reply) -> Entry:
    prose, code = split_code(r.text)
    return Entry(
        text=t.plain(prose),
        at=ts_time(r.ts),
        code=tuple(t.code(c) for c in code),
        who=t.who(r.user_id),
        permalink=None if r.deleted else r.permalink,
        files=_files(r.files),
        source_deleted=r.deleted,
    )


def event_entry(t: Text, e: MarkedEvent, note: str | None = None, with_replies: bool = True) -> Entry:
    prose, code = split_code(e.text or e.plain_text)
    text = t.plain(prose) if e.text else strip_control(prose).strip()
    return Entry(
        text=text,
        at=e.at,
        who=t.who(e.author_id),
        permalink=None if e.source_deleted else e.permalink,
        code=tuple(t.code(c) for c in code),
        files=_files(e.files),
        note=note,
        replies=tuple(reply_entry(t, r) for r in e.replies if not r.deleted) if with_replies else (),
        source_deleted=e.source_deleted,
    )


def _key_values(text: str, keys: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = KEY_VALUE.match(line)
        if m:
            key = keys.get(m.group(1).strip().lower())
            if key and key not in found:
                found[key] = m.group(2)
    return found


def _thread_says(e: MarkedEvent, pattern: re.Pattern[str]) -> bool:
    return any(pattern.search(r.text) for r in e.replies if not r.deleted)


def fmt_time(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- sections
def _hint(kind: str, reactions: dict[str, str], extra: str = "") -> str:
    emojis = [name for name, k in reactions.items() if k == kind]
    how = (
        " or ".join(f":{e}:" for e in emojis)
        if emojis
        else f"a reaction configured for `{kind}` (none is configured)"
    )
    text = f"Nothing recorded. React with {how} to a message in the incident channel to add it here."
    return text + (f" {extra}" if extra else "")


def _by_kind(events: Sequence[MarkedEvent], kind: str) -> list[MarkedEvent]:
    return [e for e in events if kind in e.kinds]


def assemble(c: Collected) -> DocumentModel:
    inc = c.incident
    t = Text(c.names)
    ev = c.events
    sections: dict[str, Section] = {key: Section(key, title) for key, title in SECTION_TITLES.items()}

    def put(key: str, entries: Iterable[object], empty: str) -> None:
        sections[key].entries = list(entries)
        if not sections[key].entries:
            sections[key].empty = empty

    def hint(kind: str, extra: str = "") -> str:
        return _hint(kind, c.reactions, extra)

    # Summary: impact and environment, from the incident's fields, then "Key: value" lines.
    impact_events = _by_kind(ev, "impact")
    impact: dict[str, str | None] = {
        "users": inc.impact_users,
        "functionality": inc.impact_functionality,
        "business": inc.impact_business,
    }
    environment: dict[str, str | None] = {
        "environment": inc.environment,
        "version": inc.version,
        "deployment_date": inc.deployment_date,
    }
    for e in impact_events:
        plain = t.plain(e.text) if e.text else e.plain_text
        for key, value in _key_values(plain, IMPACT_KEYS).items():
            if not impact.get(key):
                impact[key] = value
        for key, value in _key_values(plain, ENV_KEYS).items():
            if not environment.get(key):
                environment[key] = value
    put("impact", [event_entry(t, e) for e in impact_events], hint("impact"))
    env_known = [f"{k}: {v}" for k, v in environment.items() if v]
    put(
        "environment",
        env_known,
        hint("impact", "Write `Environment: …`, `Version: …` and `Deployed: …` lines in it."),
    )

    # Bug report.
    repro = _by_kind(ev, "reproduction")
    put("reproduction", [event_entry(t, e) for e in repro], hint("reproduction"))
    expected: list[Entry] = []
    actual: list[Entry] = []
    for e in sorted({id(x): x for x in [*repro, *impact_events, *_by_kind(ev, "error")]}.values(), key=_at):
        plain = t.plain(split_code(e.text)[0]) if e.text else e.plain_text
        for line in plain.splitlines():
            low = line.strip().lower()
            for prefix, bucket in (("expected", expected), ("actual", actual)):
                if low.startswith(prefix):
                    text = line.split(":", 1)[1].strip() if ":" in line else line.strip()
                    bucket.append(Entry(text=text, at=e.at, who=t.who(e.author_id), permalink=e.permalink))
    put(
        "expected",
        expected,
        hint("reproduction", "Start a line with `Expected:` in a reproduction message."),
    )
    put("actual", actual, hint("reproduction", "Start a line with `Actual:` in a reproduction message."))
    errors = [event_entry(t, e) for e in _by_kind(ev, "error")]
    traces = [x for x in errors if any(STACK_TRACE.search(code) for code in x.code)]
    put("errors", [x for x in errors if x not in traces], hint("error"))
    put("stack_traces", traces, "No stack trace was posted in a message marked as an error.")
    screenshots = [
        Entry(text=a.name, at=e.at, who=t.who(e.author_id), permalink=e.permalink, files=(a,))
        for e in ev
        for a in _files(e.files)
        if a.is_image
    ]
    seen_files = {a.permalink for s in screenshots for a in s.files}
    screenshots += [s for s in c.digest.images if not {a.permalink for a in s.files} & seen_files]
    put("screenshots", screenshots, "No images were posted in the incident channel.")

    # Investigation.
    findings = _by_kind(ev, "finding")
    steps: list[Step] = []
    known: list[Entry] = []
    for e in findings:
        entry = event_entry(t, e)
        if entry.code:
            analysis = next((r for r in entry.replies if ANALYSIS.match(r.text)), None)
            step_findings = tuple(r for r in entry.replies if r is not analysis)
            if analysis is not None:
                analysis = replace(analysis, text=ANALYSIS.sub("", analysis.text, count=1))
            first = entry.text.splitlines()[0] if entry.text else "Investigation step"
            steps.append(
                Step(
                    title=one_line(first, 120),
                    commands=entry.code,
                    findings=step_findings,
                    analysis=analysis,
                    source=entry,
                )
            )
        else:
            known.append(entry)
    put("known", known, hint("finding"))
    put("steps", steps, hint("finding", "A finding whose message holds a code block becomes a step."))
    put("unknown", [event_entry(t, e) for e in _by_kind(ev, "open_question")], hint("open_question"))

    hyps = _by_kind(ev, "hypothesis")
    root_ts = {e.message_ts for e in _by_kind(ev, "root_cause") if e.message_ts}
    judged: list[tuple[MarkedEvent, str | None]] = []
    for e in hyps:
        if _thread_says(e, RULED_OUT):
            judged.append((e, "ruled out"))
        elif (e.message_ts and e.message_ts in root_ts) or _thread_says(e, CONFIRMED):
            judged.append((e, "confirmed"))
        else:
            judged.append((e, None))
    primary = next((e for e, n in judged if n == "confirmed"), None) or next(
        (e for e, n in reversed(judged) if n is None), None
    )
    put(
        "primary_hypothesis",
        [event_entry(t, e, n) for e, n in judged if e is primary],
        hint("hypothesis"),
    )
    put(
        "alternative_hypotheses",
        [event_entry(t, e, n or "not confirmed") for e, n in judged if e is not primary],
        hint("hypothesis", "Reply `ruled out` in a hypothesis's thread to record a wrong turn."),
    )
    root_entries = [event_entry(t, e) for e in _by_kind(ev, "root_cause")]
    if inc.root_cause:
        root_entries.insert(0, Entry(text=inc.root_cause))
    put("root_cause", root_entries, hint("root_cause"))

    # Timeline.
    rows: list[TimelineRow] = []
    event_kinds = {k for e in ev for k in e.kinds}
    for name, at in c.milestones.items():
        if name in MILESTONE_LABELS and name not in event_kinds:
            rows.append(TimelineRow(at=at, event=MILESTONE_LABELS[name], who=None, link=None))
    for e in ev:
        if "milestone" in e.kinds:
            continue  # the milestone rows above carry the current value
        prose = split_code(e.text)[0] if e.text else e.plain_text
        text = one_line(t.plain(prose) if e.text else prose, 200) or "(code or file only)"
        if e.source_deleted:
            text += " (source message deleted)"
        rows.append(
            TimelineRow(
                at=e.at,
                event=text,
                who=t.who(e.author_id),
                link=None if e.source_deleted else e.permalink,
                kinds=e.kinds,
            )
        )
    for u in c.updates if "update" not in event_kinds else ():
        rows.append(
            TimelineRow(
                at=u.posted_at,
                event="Status update: " + one_line(u.text, 200),
                who=t.who(u.author_id),
                link=None,
            )
        )
    rows.sort(key=lambda r: r.at)
    put("timeline", rows, "Nothing is on the timeline yet. React with :pushpin: to a message to add it.")

    # Fix and verification.
    fixed_at = c.milestones.get(Milestone.FIXED)
    fixes = _by_kind(ev, "fix")
    immediate = [e for e in fixes if fixed_at is None or e.at <= fixed_at]
    proper = [e for e in fixes if e not in immediate]
    fix_links = _links(t, ev, PR_OR_COMMIT)
    put("immediate_fix", [event_entry(t, e) for e in immediate], hint("fix"))
    if inc.fix:
        sections["immediate_fix"].entries.insert(0, Entry(text=inc.fix))
        sections["immediate_fix"].empty = None
    put(
        "proper_fix",
        [event_entry(t, e) for e in proper],
        hint("fix", "Fixes marked after the `fixed` time go here."),
    )
    put("fix_links", fix_links, "No pull request or commit link was posted in a marked message.")
    put("verification", [event_entry(t, e) for e in _by_kind(ev, "verification")], hint("verification"))

    # Prevention.
    items = _action_items(t, c)
    for horizon in ("immediate", "short", "long"):
        put(
            f"prevention_{horizon}",
            [a for a in items if a.horizon == horizon],
            hint("action_item", f"Start the message with `{horizon}:` to file it here."),
        )
    lessons: dict[str, list[Entry]] = {"went_well": [], "could_be_better": [], "process": [], "other": []}
    for e in _by_kind(ev, "lesson"):
        entry = event_entry(t, e, with_replies=False)
        head, sep, rest = entry.text.partition(":")
        kind = LESSON_PREFIXES.get(head.strip().lower()) if sep else None
        if kind:
            entry = replace(entry, text=rest.strip())
        lessons[kind or "other"].append(entry)
    for kind, found in lessons.items():
        put(
            f"lessons_{kind}",
            found,
            hint("lesson", "Start it with `Went well:`, `Could be better:` or `Process:`."),
        )
    related = list(c.digest.links)
    if inc.related_issue:
        related.insert(0, Link(url=inc.related_issue, label=inc.related_issue, source=None))
    put("related", related, "No issue-tracker link was posted in the incident channel.")
    put(
        "status_updates",
        [Entry(text=u.text, at=u.posted_at, who=t.who(u.author_id)) for u in c.updates],
        "No status update was posted. `/incident update <text>` posts one.",
    )

    participants = _participants(t, c)
    put("participants", participants, "Nobody posted in the incident channel.")
    appendix = [
        event_entry(t, e, with_replies=False) for e in ev if "timeline" in e.kinds and split_code(e.text)[1]
    ]
    put(
        "appendix",
        appendix,
        "No code or configuration was pinned. React with :pushpin: to a message with a code block.",
    )

    missing = [
        k for k, s in sections.items() if s.is_empty and k not in OPTIONAL and not k.startswith("lessons_")
    ]
    if "errors" in missing and traces:
        missing.remove("errors")
    if all(sections[f"lessons_{b}"].is_empty for b in lessons):
        missing.append("lessons")
    if not c.milestones.get(Milestone.STARTED):
        missing.append("metrics")
    started = c.milestones.get(Milestone.STARTED) or inc.created_at
    return DocumentModel(
        incident_ref=incident_ref(inc),
        title=inc.title,
        date=started.astimezone(c.tz).strftime("%Y-%m-%d"),
        reporter=t.who(inc.declarer_id) or "unknown",
        severity=severity_label(inc.severity),
        status=status_label(inc.status) + (" (closed)" if inc.is_closed else ""),
        related_issue=inc.related_issue,
        draft=c.draft,
        generated_at=c.now,
        timezone=c.timezone_name,
        summary=inc.summary or None,
        impact=impact,
        environment=environment,
        sections=sections,
        steps=steps,
        timeline=rows,
        metrics=metrics(c.milestones),
        participants=participants,
        milestones=dict(c.milestones),
        missing_sections=missing,
    )


def _at(e: MarkedEvent) -> datetime:
    return e.at


def _links(t: Text, events: Sequence[MarkedEvent], pattern: re.Pattern[str]) -> list[Link]:
    out: list[Link] = []
    seen: set[str] = set()
    for e in events:
        for url in find_links(e.text or e.plain_text, pattern):
            if url not in seen:
                seen.add(url)
                out.append(Link(url=url, label=url, source=e.permalink))
    return out


def find_links(slack_text: str, pattern: re.Pattern[str]) -> list[str]:
    """URLs (Slack's `<url|label>` or bare) that match ``pattern``."""
    urls = []
    for m in re.finditer(r"<(https?://[^|>]+)(?:\|[^>]*)?>", slack_text):
        urls.append(m.group(1).replace("&amp;", "&"))
    bare = re.sub(r"<https?://[^>]*>", " ", slack_text)
    urls += [u.replace("&amp;", "&") for u in URL.findall(bare)]
    return [u for u in urls if pattern.search(u)]


def _action_items(t: Text, c: Collected) -> list[ActionEntry]:
    out = [
        ActionEntry(
            text=a.text, owner=t.who(a.owner_id), done=a.done, horizon=a.horizon, permalink=a.permalink
        )
        for a in c.action_items
    ]
    recorded = {a.source_ts for a in c.action_items if a.source_ts}
    for e in _by_kind(c.events, "action_item"):
        if e.message_ts and e.message_ts in recorded:
            continue
        text = t.plain(split_code(e.text)[0]) if e.text else e.plain_text
        head, sep, rest = text.partition(":")
        horizon = "short"
        key = head.strip().lower()
        if sep and key in {"immediate", "now", "short", "short-term", "long", "long-term"}:
            horizon = {"now": "immediate", "short-term": "short", "long-term": "long"}.get(key, key)
            text = rest.strip()
        entry = ActionEntry(
            text=text, owner=t.who(e.author_id), done=False, horizon=horizon, permalink=e.permalink
        )
        out.append(_with_ticket(entry, c, e.message_ts))
    return out


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
    )


def _participants(t: Text, c: Collected) -> list[Participant]:
    roles_by_user: dict[str, list[str]] = {}
    for role, uid in c.roles.items():
        roles_by_user.setdefault(uid, []).append(role)
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


def related_links(slack_text: str) -> list[str]:
    return find_links(slack_text, TRACKER)
