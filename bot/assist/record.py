"""What is sent to the model about one incident: its record as text (the catch-up's facts, in
time order, with their Slack mentions and links), redacted and bounded. Pure once read."""

from __future__ import annotations

import hashlib
from datetime import datetime, tzinfo

from bot.assist.redact import redact
from bot.incidents.timeparse import format_time
from bot.recall.catchup import CatchUp

OMITTED = "(older facts left out)"


def record_lines(c: CatchUp, tz: tzinfo) -> tuple[list[str], list[str]]:
    """(the head: who, where it stands; the facts, oldest first)."""
    head = [f"Incident {c.ref}: {c.title}", f"Status: {c.status}. Severity: {c.severity}."]
    if c.lead:
        head.append(f"Lead: <@{c.lead}>")
    head += [f"{role.capitalize()}: <@{user}>" for role, user in c.roles]
    if c.root_cause:
        head.append(f"Root cause (recorded): {c.root_cause}")
    if c.fix:
        head.append(f"Fix (recorded): {c.fix}")
    if c.latest_update:
        u = c.latest_update
        head.append(f"Latest status update ({_at(u.at, tz)}, <@{u.author_id}>): {u.text}")
    facts: list[tuple[datetime, str]] = []
    for label, group in c.groups:
        for f in group:
            who = f"<@{f.author_id}>" if f.author_id else "someone"
            note = f" ({f.note})" if f.note else ""
            facts.append((f.at, f"[{_at(f.at, tz)}] {label}{note}, {who}: {f.text}"))
    return head, [line for _, line in sorted(facts, key=lambda x: x[0])]


def _at(at: datetime, tz: tzinfo) -> str:
    return format_time(at, tz)


def bounded(head: list[str], facts: list[str], limit: int) -> str:
    """Head and facts within ``limit`` characters: the oldest facts go first."""
    kept = list(facts)
    text = "\n".join(head + kept)
    while kept and len(text) > limit:
        kept.pop(0)
        text = "\n".join([*head, OMITTED, *kept])
    return text[:limit]


def prepared(text: str, secrets: list[str]) -> str:
    return redact(text, secrets).text


def digest(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()
