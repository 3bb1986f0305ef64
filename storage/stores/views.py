"""Modals the bot opened: their external id → who, for what, on what (``ViewTarget``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col

from storage.db import session_scope
from storage.models import ViewTarget, utcnow
from storage.stores import Store

# A form left open longer than this answers "open it again" (Slack keeps a modal open while
# the person looks at it, not for days).
VIEW_RETENTION = timedelta(days=1)


class ViewStore(Store):
    def record_view(self, target: ViewTarget, now: datetime | None = None) -> None:
        """Remember a view the bot just opened; forget those older than ``VIEW_RETENTION``."""
        at = now or utcnow()
        target.opened_at = at
        with session_scope(self.engine) as s:
            s.execute(delete(ViewTarget).where(col(ViewTarget.opened_at) < at - VIEW_RETENTION))
            s.merge(target)

    def view_target(self, external_id: str, purpose: str, user_id: str) -> ViewTarget | None:
        """The record of a view the bot opened for ``purpose`` and for ``user_id``; None for any
        other view (one the bot did not open, another form's, another person's, or forgotten)."""
        with session_scope(self.engine) as s:
            found = s.get(ViewTarget, external_id)
            if found is None or found.purpose != purpose or found.user_id != user_id:
                return None
            s.expunge(found)
            return found
