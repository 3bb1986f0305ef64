"""The document model: what assemble produces and the templates render. Plain data, no Slack, no DB."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The document shows the metrics; they are computed by the incident rules (re-exported here).
from bot.incidents.metrics import Metric as Metric
from bot.incidents.metrics import format_duration as format_duration
from bot.slack.mrkdwn import Block, Line


@dataclass(frozen=True)
class Attachment:
    name: str
    permalink: str | None
    is_image: bool = False
    mimetype: str | None = None
    local: str | None = None  # the copy beside the document (``files/…``), when it has a file id


def safe_name(name: str) -> str:
    """A file name safe on any disk: what the pinned downloads are saved under."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:120] or "file"


def local_file(file_id: str, name: str) -> str:
    """Where a pinned file is downloaded to, relative to the document's copy."""
    return f"files/{safe_name(file_id)}-{safe_name(name)}"


@dataclass(frozen=True)
class Entry:
    """One claim in the document, always traceable to the message it came from."""

    text: str  # plain text: prose with code blocks removed, names resolved
    at: datetime | None = None
    who: str | None = None  # display name
    permalink: str | None = None
    code: tuple[str, ...] = ()  # code blocks, verbatim
    files: tuple[Attachment, ...] = ()
    note: str | None = None  # e.g. "ruled out"
    replies: tuple[Entry, ...] = ()
    source_deleted: bool = False
    body: tuple[Block, ...] | None = None  # the prose as converted from Slack (None: ``text`` is plain)


@dataclass(frozen=True)
class Step:
    """An investigation step: the command run, what it showed, what we concluded."""

    title: str
    commands: tuple[str, ...]
    findings: tuple[Entry, ...]
    analysis: Entry | None
    source: Entry


@dataclass(frozen=True)
class ActionEntry:
    text: str
    owner: str | None
    done: bool
    horizon: str  # immediate | short | long
    permalink: str | None = None
    ticket: str | None = None  # the follow-up ticket's key ("OPS-12"), its URL, state and assignee
    ticket_url: str | None = None
    ticket_state: str | None = None
    ticket_assignee: str | None = None


@dataclass(frozen=True)
class Link:
    url: str
    label: str
    source: str | None  # permalink of the message it was found in


@dataclass(frozen=True)
class RelatedIncident:
    """A similar past incident the document may name (public), with what fixed it."""

    ref: str
    title: str
    cause: str | None
    fix: str | None


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    event: str  # plain text
    who: str | None
    link: str | None
    kinds: tuple[str, ...] = ()
    line: Line | None = None  # the event as converted from Slack, shortened for the table


@dataclass(frozen=True)
class Participant:
    name: str
    roles: tuple[str, ...]
    messages: int


@dataclass
class Section:
    """A part of the document; ``empty`` says why there is nothing and what would fill it."""

    key: str
    title: str
    entries: list[Any] = field(default_factory=list)
    empty: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.entries


@dataclass
class DocumentModel:
    incident_ref: str
    title: str
    date: str
    reporter: str
    severity: str
    status: str
    related_issue: str | None
    draft: bool
    generated_at: datetime
    timezone: str
    summary: str | None
    customer_impact: str | None
    resolution: str | None
    impact: dict[str, str | None]
    environment: dict[str, str | None]
    sections: dict[str, Section]
    steps: list[Step]
    timeline: list[TimelineRow]
    metrics: list[Metric]
    participants: list[Participant]
    milestones: dict[str, datetime]
    missing_sections: list[str]  # section titles, as the document shows them
    fix_status: str = ""
    incident_type: str | None = None  # None: the default type
    fields: list[tuple[str, str]] = field(default_factory=list)  # custom fields: (label, value)
    template: str | None = None  # the incident type's template (None: the standard one)
    related_incidents: list[RelatedIncident] = field(default_factory=list)  # similar, public ones
    open_items: list[tuple[str, str, bool]] = field(default_factory=list)  # checklist, item, required
    imported: str | None = None  # where an imported incident's record came from

    def section(self, key: str) -> Section:
        return self.sections[key]


@dataclass(frozen=True)
class Reply:
    """A recorded thread reply (or any channel message), as assemble needs it."""

    ts: str
    user_id: str | None
    text: str  # Slack-formatted
    permalink: str | None = None
    files: tuple[dict[str, Any], ...] = ()
    deleted: bool = False


@dataclass(frozen=True)
class MarkedEvent:
    """A visible timeline event with the kinds marked on it and its thread, if any."""

    at: datetime
    kinds: tuple[str, ...]
    text: str  # Slack-formatted
    plain_text: str
    author_id: str | None
    permalink: str | None
    source: str = "reaction"
    message_ts: str | None = None
    files: tuple[dict[str, Any], ...] = ()
    replies: tuple[Reply, ...] = ()
    source_deleted: bool = False


@dataclass
class ChannelDigest:
    """What a single streamed pass over the channel's record keeps (bounded, never the messages)."""

    messages: int = 0
    per_user: dict[str, int] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    images: list[Entry] = field(default_factory=list)
