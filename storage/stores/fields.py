"""Custom field values of incidents (a row per incident x field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.db import session_scope
from storage.models import IncidentField
from storage.stores import Store


class FieldStore(Store):
    def field_values(self, incident_id: int) -> dict[str, Any]:
        with session_scope(self.engine) as s:
            rows = s.exec(select(IncidentField).where(IncidentField.incident_id == incident_id)).all()
            return {r.name: r.value for r in rows}

    def set_field(self, incident_id: int, name: str, value: Any, by: str, at: datetime) -> Any:
        """Store ``value``; return the previous one (None when unset). The unique row per
        incident and field arbitrates two first writes at once: the later one updates."""
        for _ in range(2):
            try:
                with session_scope(self.engine) as s:
                    row = s.exec(
                        select(IncidentField).where(
                            IncidentField.incident_id == incident_id, IncidentField.name == name
                        )
                    ).first()
                    previous = row.value if row is not None else None
                    if row is None:
                        s.add(
                            IncidentField(
                                incident_id=incident_id, name=name, value=value, set_by=by, set_at=at
                            )
                        )
                    else:
                        row.value, row.set_by, row.set_at = value, by, at
                        s.add(row)
                    return previous
            except IntegrityError:
                continue
        raise RuntimeError(f"could not store field {name}")
