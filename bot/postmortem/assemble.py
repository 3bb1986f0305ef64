"""Collected data → document model. Pure: no Slack, no database, no clock (``now`` is an input)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.incidents.metrics import metrics
from bot.incidents.vocabulary import MILESTONE_LABELS, incident_ref, severity_label, status_label
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
from bot.slack import mrkdwn
from bot.slack.mrkdwn import Block, Code, Names, Para
from bot.slack.text import escape, strip_control
from storage.models import ActionItem, Incident, StatusUpdate

URL = re.compile(r"https?://[^\s<>|\"')\]]{1,2000}")
SLACK_LINK = re.compile(r"<(https?://[^|<>\s]{1,2000})(?:\|[^<>]{0,2000})?>")
PR_OR_COMMIT = re.compile(r"/(pull|pulls|merge_requests)/\d+|/commit/[0-9a-f]{7,40}\b|/-/commit/", re.I)
TRACKER = re.compile(
    r"/issues/\d+|/browse/[A-Z][A-Z0-9]+-\d+|linear\.app/[^/\s]{1,100}/issue/|/-/issues/\d+|/tickets?/\d+",
    re.I,
)
RULED_OUT = re.compile(
    r"\b(ruled out|rule it out|not it|disproved|disproven|rejected|doesn'?t hold|does not hold|dead end)\b",
    re.I,
)
CONFIRMED = re.compile(r"\b(confirmed|that'?s it|this is it|root cause found)\b", re.I)
STACK_TRACE_MARKERS = (
    "Traceback (most recent call last)",
    "\tat ",
    "    at ",
    '  File "',
    "Exception in thread",
)
# Lines longer than this are never a "Key: value" line or a stack frame (bounds all line matching).
MAX_MATCHED_LINE = 500
MAX_KEY = 40

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
    channels: dict[str, str] = field(default_factory=dict)  # channel id -> name
    groups: dict[str, str] = field(default_factory=dict)  # user group id -> handle


# --------------------------------------------------------------------------- text helpers
def split_code(text: str) -> tuple[str, tuple[str, ...]]:
    """Slack-formatted text → (prose, code blocks). Code keeps its content byte for byte."""
    prose: list[str] = []
    blocks: list[str] = []
    rest = text
    while True:
        start = rest.find("```")
        end = rest.find("```", start + 3) if start >= 0 else -1
        if start < 0 or end < 0:
            prose.append(rest)
            break
        prose.append(rest[:start])
        body = rest[start + 3 : end]
        if body.strip():  # an empty ``` pair holds nothing to show
            blocks.append((body[1:] if body.startswith("\n") else body).rstrip("\n"))
        rest = rest[end + 3 :]
    return "\n".join(prose), tuple(blocks)


class Text:
    """Slack markup → the document's text: plain (for logic) and converted blocks (for rendering)."""

    def __init__(
        self,
        names: dict[str, str],
        channels: dict[str, str] | None = None,
        groups: dict[str, str] | None = None,
    ) -> None:
        self.names = names
        self.directory = Names(users=names, channels=dict(channels or {}), groups=dict(groups or {}))

        self._parsed: dict[str, tuple[Block, ...]] = {}

    def plain(self, slack_text: str) -> str:
        return strip_control(mrkdwn.blocks_plain(self.blocks(slack_text))).strip()

    def blocks(self, slack_text: str) -> tuple[Block, ...]:
        """Parsed once per text per document (a message marked with several kinds is in several
        sections, its thread replies too)."""
        found = self._parsed.get(slack_text)
        if found is None:
            found = self._parsed[slack_text] = mrkdwn.parse(slack_text, self.directory)
        return found

    def line(self, slack_text: str) -> mrkdwn.Line:
        return mrkdwn.one_line(slack_text, self.directory)

    def code(self, slack_code: str) -> str:
        """A code block's content: entities decoded, Slack's <url> and <@U…> wrappers unwrapped."""
        return "\n".join(
            mrkdwn.line_plain(mrkdwn.inline(line, self.directory, depth=mrkdwn.MAX_DEPTH + 1))
            if "<" in line
            else mrkdwn.decode(line)
            for line in slack_code.split("\n")
        )

    def who(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        return self.names.get(user_id, user_id)


def plain_entry(text: str, **kw: object) -> Entry:
    """An entry from plain text people typed into a form: shown exactly as typed."""
    return Entry(text=text, body=None, **kw)  # type: ignore[arg-type]


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


def _prose_entry(t: Text, slack_text: str, **kw: object) -> Entry:
    prose, code = split_code(slack_text)
    return Entry(
        text=t.plain(prose),
        body=t.blocks(prose),
        code=tuple(t.code(c) for c in code),
        **kw,  # type: ignore[arg-type]
    )


def reply_entry(t: Text, r: Reply) -> Entry:
    return _prose_entry(
        t,
        r.text,
        at=ts_time(r.ts),
        who=t.who(r.user_id),
        permalink=None if r.deleted else r.permalink,
        files=_files(r.files),
        source_deleted=r.deleted,
    )


def event_entry(
    t: Text,
    e: MarkedEvent,
    note: str | None = None,
    with_replies: bool = True,
    skip_replies: frozenset[str] = frozenset(),
    text: str | None = None,
) -> Entry:
    """An event as an entry; ``skip_replies`` are thread replies shown in another section."""
    source = text if text is not None else (e.text or escape(e.plain_text))
    replies = (
        tuple(reply_entry(t, r) for r in e.replies if not r.deleted and r.ts not in skip_replies)
        if with_replies
        else ()
    )
    return _prose_entry(
        t,
        source,
        at=e.at,
        who=t.who(e.author_id),
        permalink=None if e.source_deleted else e.permalink,
        files=_files(e.files),
        note=note,
        replies=replies,
        source_deleted=e.source_deleted,
    )


def key_value(line: str, keys: dict[str, str]) -> tuple[str, str] | None:
    """``Key: value`` (optionally a list item) with a known key → (field, value). Linear: no regex."""
    if len(line) > MAX_MATCHED_LINE:
        return None
    head, sep, value = line.partition(":")
    if not sep:
        return None
    head = head.strip(" \t").lstrip("-*•").strip(" \t").lower()
    if not head or len(head) > MAX_KEY:
        return None
    key = keys.get(head)
    value = value.strip(" \t")
    return (key, value) if key and value else None


def _key_values(text: str, keys: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        kv = key_value(line, keys)
        if kv and kv[0] not in found:
            found[kv[0]] = kv[1]
    return found


def looks_like_stack_trace(code: str) -> bool:
    """A Python/Java/JS stack trace: found by plain substring tests on bounded lines."""
    if "Traceback (most recent call last)" in code or "Exception in thread" in code:
        return True
    for line in code.splitlines():
        if len(line) > MAX_MATCHED_LINE:
            continue
        stripped = line.lstrip(" \t")
        if line != stripped and (
            stripped.startswith('File "') or (stripped.startswith("at ") and "(" in line)
        ):
            return True
    return False


def analysis_text(text: str) -> str | None:
    """``Analysis: …`` / ``Conclusion — …`` → what follows; None for other replies."""
    head = text[:40].lstrip(" \t").lower()
    for word in ("analysis", "conclusion"):
        if head.startswith(word):
            rest = text.lstrip(" \t")[len(word) :].lstrip(" \t")
            if rest[:1] in (":", "-", "—"):
                return rest[1:].lstrip(" \t")
    return None


def _thread_says(e: MarkedEvent, pattern: re.Pattern[str]) -> bool:
    return any(pattern.search(r.text[:MAX_MATCHED_LINE]) for r in e.replies if not r.deleted)


def fmt_time(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- sections
def _hint(kind: str, reactions: dict[str, str], extra: str = "") -> str:
    emojis = [name for name, k in reactions.items() if k == kind]
    shown = [mrkdwn.line_plain((mrkdwn._emoji(e),)) for e in emojis]
    how = (
        " or ".join(
            f"{s} (`:{e}:`)" if s != f":{e}:" else f"`:{e}:`" for s, e in zip(shown, emojis, strict=True)
        )
        if emojis
        else "a reaction configured for it (none is configured)"
    )
    text = f"Nothing recorded. React with {how} to a message in the incident channel to add it here."
    return text + (f" {extra}" if extra else "")


def _by_kind(events: Sequence[MarkedEvent], kind: str) -> list[MarkedEvent]:
    return [e for e in events if kind in e.kinds]


class Sections:
    """The document's sections being filled, with the hints for the empty ones."""

    def __init__(self, c: Collected) -> None:
        self.c = c
        self.t = Text(c.names, c.channels, c.groups)
        self.all: dict[str, Section] = {key: Section(key, title) for key, title in SECTION_TITLES.items()}
        kinds_of = {e.message_ts: set(e.kinds) for e in c.events if e.message_ts}
        self._kinds_of = kinds_of

    def put(self, key: str, entries: Iterable[object], empty: str) -> None:
        self.all[key].entries = list(entries)
        self.all[key].empty = None if self.all[key].entries else empty

    def hint(self, kind: str, extra: str = "") -> str:
        return _hint(kind, self.c.reactions, extra)

    def entry(self, e: MarkedEvent, note: str | None = None, with_replies: bool = True) -> Entry:
        """A thread reply that is itself marked is listed on its own, in the sections of the kinds
        it carries (in both only when it carries both), never again inside its parent's entry."""
        marked = frozenset(r.ts for r in e.replies if r.ts in self._kinds_of)
        return event_entry(self.t, e, note, with_replies, marked)

    def entries(self, kind: str) -> list[Entry]:
        return [self.entry(e) for e in _by_kind(self.c.events, kind)]


def assemble(c: Collected) -> DocumentModel:
    s = Sections(c)
    impact, environment = summary_section(s)
    expected_actual = bug_report_sections(s)
    steps = investigation_sections(s)
    hypothesis_sections(s)
    rows = timeline_section(s)
    fix_sections(s)
    prevention_sections(s)
    participants = people_sections(s)
    inc = c.incident
    started = c.milestones.get("started") or inc.created_at
    related = inc.related_issue or next((link.url for link in c.digest.links), None)
    return DocumentModel(
        incident_ref=incident_ref(inc),
        title=inc.title,
        date=started.astimezone(c.tz).strftime("%Y-%m-%d"),
        reporter=s.t.who(inc.declarer_id) or "unknown",
        severity=severity_label(inc.severity),
        status=status_label(inc.status) + (" (closed)" if inc.is_closed else ""),
        related_issue=related,
        draft=c.draft,
        generated_at=c.now,
        timezone=c.timezone_name,
        summary=inc.summary or None,
        customer_impact=inc.customer_impact or None,
        resolution=inc.resolution_summary or None,
        impact=impact,
        environment=environment,
        sections=s.all,
        steps=steps,
        timeline=rows,
        metrics=metrics(c.milestones),
        participants=participants,
        milestones=dict(c.milestones),
        missing_sections=missing_sections(s, expected_actual),
        fix_status=fix_status(c),
    )


def summary_section(s: Sections) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Impact and environment: the incident's fields, then ``Key: value`` lines of 🚨 messages.

    The lines parsed into fields are not repeated in the message's entry: what is left of it
    (its prose) is listed under Impact once."""
    inc, t = s.c.incident, s.t
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
    entries = []
    for e in _by_kind(s.c.events, "impact"):
        prose, _ = split_code(e.text or escape(e.plain_text))
        kept = []
        for line in prose.split("\n"):
            plain = t.plain(line)
            found = key_value(plain, IMPACT_KEYS) or key_value(plain, ENV_KEYS)
            if found is None:
                kept.append(line)
                continue
            target = impact if key_value(plain, IMPACT_KEYS) else environment
            target.setdefault(found[0], None)
            if not target[found[0]]:
                target[found[0]] = found[1]
        entries.append(
            s.entry(e)
            if len(kept) == len(prose.split("\n"))
            else replace(s.entry(e), text=t.plain("\n".join(kept)), body=t.blocks("\n".join(kept)))
        )
    s.put("impact", entries, s.hint("impact"))
    alerts = s.c.extra.get("alerts")
    if isinstance(alerts, list) and alerts:
        environment["alerts"] = "; ".join(str(a) for a in alerts)
    known = [f"{k}: {v}" for k, v in environment.items() if v]
    s.put(
        "environment",
        known,
        s.hint("impact", "Write `Environment: …`, `Version: …` and `Deployed: …` lines in it."),
    )
    return impact, environment


def bug_report_sections(s: Sections) -> bool:
    """Steps to reproduce, expected/actual, errors and stack traces, screenshots."""
    ev, t = s.c.events, s.t
    repro = _by_kind(ev, "reproduction")
    s.put("reproduction", [s.entry(e) for e in repro], s.hint("reproduction"))
    expected: list[Entry] = []
    actual: list[Entry] = []
    sources = {id(x): x for x in [*repro, *_by_kind(ev, "impact"), *_by_kind(ev, "error")]}
    for e in sorted(sources.values(), key=_at):
        prose = split_code(e.text or escape(e.plain_text))[0]
        for line in prose.split("\n"):
            low = t.plain(line[:MAX_MATCHED_LINE]).lower()
            for prefix, bucket in (("expected", expected), ("actual", actual)):
                if low.startswith(prefix):
                    rest = line.split(":", 1)[1].strip() if ":" in line else line.strip()
                    bucket.append(
                        Entry(
                            text=t.plain(rest),
                            body=t.blocks(rest),
                            at=e.at,
                            who=t.who(e.author_id),
                            permalink=e.permalink,
                        )
                    )
    s.put(
        "expected",
        expected,
        s.hint("reproduction", "Start a line with `Expected:` in a reproduction message."),
    )
    s.put("actual", actual, s.hint("reproduction", "Start a line with `Actual:` in a reproduction message."))
    errors = s.entries("error")
    traces = [x for x in errors if any(looks_like_stack_trace(code) for code in x.code)]
    s.put("errors", [x for x in errors if x not in traces], s.hint("error"))
    s.put("stack_traces", traces, "No stack trace was posted in a message marked as an error.")
    screenshots = [
        Entry(text=a.name, at=e.at, who=t.who(e.author_id), permalink=e.permalink, files=(a,))
        for e in ev
        for a in _files(e.files)
        if a.is_image
    ]
    seen_files = {a.permalink for x in screenshots for a in x.files}
    screenshots += [x for x in s.c.digest.images if not {a.permalink for a in x.files} & seen_files]
    s.put("screenshots", screenshots, "No images were posted in the incident channel.")
    return bool(traces)


def investigation_sections(s: Sections) -> list[Step]:
    """What we know (findings without code), investigation steps (findings with code), open questions."""
    steps: list[Step] = []
    known: list[Entry] = []
    for e in _by_kind(s.c.events, "finding"):
        entry = s.entry(e)
        if not entry.code:
            known.append(entry)
            continue
        analysis = next((r for r in entry.replies if analysis_text(r.text) is not None), None)
        step_findings = tuple(r for r in entry.replies if r is not analysis)
        if analysis is not None:
            reply = next(r for r in e.replies if r.ts and ts_time(r.ts) == analysis.at and not r.deleted)
            rest = analysis_text(split_code(reply.text)[0]) or ""
            analysis = replace(analysis, text=s.t.plain(rest), body=s.t.blocks(rest))
        first = split_code(e.text or escape(e.plain_text))[0].strip().split("\n")[0]
        title_line = mrkdwn.shorten(s.t.line(first), 120) if first else (mrkdwn.Text("Investigation step"),)
        steps.append(
            Step(
                title=mrkdwn.line_plain(title_line),
                commands=entry.code,
                findings=step_findings,
                analysis=analysis,
                source=replace(entry, body=(Para((title_line,)),)),
            )
        )
    s.put("known", known, s.hint("finding"))
    s.put("steps", steps, s.hint("finding", "A finding whose message holds a code block becomes a step."))
    s.put("unknown", s.entries("open_question"), s.hint("open_question"))
    return steps


def hypothesis_sections(s: Sections) -> None:
    """The primary hypothesis (confirmed, else the latest open one), the others, the root cause."""
    ev = s.c.events
    root_ts = {e.message_ts for e in _by_kind(ev, "root_cause") if e.message_ts}
    judged: list[tuple[MarkedEvent, str | None]] = []
    for e in _by_kind(ev, "hypothesis"):
        if _thread_says(e, RULED_OUT):
            judged.append((e, "ruled out"))
        elif (e.message_ts and e.message_ts in root_ts) or _thread_says(e, CONFIRMED):
            judged.append((e, "confirmed"))
        else:
            judged.append((e, None))
    primary = next((e for e, n in judged if n == "confirmed"), None) or next(
        (e for e, n in reversed(judged) if n is None), None
    )
    s.put(
        "primary_hypothesis",
        [s.entry(e, n) for e, n in judged if e is primary],
        s.hint("hypothesis"),
    )
    s.put(
        "alternative_hypotheses",
        [s.entry(e, n or "not confirmed") for e, n in judged if e is not primary],
        s.hint("hypothesis", "Reply `ruled out` in a hypothesis's thread to record a wrong turn."),
    )
    root_entries = s.entries("root_cause")
    if s.c.incident.root_cause:
        root_entries.insert(0, plain_entry(s.c.incident.root_cause, note="from the Resolve form"))
    s.put("root_cause", root_entries, s.hint("root_cause"))


TIMELINE_CELL = 200


def timeline_section(s: Sections) -> list[TimelineRow]:
    """Milestones, marked messages, the bot's own lines and status updates, in time order."""
    c, t = s.c, s.t
    rows: list[TimelineRow] = []
    event_kinds = {k for e in c.events for k in e.kinds}
    for name, at in c.milestones.items():
        if name in MILESTONE_LABELS and name not in event_kinds:
            rows.append(TimelineRow(at=at, event=MILESTONE_LABELS[name], who=None, link=None))
    for e in c.events:
        if "milestone" in e.kinds:
            continue  # the milestone rows above carry the current value
        prose = split_code(e.text or escape(e.plain_text))[0]
        line = t.line(prose) or (
            (Code("code"),) if e.text.count("```") >= 2 else (mrkdwn.Text("(file only)"),)
        )
        line = mrkdwn.shorten(line, TIMELINE_CELL)
        if e.source_deleted:
            line = (*line, mrkdwn.Text(" (source message deleted)"))
        rows.append(
            TimelineRow(
                at=e.at,
                event=mrkdwn.line_plain(line),
                who=t.who(e.author_id),
                link=None if e.source_deleted else e.permalink,
                kinds=e.kinds,
                line=line,
            )
        )
    for u in c.updates if "update" not in event_kinds else ():
        line = mrkdwn.shorten((mrkdwn.Text("Status update: " + " ".join(u.text.split())),), TIMELINE_CELL)
        rows.append(
            TimelineRow(
                at=u.posted_at, event=mrkdwn.line_plain(line), who=t.who(u.author_id), link=None, line=line
            )
        )
    rows.sort(key=lambda r: r.at)
    s.put(
        "timeline",
        rows,
        "Nothing is on the timeline yet. React with 📌 (`:pushpin:`) to a message to add it.",
    )
    return rows


def fix_sections(s: Sections) -> None:
    """Immediate fix (marked up to the ``fixed`` time, and the Resolve form's fix), proper fix, PRs,
    verification."""
    c, t = s.c, s.t
    fixed_at = c.milestones.get("fixed")
    fixes = _by_kind(c.events, "fix")
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
    for e in _by_kind(s.c.events, "lesson"):
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
        [plain_entry(u.text, at=u.posted_at, who=t.who(u.author_id)) for u in c.updates],
        "No status update was posted. `/incident update <text>` posts one.",
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
    urls = [m.group(1).replace("&amp;", "&") for m in SLACK_LINK.finditer(slack_text)]
    bare = SLACK_LINK.sub(" ", slack_text)
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
