"""Generated investigation documents and their revisions, plus the reads the document needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import ActionItem, Document, Incident, Milestone, TimelineAudit, TimelineEvent
from storage.stores import Store

# A closed incident (joined with its milestones) and its "closed" milestone.
_CLOSED = (
    col(Incident.is_closed).is_(True),
    col(Incident.state) == "active",
    col(Milestone.name) == "closed",
)


class DocumentStore(Store):
    def begin_document(
        self, incident_id: int, *, draft: bool, request_key: str | None, requested_by: str | None
    ) -> Document:
        """The revision this request works on.

        The same request key returns its revision again (a duplicate delivery); a revision left
        "generating" by a crash is taken over; otherwise a new revision is numbered (the unique
        constraint arbitrates races).
        """
        for _ in range(20):
            with session_scope(self.engine) as s:
                if request_key:
                    row = s.exec(select(Document).where(Document.request_key == request_key)).first()
                    if row is not None:
                        return row
                row = s.exec(
                    select(Document)
                    .where(Document.incident_id == incident_id, Document.state == "generating")
                    .order_by(col(Document.revision))
                ).first()
                if row is not None:
                    row.draft = draft
                    row.requested_by = requested_by or row.requested_by
                    s.add(row)
                    return row
            try:
                with session_scope(self.engine) as s:
                    top = s.exec(
                        select(func.max(Document.revision)).where(Document.incident_id == incident_id)
                    ).one()
                    row = Document(
                        incident_id=incident_id,
                        revision=(top or 0) + 1,
                        request_key=request_key,
                        draft=draft,
                        requested_by=requested_by,
                    )
                    s.add(row)
                    s.flush()
                    s.refresh(row)
                    return row
            except IntegrityError:
                continue
        raise RuntimeError(f"could not start a document revision for incident {incident_id}")

    def update_document(self, document_id: int, **values: object) -> Document:
        with session_scope(self.engine) as s:
            s.execute(update(Document).where(col(Document.id) == document_id).values(**values))
            row = s.get(Document, document_id)
            assert row is not None
            return row

    def document(self, document_id: int) -> Document | None:
        with session_scope(self.engine) as s:
            return s.get(Document, document_id)

    def documents(self, incident_id: int) -> Sequence[Document]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(Document).where(Document.incident_id == incident_id).order_by(col(Document.revision))
            ).all()

    def documents_owed(self, closed_after: datetime, closed_before: datetime) -> list[tuple[int, datetime]]:
        """(incident id, when it was closed) of closed incidents with no final document published
        since that close, closed within [closed_after, closed_before)."""
        published_since = (
            select(Document.id)
            .where(
                col(Document.incident_id) == col(Incident.id),
                col(Document.state) == "published",
                col(Document.draft).is_(False),
                col(Document.created_at) >= col(Milestone.updated_at),
            )
            .exists()
        )
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(Incident.id, Milestone.updated_at)
                .join(Milestone, col(Milestone.incident_id) == col(Incident.id))
                .where(
                    *_CLOSED,
                    col(Milestone.updated_at) >= closed_after,
                    col(Milestone.updated_at) < closed_before,
                    ~published_since,
                )
                .order_by(col(Milestone.updated_at))
            ).all()
        return [(int(i or 0), at) for i, at in rows]

    def documents_behind_timeline(self, closed_after: datetime, changed_before: datetime) -> list[Document]:
        """The latest published final document of each incident closed since ``closed_after``
        whose timeline changed after that document was started (a late delivery, a replay, a
        re-read after an outage), the last change before ``changed_before`` (settled)."""
        with session_scope(self.engine) as s:
            latest = (
                select(Document.incident_id, func.max(Document.revision).label("revision"))
                .where(col(Document.state) == "published", col(Document.draft).is_(False))
                .group_by(col(Document.incident_id))
                .subquery()
            )
            docs = s.exec(
                select(Document)
                .join(
                    latest,
                    (col(Document.incident_id) == latest.c.incident_id)
                    & (col(Document.revision) == latest.c.revision),
                )
                .join(Incident, col(Incident.id) == col(Document.incident_id))
                .join(Milestone, col(Milestone.incident_id) == col(Incident.id))
                .where(
                    *_CLOSED,
                    col(Milestone.at) >= closed_after,
                    col(Document.created_at) >= col(Milestone.updated_at),
                )
            ).all()
            behind: list[Document] = []
            for doc in docs:
                last = s.exec(
                    select(func.max(TimelineAudit.at))
                    .join(TimelineEvent, col(TimelineEvent.id) == col(TimelineAudit.event_id))
                    .where(col(TimelineEvent.incident_id) == doc.incident_id)
                ).one()
                if last is not None and doc.created_at < last < changed_before:
                    behind.append(doc)
            return behind

    def timeline_changes(self, incident_id: int, since: datetime) -> dict[str, int]:
        """Timeline audit actions (shown, hidden, edited …) on the incident since ``since``, counted."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(TimelineAudit.action, func.count())
                .join(TimelineEvent, col(TimelineEvent.id) == col(TimelineAudit.event_id))
                .where(col(TimelineEvent.incident_id) == incident_id, col(TimelineAudit.at) > since)
                .group_by(col(TimelineAudit.action))
            ).all()
        return {str(action): int(n) for action, n in rows}

    def action_items(self, incident_id: int) -> Sequence[ActionItem]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(ActionItem)
                .where(ActionItem.incident_id == incident_id)
                .order_by(col(ActionItem.created_at), col(ActionItem.id))
            ).all()
