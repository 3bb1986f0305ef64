"""Incidents' embeddings from the optional model (``IncidentEmbedding``): one per incident."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Incident, IncidentEmbedding, utcnow
from storage.stores import Store


class EmbeddingStore(Store):
    def embedding_candidates(self, model: str, include_private: bool) -> list[Incident]:
        """Active incidents whose embedding may be missing or stale, newest first: never embedded
        with ``model``, still open (their record grows), or changed since they were embedded."""
        with session_scope(self.engine) as s:
            query = (
                select(Incident)
                .outerjoin(
                    IncidentEmbedding,
                    and_(
                        col(IncidentEmbedding.incident_id) == col(Incident.id),
                        col(IncidentEmbedding.model) == model,
                    ),
                )
                .where(Incident.state == "active")
                .where(
                    or_(
                        col(IncidentEmbedding.incident_id).is_(None),
                        col(Incident.is_closed).is_(False),
                        col(Incident.updated_at) > col(IncidentEmbedding.embedded_at),
                    )
                )
                .order_by(col(Incident.id).desc())
            )
            if not include_private:
                query = query.where(col(Incident.is_private).is_(False))
            return list(s.exec(query).all())

    def embedding_digests(self, model: str, ids: Iterable[int] | None = None) -> dict[int, str]:
        """Incident id → digest of the text last embedded with ``model`` (of ``ids``, or all)."""
        with session_scope(self.engine) as s:
            query = select(IncidentEmbedding.incident_id, IncidentEmbedding.digest).where(
                IncidentEmbedding.model == model
            )
            if ids is not None:
                query = query.where(col(IncidentEmbedding.incident_id).in_(list(ids)))
            return {incident_id: digest for incident_id, digest in s.exec(query)}

    def save_embedding(
        self, incident_id: int, model: str, digest: str, vector: list[float], now: datetime | None = None
    ) -> None:
        """Write (or rewrite) the incident's embedding: the last writer wins, which is the newest text."""
        with session_scope(self.engine) as s:
            s.merge(IncidentEmbedding(
                incident_id=incident_id, model=model, digest=digest, vector=vector, embedded_at=now or utcnow()
            ))  # fmt: skip

    def embeddings(self, model: str, exclude: Iterable[int] = ()) -> list[tuple[int, list[float]]]:
        """Every stored vector of ``model`` (incident id, vector), except the ``exclude`` ones."""
        skip = set(exclude)
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(IncidentEmbedding.incident_id, IncidentEmbedding.vector)
                .where(IncidentEmbedding.model == model)
                .order_by(col(IncidentEmbedding.incident_id))
            )
            return [(i, list(v)) for i, v in rows if i not in skip]

    def embeddings_of(self, ids: Iterable[int], model: str) -> dict[int, list[float]]:
        """The stored vectors of ``ids`` (those that have one for ``model``)."""
        wanted = list(ids)
        if not wanted:
            return {}
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(IncidentEmbedding.incident_id, IncidentEmbedding.vector).where(
                    IncidentEmbedding.model == model, col(IncidentEmbedding.incident_id).in_(wanted)
                )
            )
            return {i: list(v) for i, v in rows}

    def embedding_of(self, incident_id: int, model: str) -> list[float] | None:
        with session_scope(self.engine) as s:
            row = s.get(IncidentEmbedding, incident_id)
            return list(row.vector) if row is not None and row.model == model else None
