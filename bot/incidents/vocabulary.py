"""The incident vocabulary, defined once: severities, statuses, milestones, and the `INC-<n>` name.

The seed's lifecycle is New → Investigating → Root Cause Found → Fixed → Verified. Members are
``StrEnum``s with a ``label``; the tables derived from them (words people type, orders) hold
plain ``str`` values, which is what the database stores (``"sev1"``, ``"root_cause_found"``), so
an enum member never reaches a database driver. Pure: imports nothing from the bot.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Severity(StrEnum):
    """sev1 is the most severe; the values order from most to least severe."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @property
    def label(self) -> str:
        return SEVERITY_LABELS[self]


SEVERITY_LABELS: dict[str, str] = {
    Severity.SEV1: "Critical",
    Severity.SEV2: "High",
    Severity.SEV3: "Medium",
    Severity.SEV4: "Low",
}
# What a person may type for a severity: its name or its label.
SEVERITY_WORDS: dict[str, str] = {
    **{s.value: s.value for s in Severity},
    **{s.label.lower(): s.value for s in Severity},
}
SEVERITIES = tuple(s.value for s in Severity)


def severity_label(severity: str) -> str:
    return SEVERITY_LABELS.get(severity, severity)


def severity_text(severity: str) -> str:
    """``SEV2 · High``: how cards and messages show a severity."""
    return f"{severity.upper()} · {severity_label(severity)}"


class Status(StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    ROOT_CAUSE_FOUND = "root_cause_found"
    FIXED = "fixed"
    VERIFIED = "verified"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_ORDER = tuple(s.value for s in Status)
STATUS_LABELS: dict[str, str] = {
    Status.NEW: "New",
    Status.INVESTIGATING: "Investigating",
    Status.ROOT_CAUSE_FOUND: "Root Cause Found",
    Status.FIXED: "Fixed",
    Status.VERIFIED: "Verified",
}
# What a person may type for a status (after lower-casing and joining words with "_").
STATUS_ALIASES: dict[str, str] = {
    "new": Status.NEW.value,
    "investigating": Status.INVESTIGATING.value,
    "identified": Status.ROOT_CAUSE_FOUND.value,
    "root_cause_found": Status.ROOT_CAUSE_FOUND.value,
    "rootcause": Status.ROOT_CAUSE_FOUND.value,
    "mitigated": Status.FIXED.value,
    "fixed": Status.FIXED.value,
    "resolved": Status.FIXED.value,
    "verified": Status.VERIFIED.value,
}
RESOLVED_STATUS = Status.FIXED.value  # what `resolve` moves an incident to
REOPENED_STATUS = Status.INVESTIGATING.value  # … and `reopen`


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


# Besides the configured roles, a permission may name who someone is to the incident.
DECLARER = "declarer"
ANYONE_WHILE_NO_LEAD = "anyone_while_no_lead"
STANDINGS = (DECLARER, ANYONE_WHILE_NO_LEAD)


class Milestone(StrEnum):
    STARTED = "started"
    DETECTED = "detected"
    DECLARED = "declared"
    IDENTIFIED = "identified"
    FIXED = "fixed"
    VERIFIED = "verified"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return MILESTONE_LABELS[self]


MILESTONE_LABELS: dict[str, str] = {
    Milestone.STARTED: "Impact started",
    Milestone.DETECTED: "Problem detected",
    Milestone.DECLARED: "Incident declared",
    Milestone.IDENTIFIED: "Root cause identified",
    Milestone.FIXED: "Fix applied",
    Milestone.VERIFIED: "Fix verified",
    Milestone.CLOSED: "Incident closed",
}
ALL_MILESTONES = tuple(m.value for m in Milestone)
# The chain started ≤ detected ≤ identified ≤ fixed ≤ verified.
MILESTONE_ORDER = tuple(
    m.value
    for m in (
        Milestone.STARTED,
        Milestone.DETECTED,
        Milestone.IDENTIFIED,
        Milestone.FIXED,
        Milestone.VERIFIED,
    )
)
# `declared` is outside the chain (it is when the bot was told, which may be after the fix in a
# replay); it may only not precede `started`. `closed` is set by `close` alone.
SETTABLE_MILESTONES = tuple(m.value for m in Milestone if m != Milestone.CLOSED)
# The milestone set the first time a status is reached.
STATUS_MILESTONE: dict[str, str] = {
    Status.ROOT_CAUSE_FOUND: Milestone.IDENTIFIED.value,
    Status.FIXED: Milestone.FIXED.value,
    Status.VERIFIED: Milestone.VERIFIED.value,
}


class Numbered(Protocol):
    @property
    def number(self) -> int: ...


def incident_ref(incident: Numbered | int) -> str:
    """An incident's public name, ``INC-<n>``, from the incident or its number."""
    number = incident if isinstance(incident, int) else incident.number
    return f"INC-{number}"


# An incident recorded from a Slack export's channel history (``incident-bot import slack-export``)
# carries this dedupe key prefix, then the channel's id: found again by it, and said in its document.
IMPORTED_KEY_PREFIX = "slack-export:"


def imported_from(dedupe_key: str | None, channel_name: str | None) -> str | None:
    """How an imported incident's document says where it came from; None for one declared here."""
    if not dedupe_key or not dedupe_key.startswith(IMPORTED_KEY_PREFIX):
        return None
    return f"from the history of #{channel_name or dedupe_key[len(IMPORTED_KEY_PREFIX) :]} in a Slack export"
