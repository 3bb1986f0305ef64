"""`incident-bot workflows try`: the rules replayed on the recorded history of past incidents (pure).

Each incident's recorded events (declared, and every severity, status, type, field and role change,
each with the incident as it was right after) are fed to the same evaluation the live engine runs,
in order, with the same once-per-incident rule; timers fire at their due time unless cancelled or
the incident was closed by then; a delayed rule is run only if its conditions still hold at the end
of the delay (judged on the incident as it was then).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.incidents.vocabulary import incident_ref
from bot.workflows.evaluate import (
    Event,
    Rules,
    Snapshot,
    TimerFacts,
    cancelled,
    conditions_hold,
    timer_event,
)
from bot.workflows.model import On


@dataclass(frozen=True)
class Recorded:
    """One recorded event (a ``workflow_events`` row, or a recorded channel message: no snapshot,
    the incident as its last event left it)."""

    incident_id: int
    kind: str
    at: datetime
    key: str
    field: str | None
    snapshot: Mapping[str, object] | None
    text: str | None = None
    detail: Mapping[str, object] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Tried:
    """A run the rules would have made: its steps would have run at ``at``."""

    number: int
    rule: str
    trigger: str
    at: datetime
    steps: tuple[str, ...]
    skipped: str | None = None  # why it would not have run after all (a delay's re-check)

    def line(self, tz: tzinfo) -> str:
        when = self.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        what = f"skipped: {self.skipped}" if self.skipped else ", ".join(self.steps)
        return f"{incident_ref(self.number)}  {when}  {self.rule}  on {self.trigger}  -> {what}"


def _as_of(history: Sequence[Recorded], at: datetime) -> Snapshot | None:
    """The incident as it was at ``at`` (its last recorded state then)."""
    last = None
    for r in history:
        if r.at > at:
            break
        if r.snapshot is not None:
            last = r.snapshot
    return Snapshot.from_json(last) if last is not None else None


def replay(
    rules: Rules,
    events: Sequence[Recorded],
    status_updates: Mapping[int, Sequence[datetime]],
    now: datetime,
    tz: tzinfo,
    milestones: Mapping[int, Mapping[str, datetime]] | None = None,
) -> list[Tried]:
    """What the rules would have done for these incidents, in time order (``milestones``: each
    incident's milestones as recorded, for timers counting from one)."""
    by_incident: dict[int, list[Recorded]] = {}
    for e in events:
        by_incident.setdefault(e.incident_id, []).append(e)
    out: list[Tried] = []
    for history in by_incident.values():
        history.sort(key=lambda r: (r.at, r.snapshot is None))
        incident_id = history[0].incident_id
        stones = (milestones or {}).get(incident_id, {})
        out += _replay_one(rules, history, status_updates.get(incident_id, ()), now, tz, stones)
    out.sort(key=lambda t: (t.at, t.number, t.rule))
    return out


def _replay_one(
    rules: Rules,
    history: list[Recorded],
    updates: Sequence[datetime],
    now: datetime,
    tz: tzinfo,
    milestones: Mapping[str, datetime],
) -> list[Tried]:
    taken: list[str] = []
    out: list[Tried] = []
    declared = next((r for r in history if r.kind == On.DECLARED.value), None)
    for r in history:
        try:
            kind = On(r.kind)
        except ValueError:
            continue
        snap = Snapshot.from_json(r.snapshot) if r.snapshot is not None else _as_of(history, r.at)
        if snap is None:
            continue
        for p in rules.plan(snap, Event(kind, r.at, r.key, r.field, r.text, r.detail), tz, taken):
            taken.append(p.run_key)
            out.append(
                _tried(
                    rules,
                    p.rule.name,
                    kind.value,
                    p.not_before,
                    snap,
                    history,
                    tz,
                    delayed=bool(p.rule.delay),
                )
            )
    if declared is not None:
        facts = TimerFacts(
            declared_at=declared.at,
            status_updates=list(updates),
            status_changes=[r.at for r in history if r.kind == On.STATUS_CHANGED.value],
            milestones=milestones,
        )
        for rule in rules.timers:
            event = timer_event(rule, facts)
            if event is None:
                continue
            snap_then = _as_of(history, event.at)
            if event.at > now or snap_then is None or snap_then.status == "closed":
                continue
            if cancelled(rule, facts, event.at):
                continue
            for p in rules.plan(snap_then, event, tz, taken):
                if p.rule is rule:
                    taken.append(p.run_key)
                    out.append(
                        _tried(
                            rules, rule.name, "timer", p.not_before, snap_then, history, tz, bool(rule.delay)
                        )
                    )
    return out


def _tried(
    rules: Rules,
    name: str,
    trigger: str,
    at: datetime,
    snap: Snapshot,
    history: Sequence[Recorded],
    tz: tzinfo,
    delayed: bool,
) -> Tried:
    rule = rules.named(name)
    assert rule is not None
    skipped = None
    if delayed:
        later = _as_of(history, at) or snap
        if not conditions_hold(rule.conditions, later, at.astimezone(tz).time()):
            skipped = "the conditions no longer held after the delay"
    return Tried(snap.number, name, trigger, at, tuple(s.kind for s in rule.steps), skipped)
