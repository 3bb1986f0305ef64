"""Reminder occurrences claimed by the scheduler, and the reads its sweep needs in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Document, Incident, Milestone, ReminderClaim, RoleAssignment, StatusUpdate
from storage.stores import Store

REMINDER_CLAIM_STALE_AFTER = timedelta(minutes=5)
DONE_STATES = ("sent", "failed")


@dataclass
class ReminderInputs:
    """Everything a sweep reads, for a batch of incidents, keyed by incident id."""

    incidents: Sequence[Incident]
    last_update_at: dict[int, datetime] = field(default_factory=dict)
    lead: dict[int, str] = field(default_factory=dict)
    closed_at: dict[int, datetime] = field(default_factory=dict)
    missing_sections: dict[int, list[str]] = field(default_factory=dict)
    claims: dict[int, list[ReminderClaim]] = field(default_factory=lambda: defaultdict(list))


class ReminderStore(Store):
    def reminder_inputs(self, closed_since: datetime, archive_pending: bool) -> ReminderInputs:
        """Open incidents, plus closed ones closed after ``closed_since`` (or, with
        ``archive_pending``, any closed one whose channel is not archived yet), with their state."""
        with session_scope(self.engine) as s:
            closed_at = (
                select(Milestone.at)
                .where(Milestone.incident_id == Incident.id, Milestone.name == "closed")
                .scalar_subquery()
            )
            archived = (
                select(ReminderClaim.id)
                .where(
                    ReminderClaim.incident_id == Incident.id,
                    ReminderClaim.kind == "archive",
                    col(ReminderClaim.state).in_(DONE_STATES),
                )
                .exists()
            )
            still_relevant = closed_at >= closed_since
            if archive_pending:
                still_relevant = or_(still_relevant, ~archived)
            incidents = s.exec(
                select(Incident)
                .where(
                    Incident.state == "active",
                    col(Incident.channel_id).is_not(None),
                    or_(col(Incident.is_closed).is_(False), and_(still_relevant, ~archived)),
                )
                .order_by(col(Incident.id))
            ).all()
            inputs = ReminderInputs(incidents=incidents)
            ids = [i.id for i in incidents]
            if not ids:
                return inputs
            updates = s.exec(
                select(StatusUpdate.incident_id, func.max(StatusUpdate.posted_at))
                .where(col(StatusUpdate.incident_id).in_(ids))
                .group_by(col(StatusUpdate.incident_id))
            ).all()
            inputs.last_update_at = {i: at for i, at in updates if at is not None}
            leads = s.exec(
                select(RoleAssignment)
                .where(
                    col(RoleAssignment.incident_id).in_(ids),
                    RoleAssignment.role == "lead",
                    col(RoleAssignment.ended_at).is_(None),
                )
                .order_by(col(RoleAssignment.assigned_at))
            ).all()
            inputs.lead = {r.incident_id: r.user_id for r in leads}
            closes = s.exec(
                select(Milestone).where(col(Milestone.incident_id).in_(ids), Milestone.name == "closed")
            ).all()
            inputs.closed_at = {m.incident_id: m.at for m in closes}
            closed_ids = [i.id for i in incidents if i.is_closed]
            if closed_ids:
                latest = (
                    select(Document.incident_id, func.max(Document.revision).label("revision"))
                    .where(col(Document.incident_id).in_(closed_ids))
                    .group_by(col(Document.incident_id))
                    .subquery()
                )
                docs = s.exec(
                    select(Document).join(
                        latest,
                        and_(
                            col(Document.incident_id) == latest.c.incident_id,
                            col(Document.revision) == latest.c.revision,
                        ),
                    )
                ).all()
                inputs.missing_sections = {d.incident_id: list(d.missing_sections) for d in docs}
            for claim in s.exec(select(ReminderClaim).where(col(ReminderClaim.incident_id).in_(ids))).all():
                inputs.claims[claim.incident_id].append(claim)
            return inputs

    def claim_reminder(
        self,
        incident_id: int,
        kind: str,
        slot: str,
        owner: str,
        now: datetime,
        stale_after: timedelta = REMINDER_CLAIM_STALE_AFTER,
    ) -> ReminderClaim | None:
        """Claim one occurrence; None when it is sent, failed, or being sent by someone else.

        A claim left "sending" by a crashed process is taken over after ``stale_after``.
        """
        row = self.insert_unique(
            ReminderClaim(incident_id=incident_id, kind=kind, slot=slot, claimed_by=owner, claimed_at=now)
        )
        if row is not None:
            return row
        key = (
            col(ReminderClaim.incident_id) == incident_id,
            col(ReminderClaim.kind) == kind,
            col(ReminderClaim.slot) == slot,
        )
        with session_scope(self.engine) as s:
            result = s.execute(
                update(ReminderClaim)
                .where(
                    *key,
                    col(ReminderClaim.state) == "sending",
                    col(ReminderClaim.claimed_at) < now - stale_after,
                )
                .values(claimed_by=owner, claimed_at=now)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return s.exec(select(ReminderClaim).where(*key)).one()

    def finish_reminder(
        self, claim_id: int, now: datetime, *, sent_ts: str | None = None, error: str | None = None
    ) -> None:
        """Record the outcome of a claimed send: sent (with the message ts, if any) or failed."""
        with session_scope(self.engine) as s:
            s.execute(
                update(ReminderClaim)
                .where(col(ReminderClaim.id) == claim_id)
                .values(state="failed" if error else "sent", sent_ts=sent_ts, sent_at=now, error=error)
            )

    def release_reminder(self, claim_id: int) -> None:
        """Forget a claim whose send failed for a passing reason, so the next sweep retries it."""
        with session_scope(self.engine) as s:
            s.execute(delete(ReminderClaim).where(col(ReminderClaim.id) == claim_id))

    def reminder_claims(self, incident_id: int) -> Sequence[ReminderClaim]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(ReminderClaim)
                .where(ReminderClaim.incident_id == incident_id)
                .order_by(col(ReminderClaim.id))
            ).all()
