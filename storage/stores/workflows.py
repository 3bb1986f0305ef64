"""Workflow events (the history rules are tried on) and runs (one per run key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Incident, StatusUpdate, WorkflowEvent, WorkflowRun
from storage.stores import Store


class WorkflowStore(Store):
    def add_workflow_event(
        self,
        key: str,
        incident_id: int,
        kind: str,
        at: datetime,
        detail: dict[str, Any],
        snapshot: dict[str, Any],
    ) -> WorkflowEvent | None:
        """Record the event; None when ``key`` is recorded already (a retry, another replica)."""
        row = WorkflowEvent(
            key=key, incident_id=incident_id, kind=kind, at=at, detail=detail, snapshot=snapshot
        )
        return self.insert_unique(row)

    def workflow_events(self, since: datetime) -> Sequence[WorkflowEvent]:
        """Events of incidents declared since ``since``, oldest first."""
        with session_scope(self.engine) as s:
            q = (
                select(WorkflowEvent)
                .join(Incident, col(Incident.id) == col(WorkflowEvent.incident_id))
                .where(col(Incident.created_at) >= since)
                .order_by(col(WorkflowEvent.at), col(WorkflowEvent.id))
            )
            return s.exec(q).all()

    def workflow_events_of(self, incident_id: int) -> Sequence[WorkflowEvent]:
        with session_scope(self.engine) as s:
            q = select(WorkflowEvent).where(WorkflowEvent.incident_id == incident_id)
            return s.exec(q.order_by(col(WorkflowEvent.at), col(WorkflowEvent.id))).all()

    def status_update_times(self, incident_ids: Sequence[int]) -> dict[int, list[datetime]]:
        with session_scope(self.engine) as s:
            q = select(StatusUpdate.incident_id, StatusUpdate.posted_at).where(
                col(StatusUpdate.incident_id).in_(list(incident_ids))
            )
            out: dict[int, list[datetime]] = {}
            for incident_id, at in s.exec(q).all():
                out.setdefault(incident_id, []).append(at)
            return out

    def add_workflow_run(self, run: WorkflowRun) -> WorkflowRun | None:
        """Record the run; None when its run key is taken (it ran, or is running, already)."""
        return self.insert_unique(run)

    def workflow_runs(self, incident_id: int) -> Sequence[WorkflowRun]:
        with session_scope(self.engine) as s:
            q = select(WorkflowRun).where(WorkflowRun.incident_id == incident_id)
            return s.exec(q.order_by(col(WorkflowRun.created_at), col(WorkflowRun.id))).all()

    def workflow_run_keys(self, incident_id: int) -> list[str]:
        with session_scope(self.engine) as s:
            q = select(WorkflowRun.run_key).where(WorkflowRun.incident_id == incident_id)
            return list(s.exec(q).all())

    def open_incidents(self) -> Sequence[Incident]:
        with session_scope(self.engine) as s:
            q = select(Incident).where(col(Incident.is_closed).is_(False), Incident.state == "active")
            return s.exec(q).all()
