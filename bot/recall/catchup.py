"""An incident's catch-up: where it stands and what was marked since a moment. Pure: the record
in (the incident, its roles, status updates and marked events as the document collects them),
plain data out; the same record and moment give the same answer."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.incidents.vocabulary import incident_ref, severity_text, status_label
from bot.postmortem.document_text import CONFIRMED, MAX_MATCHED_LINE, RULED_OUT
from bot.postmortem.model import MarkedEvent
from storage.models import Incident, StatusUpdate

# The timeline's kinds a late joiner asks about, in the order the document tells them.
GROUPS: tuple[tuple[str, str], ...] = (
    ("finding", "Findings"),
    ("hypothesis", "Hypotheses"),
    ("root_cause", "Root cause"),
    ("fix", "Fixes"),
    ("open_question", "Open questions"),
    ("action_item", "Action items"),
)


@dataclass(frozen=True)
class Fact:
    at: datetime
    text: str  # Slack-formatted, as captured
    plain_text: str
    author_id: str | None
    permalink: str | None
    note: str | None = None  # a hypothesis: "confirmed" | "ruled out"


@dataclass(frozen=True)
class Update:
    text: str  # Slack-formatted
    at: datetime
    author_id: str


@dataclass(frozen=True)
class CatchUp:
    ref: str
    title: str
    status: str
    severity: str
    lead: str | None
    roles: tuple[tuple[str, str], ...]  # (role, user id), the lead left out
    root_cause: str | None  # recorded on the Resolve form
    fix: str | None
    latest_update: Update | None
    since: datetime | None
    since_said: str  # "since 2026-03-02 14:00 UTC (your last message here)"
    groups: tuple[tuple[str, tuple[Fact, ...]], ...]  # (label, facts in time order), empty ones left out

    @property
    def found(self) -> int:
        return sum(len(facts) for _, facts in self.groups)


def _said(e: MarkedEvent, pattern: re.Pattern[str]) -> bool:
    return any(pattern.search(r.text[:MAX_MATCHED_LINE]) for r in e.replies if not r.deleted)


def _note(e: MarkedEvent, kind: str) -> str | None:
    """A hypothesis as the document judges it: ruled out in its thread, or confirmed (also a root
    cause, or said so in its thread)."""
    if kind != "hypothesis":
        return None
    if _said(e, RULED_OUT):
        return "ruled out"
    if "root_cause" in e.kinds or _said(e, CONFIRMED):
        return "confirmed"
    return None


def catch_up(
    incident: Incident,
    roles: Mapping[str, str],
    updates: Sequence[StatusUpdate],
    events: Sequence[MarkedEvent],
    since: datetime | None,
    since_said: str,
) -> CatchUp:
    """``events``: the visible timeline with each event's active kinds (``collect.marked_events``)."""
    latest = max(updates, key=lambda u: (u.posted_at, u.id or 0), default=None)
    ordered = sorted(events, key=lambda e: (e.at, e.message_ts or ""))
    groups = []
    for kind, label in GROUPS:
        facts = tuple(
            Fact(e.at, e.text, e.plain_text, e.author_id, e.permalink, _note(e, kind))
            for e in ordered
            if kind in e.kinds and not e.source_deleted and (since is None or e.at >= since)
        )
        if facts:
            groups.append((label, facts))
    return CatchUp(
        ref=incident_ref(incident),
        title=incident.title,
        status="Closed" if incident.is_closed else status_label(incident.status),
        severity=severity_text(incident.severity),
        lead=roles.get("lead"),
        roles=tuple((role, user) for role, user in roles.items() if role != "lead"),
        root_cause=incident.root_cause or None,
        fix=incident.fix or None,
        latest_update=Update(latest.text, latest.posted_at, latest.author_id) if latest else None,
        since=since,
        since_said=since_said,
        groups=tuple(groups),
    )
