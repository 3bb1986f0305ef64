"""The lifecycle's rules as pure functions: status and severity moves, milestone order, permissions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from bot.incidents.timeparse import format_time
from bot.incidents.vocabulary import (
    ANYONE_WHILE_NO_LEAD,
    DECLARER,
    MILESTONE_ORDER,
    STATUS_MILESTONE,
    STATUS_ORDER,
    Milestone,
)

Direction = Literal["same", "forward", "backward"]


@dataclass(frozen=True)
class Move:
    old: str
    new: str
    direction: Direction

    @property
    def changed(self) -> bool:
        return self.direction != "same"


def status_move(old: str, new: str) -> Move:
    if old == new:
        return Move(old, new, "same")
    forward = STATUS_ORDER.index(new) > STATUS_ORDER.index(old) if old in STATUS_ORDER else True
    return Move(old, new, "forward" if forward else "backward")


def severity_move(old: str, new: str) -> Move:
    """sev1 is the most severe, so moving towards sev1 is "forward" (an escalation)."""
    if old == new:
        return Move(old, new, "same")
    return Move(old, new, "forward" if new < old else "backward")


def milestones_reached(status: str) -> tuple[str, ...]:
    """The milestone a status marks (Root Cause Found → identified, …), empty for the others."""
    name = STATUS_MILESTONE.get(status)
    return (name,) if name else ()


def order_conflict(milestones: Mapping[str, datetime], name: str, at: datetime, tz: tzinfo) -> str | None:
    """Why setting ``name`` to ``at`` would break started ≤ detected ≤ identified ≤ fixed ≤ verified."""
    chain = " ≤ ".join(MILESTONE_ORDER)

    def conflict(other: str, relation: str) -> str:
        return (
            f"`{name}` at {format_time(at, tz)} would be {relation} `{other}` "
            f"({format_time(milestones[other], tz)}); milestones go {chain}."
        )

    if name == Milestone.DECLARED:
        started = milestones.get(Milestone.STARTED)
        return conflict(Milestone.STARTED, "before") if started and at < started else None
    if name not in MILESTONE_ORDER:
        return None
    pos = MILESTONE_ORDER.index(name)
    for other in reversed(MILESTONE_ORDER[:pos]):
        if other in milestones and milestones[other] > at:
            return conflict(other, "before")
    for other in MILESTONE_ORDER[pos + 1 :]:
        if other in milestones and milestones[other] < at:
            return conflict(other, "after")
    declared = milestones.get(Milestone.DECLARED)
    if name == Milestone.STARTED and declared is not None and declared < at:
        return conflict(Milestone.DECLARED, "after")
    return None


def standing(
    user_id: str, roles: Mapping[str, str], declarer_id: str | None, lead_role: str = "lead"
) -> list[str]:
    """What ``user_id`` holds on an incident: its roles, ``declarer`` if they declared it, and
    ``anyone_while_no_lead`` for everyone while nobody leads."""
    held = [role for role, user in roles.items() if user == user_id]
    if declarer_id and user_id == declarer_id:
        held.append(DECLARER)
    if not roles.get(lead_role):
        held.append(ANYONE_WHILE_NO_LEAD)
    return held


def allowed(permission: str | Iterable[str], roles_held: Iterable[str]) -> bool:
    """Permission is "anyone" or a list of roles (and standings); holding any of them is enough."""
    if permission == "anyone":
        return True
    return bool(set(permission) & set(roles_held))


def permission_text(permission: str | Iterable[str]) -> str:
    if permission == "anyone":
        return "anyone"
    names = ["anyone while nobody leads" if r == ANYONE_WHILE_NO_LEAD else f"the {r}" for r in permission]
    return " or ".join(names) if names else "nobody"
