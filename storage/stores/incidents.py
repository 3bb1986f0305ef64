"""Incidents, milestones and roles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import (
    ChecklistItemState,
    Incident,
    IncidentChecklist,
    IncidentField,
    Milestone,
    RoleAssignment,
    StatusUpdate,
    TimelineEvent,
    utcnow,
)
from storage.stores import Store


class NotFound(LookupError):
    pass


class DuplicateDelivery(Exception):
    """The Slack delivery behind this write was already handled."""


class IncidentStore(Store):
    def create_pending_incident(self, incident: Incident, above: int = 0, attempts: int = 50) -> Incident:
        """Insert with the next free number, higher than ``above`` too (numbers used outside this
        database, in Slack's channel names); the unique constraint arbitrates races."""
        for _ in range(attempts):
            try:
                with session_scope(self.engine) as s:
                    top = s.exec(select(func.max(Incident.number))).one()
                    incident.id = None
                    incident.number = max(top or 0, above) + 1
                    s.add(incident)
                    s.flush()
                    s.refresh(incident)
                    return incident
            except IntegrityError as exc:
                if incident.dedupe_key and self.incident_by_dedupe_key(incident.dedupe_key):
                    raise DuplicateDelivery(incident.dedupe_key) from exc
                continue
        raise RuntimeError("could not allocate an incident number")

    def add_incidents(self, incidents: Sequence[Incident], batch: int = 2000) -> list[int]:
        """Insert many new incidents, numbered after the highest (a bulk writer of a history known
        to be new, such as the benches' generated one); their ids, in order."""
        table = Incident.__table__  # type: ignore[attr-defined]
        ids: list[int] = []
        for at in range(0, len(incidents), batch):
            with session_scope(self.engine) as s:
                top = s.exec(select(func.max(Incident.number))).one() or 0
                rows = [
                    i.model_dump(exclude={"id"}) | {"number": top + n + 1}
                    for n, i in enumerate(incidents[at : at + batch])
                ]
                s.execute(table.insert(), rows)
                numbers = [r["number"] for r in rows]
                found = dict(
                    s.exec(
                        select(Incident.number, Incident.id).where(col(Incident.number).in_(numbers))
                    ).all()
                )
                ids += [int(found[n] or 0) for n in numbers]
        return ids

    def create_incident_as(self, incident: Incident, number: int) -> Incident | None:
        """Insert with exactly ``number``; None when that number (or the dedupe key) is taken."""
        try:
            with session_scope(self.engine) as s:
                incident.id = None
                incident.number = number
                s.add(incident)
                s.flush()
                s.refresh(incident)
                return incident
        except IntegrityError:
            return None

    def renumber_incident(self, incident_id: int, above: int, attempts: int = 50) -> Incident:
        """Give a pending incident the next free number higher than ``above`` (its own is taken)."""
        for _ in range(attempts):
            try:
                with session_scope(self.engine) as s:
                    top = s.exec(select(func.max(Incident.number))).one()
                    s.execute(
                        update(Incident)
                        .where(col(Incident.id) == incident_id)
                        .values(number=max(top or 0, above) + 1, updated_at=utcnow())
                    )
                    row = s.get(Incident, incident_id)
                    if row is None:
                        raise NotFound(f"incident id {incident_id}")
                    return row
            except IntegrityError:
                continue
        raise RuntimeError("could not allocate an incident number")

    def incident_by_dedupe_key(self, key: str) -> Incident | None:
        with session_scope(self.engine) as s:
            return s.exec(select(Incident).where(Incident.dedupe_key == key)).first()

    def delete_incident(self, incident_id: int) -> None:
        with session_scope(self.engine) as s:
            lists = select(IncidentChecklist.id).where(IncidentChecklist.incident_id == incident_id)
            s.execute(delete(ChecklistItemState).where(col(ChecklistItemState.checklist_id).in_(lists)))
            for table in (
                TimelineEvent,
                Milestone,
                RoleAssignment,
                StatusUpdate,
                IncidentField,
                IncidentChecklist,
            ):
                s.execute(delete(table).where(col(table.incident_id) == incident_id))
            s.execute(delete(Incident).where(col(Incident.id) == incident_id))

    def update_incident(self, incident_id: int, **values: object) -> Incident:
        with session_scope(self.engine) as s:
            s.execute(
                update(Incident).where(col(Incident.id) == incident_id).values(updated_at=utcnow(), **values)
            )
            row = s.get(Incident, incident_id)
            if row is None:
                raise NotFound(f"incident id {incident_id}")
            return row

    def incident(self, incident_id: int) -> Incident:
        with session_scope(self.engine) as s:
            row = s.get(Incident, incident_id)
            if row is None:
                raise NotFound(f"incident id {incident_id}")
            return row

    def incident_by_number(self, number: int) -> Incident | None:
        with session_scope(self.engine) as s:
            return s.exec(select(Incident).where(Incident.number == number)).first()

    def incident_by_channel(self, channel_id: str) -> Incident | None:
        with session_scope(self.engine) as s:
            return s.exec(
                select(Incident).where(Incident.channel_id == channel_id, Incident.state == "active")
            ).first()

    def open_incidents(self) -> Sequence[Incident]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(Incident)
                .where(Incident.state == "active", col(Incident.is_closed).is_(False))
                .order_by(col(Incident.number))
            ).all()

    def incidents_to_repair(self, closed_since: datetime | None) -> Sequence[Incident]:
        """Active incidents whose channel may have missed events: the open ones, and (with
        ``closed_since``) the ones closed since then."""
        recently_closed = (
            select(Milestone.id)
            .where(
                col(Milestone.incident_id) == col(Incident.id),
                col(Milestone.name) == "closed",
                col(Milestone.at) >= closed_since,
            )
            .exists()
        )
        wanted = (
            col(Incident.is_closed).is_(False) | recently_closed
            if closed_since is not None
            else col(Incident.is_closed).is_(False)
        )
        with session_scope(self.engine) as s:
            return s.exec(
                select(Incident)
                .where(Incident.state == "active", col(Incident.channel_id).is_not(None), wanted)
                .order_by(col(Incident.number))
            ).all()

    def stale_pending_incidents(self, older_than: timedelta) -> Sequence[Incident]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(Incident).where(
                    Incident.state == "pending", col(Incident.created_at) < utcnow() - older_than
                )
            ).all()

    # -- milestones ---------------------------------------------------------------------------
    def set_milestone(
        self, incident_id: int, name: str, at: datetime, set_by: str | None, source: str, only_if_unset: bool
    ) -> Milestone:
        with session_scope(self.engine) as s:
            row = s.exec(
                select(Milestone).where(Milestone.incident_id == incident_id, Milestone.name == name)
            ).first()
            if row is None:
                row = Milestone(incident_id=incident_id, name=name, at=at, set_by=set_by, source=source)
                s.add(row)
            elif not only_if_unset:
                row.at, row.set_by, row.source, row.updated_at = at, set_by, source, utcnow()
            s.flush()
            s.refresh(row)
            return row

    def milestones(self, incident_id: int) -> dict[str, datetime]:
        with session_scope(self.engine) as s:
            rows = s.exec(select(Milestone).where(Milestone.incident_id == incident_id)).all()
            return {m.name: m.at for m in rows}

    # -- roles --------------------------------------------------------------------------------
    def active_roles(self, incident_id: int) -> dict[str, str]:
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(RoleAssignment)
                .where(RoleAssignment.incident_id == incident_id, col(RoleAssignment.ended_at).is_(None))
                .order_by(col(RoleAssignment.assigned_at))
            ).all()
            return {r.role: r.user_id for r in rows}

    def role_history(self, incident_id: int) -> list[tuple[str, str]]:
        """Every (role, user id) the incident has had, the ended ones included, in order."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(RoleAssignment)
                .where(RoleAssignment.incident_id == incident_id)
                .order_by(col(RoleAssignment.assigned_at))
            ).all()
            return [(r.role, r.user_id) for r in rows]

    def assign_role(
        self, incident_id: int, role: str, user_id: str, assigned_by: str, at: datetime | None = None
    ) -> str | None:
        """Give ``role`` to ``user_id``; return the previous holder's id, or "" if there was none.

        None when the user already holds the role (a no-op).
        """
        with session_scope(self.engine) as s:
            # Role changes of one incident take turns (the incident row is locked on PostgreSQL;
            # SQLite writers are serialised anyway): racing assignments leave one holder.
            s.exec(select(Incident.id).where(Incident.id == incident_id).with_for_update())
            active = s.exec(
                select(RoleAssignment).where(
                    RoleAssignment.incident_id == incident_id,
                    RoleAssignment.role == role,
                    col(RoleAssignment.ended_at).is_(None),
                )
            ).all()
            if any(r.user_id == user_id for r in active):
                return None
            now = at or utcnow()
            for row in active:
                row.ended_at = now
                s.add(row)
            s.add(
                RoleAssignment(
                    incident_id=incident_id,
                    role=role,
                    user_id=user_id,
                    assigned_by=assigned_by,
                    assigned_at=now,
                )
            )
            return active[-1].user_id if active else ""

    # -- transitions --------------------------------------------------------------------------
    def change_incident_if(
        self, incident_id: int, expected: dict[str, object], **values: object
    ) -> Incident | None:
        """Compare-and-set: apply ``values`` only if the row still has ``expected``; None otherwise.

        Two replicas handling the same stale click both read the old value; only one wins here.
        """
        with session_scope(self.engine) as s:
            conditions = [getattr(Incident, k) == v for k, v in expected.items()]
            result = s.execute(
                update(Incident)
                .where(col(Incident.id) == incident_id, *conditions)
                .values(updated_at=utcnow(), **values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return s.get(Incident, incident_id)

    # -- status updates -----------------------------------------------------------------------
    def add_status_update(self, row: StatusUpdate) -> StatusUpdate | None:
        """Insert; None when the same Slack delivery already recorded it."""
        return self.insert_unique(row)

    def set_status_update_posts(
        self, update_id: int, message_ts: str | None, announce_ts: str | None
    ) -> None:
        with session_scope(self.engine) as s:
            s.execute(
                update(StatusUpdate)
                .where(col(StatusUpdate.id) == update_id)
                .values(message_ts=message_ts, announce_ts=announce_ts)
            )

    def status_updates(self, incident_id: int) -> Sequence[StatusUpdate]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(StatusUpdate)
                .where(StatusUpdate.incident_id == incident_id)
                .order_by(col(StatusUpdate.posted_at))
            ).all()
