"""The document's sections (titles, the optional ones) and ``Sections``, the sections being filled
from the ``Collected`` data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from bot.postmortem.document_text import Text, event_entry
from bot.postmortem.model import ChannelDigest, Entry, MarkedEvent, Section
from bot.slack import mrkdwn
from storage.models import ActionItem, Incident, PublicUpdate, StatusUpdate

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
    "public_updates": "Public Updates",
    "participants": "Participants and Roles",
    "appendix": "Relevant Code and Configuration",
}
# Sections that are optional refinements: their absence is not reported as missing.
OPTIONAL = {
    "stack_traces",
    "fix_links",
    "lessons_other",
    "status_updates",
    "public_updates",
    "proper_fix",
    "prevention_long",
}


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
    role_history: list[tuple[str, str]] = field(default_factory=list)  # (role, user id), ended too
    public_updates: list[tuple[str, PublicUpdate]] = field(default_factory=list)  # (public title, update)


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


def by_kind(events: Sequence[MarkedEvent], kind: str) -> list[MarkedEvent]:
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
        return [self.entry(e) for e in by_kind(self.c.events, kind)]


def event_at(e: MarkedEvent) -> datetime:
    return e.at
