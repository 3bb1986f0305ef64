"""Timeline events and the marks (reactions, pins, shortcuts) that put messages on it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import TimelineEvent
from storage.stores import Store


class TimelineStore(Store):
    def add_timeline_event(self, event: TimelineEvent) -> TimelineEvent | None:
        """Insert; None when its dedupe key (or message) was already recorded."""
        try:
            with session_scope(self.engine) as s:
                s.add(event)
                s.flush()
                s.refresh(event)
                return event
        except IntegrityError:
            return None

    def timeline(self, incident_id: int, include_hidden: bool = False) -> Sequence[TimelineEvent]:
        with session_scope(self.engine) as s:
            q = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
            if not include_hidden:
                q = q.where(col(TimelineEvent.hidden).is_(False))
            return s.exec(q.order_by(col(TimelineEvent.at), col(TimelineEvent.id))).all()
