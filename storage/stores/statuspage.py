"""Public incidents and their updates (the status page's record), one unit of work per publish."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Incident, MaintenanceReminder, MaintenanceWindow, PublicIncident, PublicUpdate
from storage.stores import Store


class StatuspageStore(Store):
    def publish_update(
        self, incident_id: int, title: str, update: PublicUpdate
    ) -> tuple[PublicIncident, PublicUpdate] | None:
        """Record ``update`` on the incident's public incident (created on its first update), which
        takes its title, state and impacts; None when the update's delivery was recorded already."""
        try:
            with session_scope(self.engine) as s:
                found = s.exec(
                    select(PublicIncident).where(PublicIncident.incident_id == incident_id)
                ).first()
                if found is None:
                    found = PublicIncident(
                        incident_id=incident_id,
                        title=title,
                        state=update.state,
                        impacts=dict(update.impacts),
                        started_at=update.posted_at,
                        updated_at=update.posted_at,
                    )
                    s.add(found)
                    s.flush()
                found.title = title
                found.state = update.state
                found.impacts = dict(update.impacts)
                found.updated_at = update.posted_at
                found.resolved_at = update.posted_at if update.state == "resolved" else None
                update.public_incident_id = found.id or 0
                s.add(found)
                s.add(update)
                s.flush()
                s.refresh(found)
                s.refresh(update)
                s.expunge(found)
                s.expunge(update)
                return found, update
        except IntegrityError:
            return None

    def public_incident(self, incident_id: int) -> PublicIncident | None:
        with session_scope(self.engine) as s:
            return s.exec(select(PublicIncident).where(PublicIncident.incident_id == incident_id)).first()

    def public_updates(self, public_incident_ids: Sequence[int]) -> Sequence[PublicUpdate]:
        """Their updates, oldest first."""
        if not public_incident_ids:
            return []
        with session_scope(self.engine) as s:
            q = select(PublicUpdate).where(
                col(PublicUpdate.public_incident_id).in_(list(public_incident_ids))
            )
            return s.exec(q.order_by(col(PublicUpdate.posted_at), col(PublicUpdate.id))).all()

    def public_incidents_since(self, since: datetime) -> Sequence[PublicIncident]:
        """Public incidents open now or resolved since ``since``, of public incidents only (a
        private incident's never leave the database through here), newest first."""
        with session_scope(self.engine) as s:
            q = (
                select(PublicIncident)
                .join(Incident, col(Incident.id) == col(PublicIncident.incident_id))
                .where(
                    col(Incident.is_private).is_(False),
                    or_(col(PublicIncident.resolved_at).is_(None), col(PublicIncident.resolved_at) >= since),
                )
                .order_by(col(PublicIncident.started_at).desc(), col(PublicIncident.id).desc())
            )
            return s.exec(q).all()

    def public_incidents_with_incidents_since(
        self, since: datetime
    ) -> Sequence[tuple[PublicIncident, Incident]]:
        """Every public incident open now or resolved since ``since`` with its incident, private
        ones too (the internal status page asks the policy who may see each), newest first."""
        with session_scope(self.engine) as s:
            q = (
                select(PublicIncident, Incident)
                .join(Incident, col(Incident.id) == col(PublicIncident.incident_id))
                .where(
                    col(Incident.state) == "active",
                    or_(col(PublicIncident.resolved_at).is_(None), col(PublicIncident.resolved_at) >= since),
                )
                .order_by(col(PublicIncident.started_at).desc(), col(PublicIncident.id).desc())
            )
            return [(p, i) for p, i in s.exec(q).all()]

    def add_maintenance(self, window: MaintenanceWindow) -> MaintenanceWindow:
        with session_scope(self.engine) as s:
            s.add(window)
            s.flush()
            s.refresh(window)
            s.expunge(window)
            return window

    def maintenance_after(self, at: datetime) -> Sequence[MaintenanceWindow]:
        """Windows not over at ``at`` (in progress or upcoming), soonest first."""
        with session_scope(self.engine) as s:
            q = (
                select(MaintenanceWindow)
                .where(col(MaintenanceWindow.ends_at) > at)
                .order_by(col(MaintenanceWindow.starts_at), col(MaintenanceWindow.id))
            )
            return s.exec(q).all()

    def maintenance_covering(self, at: datetime) -> Sequence[MaintenanceWindow]:
        """Windows in progress at ``at`` (``starts_at`` ≤ at < ``ends_at``), soonest first."""
        with session_scope(self.engine) as s:
            q = (
                select(MaintenanceWindow)
                .where(col(MaintenanceWindow.starts_at) <= at, col(MaintenanceWindow.ends_at) > at)
                .order_by(col(MaintenanceWindow.starts_at), col(MaintenanceWindow.id))
            )
            return s.exec(q).all()

    def maintenance_starting(self, now: datetime, within: timedelta) -> Sequence[MaintenanceWindow]:
        """Windows starting after ``now`` and at most ``within`` later (due for their reminder)."""
        with session_scope(self.engine) as s:
            q = (
                select(MaintenanceWindow)
                .where(
                    col(MaintenanceWindow.starts_at) > now, col(MaintenanceWindow.starts_at) <= now + within
                )
                .order_by(col(MaintenanceWindow.starts_at), col(MaintenanceWindow.id))
            )
            return s.exec(q).all()

    def claim_maintenance_reminder(
        self, window_id: int, slot: str, owner: str, now: datetime, stale_after: timedelta
    ) -> MaintenanceReminder | None:
        """Claim one reminder (``claim_reminder``'s rules): None when it is sent, failed, or being
        sent by someone else; a claim left "sending" is taken over after ``stale_after``."""
        row = self.insert_unique(
            MaintenanceReminder(window_id=window_id, slot=slot, claimed_by=owner, claimed_at=now)
        )
        if row is not None:
            return row
        key = (col(MaintenanceReminder.window_id) == window_id, col(MaintenanceReminder.slot) == slot)
        with session_scope(self.engine) as s:
            result = s.execute(
                update(MaintenanceReminder)
                .where(
                    *key,
                    col(MaintenanceReminder.state) == "sending",
                    col(MaintenanceReminder.claimed_at) < now - stale_after,
                )
                .values(claimed_by=owner, claimed_at=now)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return s.exec(select(MaintenanceReminder).where(*key)).one()

    def finish_maintenance_reminder(self, claim_id: int, now: datetime, error: str | None = None) -> None:
        with session_scope(self.engine) as s:
            s.execute(
                update(MaintenanceReminder)
                .where(col(MaintenanceReminder.id) == claim_id)
                .values(state="failed" if error else "sent", sent_at=now, error=error)
            )

    def release_maintenance_reminder(self, claim_id: int) -> None:
        """A passing failure: the next sweep tries again."""
        with session_scope(self.engine) as s:
            row = s.get(MaintenanceReminder, claim_id)
            if row is not None:
                s.delete(row)

    def statuspage_version(self, now: datetime) -> tuple[int, int, int, int]:
        """What the status page shows changed when this did: the newest public update and
        maintenance window, and how many windows had started and ended by ``now`` (one query)."""
        with session_scope(self.engine) as s:
            newest_update = select(func.coalesce(func.max(PublicUpdate.id), 0)).scalar_subquery()
            row = s.exec(
                select(
                    newest_update,
                    func.coalesce(func.max(MaintenanceWindow.id), 0),
                    func.count(case((col(MaintenanceWindow.starts_at) <= now, 1))),
                    func.count(case((col(MaintenanceWindow.ends_at) <= now, 1))),
                )
            ).one()
            return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0)
