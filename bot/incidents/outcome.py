"""What a lifecycle change was asked by, and what came of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.models import Incident


@dataclass(frozen=True)
class Actor:
    """Who asked, and the Slack delivery that carried the request (the idempotency key)."""

    user_id: str
    dedupe_key: str


@dataclass
class Outcome:
    """What happened; ``note`` is for the actor alone (a no-op, a refusal, failed side effects)."""

    changed: bool
    note: str = ""
    incident: Incident | None = None
    warnings: list[str] = field(default_factory=list)

    def reply_text(self) -> str:
        parts = [self.note] if self.note else []
        if self.warnings:
            parts.append("Some Slack steps failed: " + "; ".join(self.warnings))
        return "\n".join(parts)


def unchanged(note: str) -> Outcome:
    return Outcome(False, note)
