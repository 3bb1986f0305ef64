"""Action items' tickets in issue trackers (``ticket_links``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Incident, OutboxMessage, TicketLink, TimelineEvent, TimelineMark
from storage.stores import Store

ACTION_ITEM = "action_item"


def _visible_action_item(over_every_incident: bool = False) -> Any:
    """A timeline event that is not hidden and still carries an action-item mark.

    ``over_every_incident``: the same condition written as an IN over the live marks, for queries
    across all incidents (the planner then walks the 📝 marks, not every event); otherwise a
    correlated EXISTS, for one incident's events found by its index."""
    marks = select(TimelineMark.event_id).where(
        TimelineMark.kind == ACTION_ITEM, col(TimelineMark.removed_at).is_(None)
    )
    marked: ColumnElement[bool] = (
        col(TimelineEvent.id).in_(marks)
        if over_every_incident
        else marks.where(col(TimelineMark.event_id) == col(TimelineEvent.id)).exists()
    )
    return and_(col(TimelineEvent.hidden).is_(False), marked)


def action_item_counts(incident_ids: Sequence[int] | None = None) -> Any:
    """Per incident (a subquery): its action items, as the document lists them (visible timeline
    events with a 📝 mark: ``total``) and how many of them have a done ticket (``done``).

    The one definition of "action items, open and done": the follow-up reminders and analytics
    (``/incident stats``, the web UI, the CSV) count with it. ``incident_ids``: only those."""
    done = case((col(TicketLink.state) == "done", 1), else_=0)
    items = _visible_action_item(over_every_incident=incident_ids is None)
    if incident_ids is not None:
        items = and_(items, col(TimelineEvent.incident_id).in_(list(incident_ids)))
    return (
        sa_select(
            col(TimelineEvent.incident_id).label("incident_id"),
            func.count().label("total"),
            func.sum(done).label("done"),
        )
        .select_from(TimelineEvent)
        .join(TicketLink, col(TicketLink.event_id) == col(TimelineEvent.id), isouter=True)
        .where(items)
        .group_by(col(TimelineEvent.incident_id))
        .subquery("action_items")
    )


class FollowupStore(Store):
    def add_ticket_link(self, link: TicketLink) -> TicketLink | None:
        """Record a requested (or linked) ticket; None when the item has one already."""
        return self.insert_unique(link)

    def ticket_link(self, event_id: int) -> TicketLink | None:
        with session_scope(self.engine) as s:
            return s.exec(select(TicketLink).where(TicketLink.event_id == event_id)).first()

    def ticket_links(self, incident_id: int) -> Sequence[TicketLink]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(TicketLink).where(TicketLink.incident_id == incident_id).order_by(col(TicketLink.id))
            ).all()

    def update_ticket_link(self, link_id: int, **values: Any) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(TicketLink).where(col(TicketLink.id) == link_id).values(**values))

    def update_ticket_link_while_claimed(
        self, link_id: int, outbox_id: int, owner: str, **values: Any
    ) -> bool:
        """Update the link only while ``owner`` still holds the outbox row ``outbox_id``: a worker
        whose claim was taken over (its tracker call outlived the lease) must not undo what the
        worker that took over recorded. False when nothing was written."""
        held = (
            select(OutboxMessage.id)
            .where(
                col(OutboxMessage.id) == outbox_id,
                col(OutboxMessage.state) == "claimed",
                col(OutboxMessage.claimed_by) == owner,
            )
            .exists()
        )
        with session_scope(self.engine) as s:
            result = s.execute(update(TicketLink).where(col(TicketLink.id) == link_id, held).values(**values))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_status_ts(self, link_id: int, ts: str) -> bool:
        """Remember the message showing the ticket's status, unless one is remembered already."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(TicketLink)
                .where(col(TicketLink.id) == link_id, col(TicketLink.status_ts).is_(None))
                .values(status_ts=ts)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def ticket_link_by_id(self, link_id: int) -> TicketLink | None:
        with session_scope(self.engine) as s:
            return s.get(TicketLink, link_id)

    def tickets_to_sync(self, closed_since: datetime) -> Sequence[TicketLink]:
        """Tickets with a key, of open incidents or incidents updated since ``closed_since``."""
        with session_scope(self.engine) as s:
            return s.exec(
                select(TicketLink)
                .join(Incident, col(Incident.id) == col(TicketLink.incident_id))
                .where(
                    col(TicketLink.key).is_not(None),
                    (col(Incident.is_closed).is_(False)) | (col(Incident.updated_at) >= closed_since),
                )
                .order_by(col(TicketLink.id))
            ).all()

    def set_ticket_states(self, states: dict[int, tuple[str, str | None, str | None]], now: datetime) -> None:
        """Store synced (state, raw state, assignee) per link id (the sync tells what changed)."""
        with session_scope(self.engine) as s:
            rows = s.exec(select(TicketLink).where(col(TicketLink.id).in_(list(states)))).all()
            for row in rows:
                row.state, row.raw_state, row.assignee = states[row.id or 0]
                row.synced_at = now
                s.add(row)

    def action_item_events(self, incident_id: int) -> Sequence[TimelineEvent]:
        """The incident's visible timeline events marked as action items, oldest first."""
        with session_scope(self.engine) as s:
            return s.exec(
                select(TimelineEvent)
                .where(
                    TimelineEvent.incident_id == incident_id,
                    _visible_action_item(),
                )
                .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
            ).all()

    def followup_counts(self, incident_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """Per incident: (action items, of which with a done ticket); incidents without any are left out."""
        if not incident_ids:
            return {}
        counts = action_item_counts(incident_ids)
        with session_scope(self.engine) as s:
            rows = s.execute(sa_select(counts.c.incident_id, counts.c.total, counts.c.done)).all()
        return {incident_id: (int(total), int(done or 0)) for incident_id, total, done in rows}
