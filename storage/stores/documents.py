"""Generated investigation documents and their revisions, plus the reads the document needs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import ActionItem, Document
from storage.stores import Store


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

    def action_items(self, incident_id: int) -> Sequence[ActionItem]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(ActionItem)
                .where(ActionItem.incident_id == incident_id)
                .order_by(col(ActionItem.created_at), col(ActionItem.id))
            ).all()
