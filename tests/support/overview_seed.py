"""Rows for the overview tests: incidents with milestones, action items and timeline events.

Action items are stored as the bot stores them: a message's event with a 📝 mark (the capture
path's repository calls) and, when done, its follow-up ticket in state "done"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.models import Incident, Milestone, TicketLink, TimelineEvent
from storage.repository import Repository

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def add_incident(
    repo: Repository,
    number: int,
    *,
    title: str = "",
    severity: str = "sev2",
    declared: datetime = T0,
    milestones: dict[str, timedelta] | None = None,
    closed: bool = False,
    private: bool = False,
    channel_id: str | None = None,
    actions: tuple[bool, ...] = (),
    events: int = 0,
) -> Incident:
    """One active incident; ``milestones`` are offsets from ``declared``."""
    from storage.db import session_scope

    with session_scope(repo.engine) as s:
        inc = Incident(
            number=number,
            title=title or f"Incident {number}",
            severity=severity,
            status="fixed" if closed else "investigating",
            is_closed=closed,
            is_private=private,
            state="active",
            channel_id=channel_id or f"CINC{number:06d}",
            channel_name=f"inc-{number}",
            declarer_id="U1",
            created_at=declared,
            updated_at=declared,
        )
        s.add(inc)
        s.flush()
        assert inc.id is not None
        for name, offset in (milestones or {}).items():
            s.add(Milestone(incident_id=inc.id, name=name, at=declared + offset))
        for i in range(events):
            s.add(
                TimelineEvent(
                    incident_id=inc.id,
                    at=declared + timedelta(minutes=i),
                    source="command",
                    kind="timeline",
                    text=f"event {i}",
                    plain_text=f"event {i}",
                    dedupe_key=f"seed-{number}-{i}",
                )
            )
        s.flush()
        s.refresh(inc)
    for i, done in enumerate(actions):
        add_action_item(repo, inc, f"{1000 + i}.000100", done=done)
    return inc


def add_action_item(repo: Repository, inc: Incident, ts: str, *, done: bool) -> None:
    assert inc.id is not None
    event = repo.ensure_message_event(
        TimelineEvent(
            incident_id=inc.id,
            at=inc.created_at,
            source="reaction",
            text=f"action {ts}",
            plain_text=f"action {ts}",
            author_id="U1",
            message_ts=ts,
        )
    )
    assert event.id is not None
    repo.set_mark(event.id, "action_item", "memo", "U1", active=True, changed_ts=ts)
    if done:
        repo.add_ticket_link(
            TicketLink(
                incident_id=inc.id,
                event_id=event.id,
                source_ts=ts,
                tracker="github",
                project="acme/ops",
                key=f"acme/ops#{event.id}",
                state="done",
            )
        )
