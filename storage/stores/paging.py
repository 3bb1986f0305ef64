"""What was paged: the outbox rows of PagerDuty triggers, by key prefix."""

from __future__ import annotations

from sqlmodel import col, select

from storage.db import session_scope
from storage.models import OutboxMessage
from storage.stores import Store


class PagingStore(Store):
    def outbox_like(self, prefix: str) -> list[OutboxMessage]:
        """Outbox rows whose key starts with ``prefix`` (no wildcard in it is interpreted)."""
        with session_scope(self.engine) as s:
            q = select(OutboxMessage).where(col(OutboxMessage.key).startswith(prefix, autoescape=True))
            return list(s.exec(q.order_by(col(OutboxMessage.id))).all())
