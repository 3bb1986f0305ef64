"""Which rules an event starts, and which timers are due: pure functions of the rules, a snapshot of
the incident and the event (no Slack, no database), shared by the live engine and `workflows try`.

A run is named by its *run key*: ``<rule>:once`` for a rule that runs once per incident, or
``<rule>:<event key>`` with ``repeat = true``. Whoever records a run key first runs it; everybody
else (another replica, a retried delivery, a restart) finds it taken.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from bot.incidents.vocabulary import SEVERITIES
from bot.workflows.model import Comparison, Conditions, On, Since, Unless, Workflow

_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # 0 is the most severe


@dataclass(frozen=True)
class Snapshot:
    """What conditions look at: the incident as it is after the event."""

    incident_id: int
    number: int
    title: str
    type: str
    severity: str
    status: str  # a closed incident's status is "closed"
    private: bool
    channel_id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    alert_labels: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "number": self.number,
            "title": self.title,
            "type": self.type,
            "severity": self.severity,
            "status": self.status,
            "private": self.private,
            "channel_id": self.channel_id,
            "fields": dict(self.fields),
            "alert_labels": dict(self.alert_labels),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Event:
    """Something that happened to an incident; ``key`` is unique to it (a repeat rule runs per key)."""

    kind: On
    at: datetime
    key: str
    field: str | None = None  # field_changed: which one
    text: str | None = None  # message: its text
    detail: Mapping[str, Any] = dataclasses.field(
        default_factory=dict
    )  # checklist_ticked: checklist, item, position


@dataclass(frozen=True)
class Planned:
    """A run a rule asks for: its steps run from ``not_before`` on (after the rule's delay)."""

    rule: Workflow
    event: Event
    run_key: str
    not_before: datetime


def run_key(rule: Workflow, event: Event) -> str:
    """``<rule>:once``, or ``<rule>:<digest of the event key>`` for a repeat rule (event keys of
    changes made by earlier runs nest; the digest keeps every key short)."""
    if not rule.repeat:
        return f"{rule.name}:once"
    return f"{rule.name}:{hashlib.sha256(event.key.encode()).hexdigest()[:16]}"


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _subject(c: Comparison, snap: Snapshot, local: time) -> Any:
    name = c.field
    if name.startswith("fields."):
        return snap.fields.get(name.removeprefix("fields."))
    if name.startswith("alert.labels."):
        return snap.alert_labels.get(name.removeprefix("alert.labels."))
    if name == "time":
        return local.strftime("%H:%M")
    return getattr(snap, name, None)


def holds(c: Comparison, snap: Snapshot, local: time) -> bool:
    """One comparison against the snapshot; an unset value holds nothing but ``is_set = false``."""
    actual = _subject(c, snap, local)
    op, want = c.op, c.value
    if op == "is_set":
        return (actual is not None and actual != []) == want
    if actual is None:
        return False
    if op == "is":
        return actual == want if isinstance(want, bool) else str(actual) == str(want) or actual == want
    if op == "one_of":
        return str(actual) in want
    if op in ("gte", "lt"):
        if c.field == "severity":
            at_least = _SEV_RANK.get(str(actual), 99) <= _SEV_RANK.get(str(want), -1)
        elif c.field == "time":
            at_least = str(actual) >= str(want)
        else:
            try:
                at_least = float(actual) >= float(want)
            except (TypeError, ValueError):
                return False
        return at_least if op == "gte" else not at_least
    if op == "contains":
        if isinstance(actual, list):
            return str(want) in [str(a) for a in actual]
        return str(want).lower() in str(actual).lower()
    if op == "matches":
        text = ", ".join(map(str, actual)) if isinstance(actual, list) else str(actual)
        return _regex(str(want)).search(text) is not None
    return False


def conditions_hold(conditions: Conditions, snap: Snapshot, local: time) -> bool:
    return (
        all(holds(c, snap, local) for c in conditions.all)
        and (not conditions.any or any(holds(c, snap, local) for c in conditions.any))
        and not any(holds(c, snap, local) for c in conditions.none)
    )


class Rules:
    """The enabled rules indexed by trigger, so an event looks only at the rules it can start."""

    def __init__(self, rules: Iterable[Workflow], include_disabled: bool = False) -> None:
        self.rules = [r for r in rules if r.enabled or include_disabled]
        self.by_trigger: dict[On, list[Workflow]] = {}
        for r in self.rules:
            self.by_trigger.setdefault(r.trigger.on, []).append(r)

    def named(self, name: str) -> Workflow | None:
        return next((r for r in self.rules if r.name == name), None)

    def hears(self, text: str) -> bool:
        """Whether some `message` rule's pattern matches ``text`` (checked before any database read)."""
        return any(_regex(r.trigger.pattern or "").search(text) for r in self.by_trigger.get(On.MESSAGE, ()))

    @property
    def timers(self) -> list[Workflow]:
        return self.by_trigger.get(On.TIMER, [])

    def plan(self, snap: Snapshot, event: Event, tz: tzinfo, taken: Sequence[str] = ()) -> list[Planned]:
        """The runs ``event`` starts: rules on its trigger whose conditions hold now, except run
        keys already ``taken``. A delayed rule's conditions are checked again when it is due."""
        local = event.at.astimezone(tz).time()
        out = []
        for rule in self.by_trigger.get(event.kind, ()):
            if event.kind == On.FIELD_CHANGED and rule.trigger.field not in (None, event.field):
                continue
            if event.kind == On.MESSAGE and not _regex(rule.trigger.pattern or "").search(event.text or ""):
                continue
            if event.kind == On.CHECKLIST_TICKED and not ticked_matches(rule, event.detail):
                continue
            key = run_key(rule, event)
            if key in taken or not conditions_hold(rule.conditions, snap, local):
                continue
            out.append(Planned(rule, event, key, event.at + rule.wait))
        return out


def ticked_matches(rule: Workflow, detail: Mapping[str, Any]) -> bool:
    """A `checklist_ticked` rule's filter (checklist name, item text or 1-based position)."""
    t = rule.trigger
    if t.checklist is not None and detail.get("checklist") != t.checklist:
        return False
    if isinstance(t.item, int):
        return bool(detail.get("position") == t.item)
    if t.item is not None:
        return " ".join(t.item.split()).lower() == str(detail.get("item") or "").lower()
    return True


@dataclass(frozen=True)
class TimerFacts:
    """When an incident's milestones and the things that cancel a timer happened."""

    declared_at: datetime
    status_updates: Sequence[datetime] = ()
    status_changes: Sequence[datetime] = ()
    milestones: Mapping[str, datetime] = field(default_factory=dict)  # set milestones, by name

    def since(self, rule: Workflow) -> datetime | None:
        """When the rule's timer starts counting: its milestone's time, None while it is unset."""
        if rule.trigger.since == Since.DECLARED:
            return self.declared_at
        return self.milestones.get(rule.trigger.since.value)


def timer_event(rule: Workflow, facts: TimerFacts) -> Event | None:
    """The rule's timer on this incident, None while its milestone is not set. The key carries the
    milestone's time, so a milestone moved later starts a new timer."""
    start = facts.since(rule)
    if start is None:
        return None
    since = "" if rule.trigger.since == Since.DECLARED else f"{rule.trigger.since.value}@"
    return Event(On.TIMER, start + rule.trigger.delay, f"timer:{rule.name}:{since}{start.isoformat()}")


def cancelled(rule: Workflow, facts: TimerFacts, due: datetime) -> bool:
    unless = rule.trigger.unless
    start = facts.since(rule)
    if unless is None or start is None:
        return False
    times = facts.status_updates if unless == Unless.STATUS_UPDATE else facts.status_changes
    return any(start <= t <= due for t in times)


def due_timers(
    rules: Rules,
    snap: Snapshot,
    facts: TimerFacts,
    now: datetime,
    tz: tzinfo,
    taken: Sequence[str] = (),
    horizon: timedelta | None = None,
) -> list[Planned]:
    """Timer rules of an open incident due by ``now`` (not older than ``horizon``, if given: a
    timer long past when the bot first saw it is not run late), not cancelled, conditions holding."""
    if snap.status == "closed":
        return []
    out: list[Planned] = []
    for rule in rules.timers:
        event = timer_event(rule, facts)
        if event is None or event.at > now or (horizon is not None and now - event.at > horizon):
            continue
        if cancelled(rule, facts, event.at):
            continue
        out += [p for p in rules.plan(snap, event, tz, taken) if p.rule is rule]
    return out
