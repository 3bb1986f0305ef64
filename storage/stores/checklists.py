"""Checklists posted in incident channels and their items (who ticked each, when)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import ChecklistItemState, IncidentChecklist
from storage.stores import Store


@dataclass(frozen=True)
class NewItem:
    text: str
    required: bool
    role: str | None


class ChecklistStore(Store):
    def add_checklist(
        self, checklist: IncidentChecklist, items: Sequence[NewItem]
    ) -> tuple[IncidentChecklist, list[ChecklistItemState]] | None:
        """Store a checklist and its items in one unit of work; None when the incident already has
        one of that name (the unique row per incident and name arbitrates a race)."""
        try:
            with session_scope(self.engine) as s:
                s.add(checklist)
                s.flush()
                rows = [
                    ChecklistItemState(
                        checklist_id=checklist.id or 0,
                        position=i,
                        text=item.text,
                        required=item.required,
                        role=item.role,
                    )
                    for i, item in enumerate(items)
                ]
                s.add_all(rows)
                s.flush()
                for row in [checklist, *rows]:
                    s.refresh(row)
                return checklist, rows
        except IntegrityError:
            return None

    def set_checklist_message(self, checklist_id: int, ts: str) -> None:
        with session_scope(self.engine) as s:
            row = s.get(IncidentChecklist, checklist_id)
            if row is not None:
                row.message_ts = ts
                s.add(row)

    def checklists(self, incident_id: int) -> list[IncidentChecklist]:
        with session_scope(self.engine) as s:
            return list(
                s.exec(
                    select(IncidentChecklist)
                    .where(IncidentChecklist.incident_id == incident_id)
                    .order_by(col(IncidentChecklist.id))
                ).all()
            )

    def checklist_by_message(self, incident_id: int, ts: str) -> IncidentChecklist | None:
        with session_scope(self.engine) as s:
            return s.exec(
                select(IncidentChecklist).where(
                    IncidentChecklist.incident_id == incident_id, IncidentChecklist.message_ts == ts
                )
            ).first()

    def checklist_items(self, checklist_id: int) -> list[ChecklistItemState]:
        with session_scope(self.engine) as s:
            return list(
                s.exec(
                    select(ChecklistItemState)
                    .where(ChecklistItemState.checklist_id == checklist_id)
                    .order_by(col(ChecklistItemState.position))
                ).all()
            )

    def incident_checklist_items(
        self, incident_id: int
    ) -> list[tuple[IncidentChecklist, ChecklistItemState]]:
        """Every item of every checklist of the incident, in the order they were posted."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(IncidentChecklist, ChecklistItemState)
                .join(ChecklistItemState, col(ChecklistItemState.checklist_id) == col(IncidentChecklist.id))
                .where(IncidentChecklist.incident_id == incident_id)
                .order_by(col(IncidentChecklist.id), col(ChecklistItemState.position))
            ).all()
            return [(c, i) for c, i in rows]

    def tick_item(self, checklist_id: int, position: int, done: bool, by: str, at: datetime) -> bool:
        """Tick (``done``) or untick one item; False when it already was (a redelivery, a race
        lost to someone else's identical click): nothing changed."""
        with session_scope(self.engine) as s:
            row = s.exec(
                select(ChecklistItemState)
                .where(
                    ChecklistItemState.checklist_id == checklist_id, ChecklistItemState.position == position
                )
                .with_for_update()
            ).first()
            if row is None or (row.done_at is not None) == done:
                return False
            row.done_by, row.done_at = (by, at) if done else (None, None)
            s.add(row)
            return True
