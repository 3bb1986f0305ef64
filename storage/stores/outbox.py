"""The outbox: work for other systems, claimed under a unique key, retried, done exactly once.

Every transition is one conditional UPDATE, so replicas and overlapping sweeps never run the same
row at the same time; a worker's result is only recorded while it still holds the claim (fencing),
so a worker that lost its lease (took too long, was presumed dead) cannot overwrite a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import OutboxMessage
from storage.stores import Store


class OutboxStore(Store):
    def outbox_add(self, kind: str, key: str, payload: dict[str, Any], now: datetime) -> OutboxMessage | None:
        """Enqueue; None when a row with ``key`` exists already (whatever its state)."""
        return self.insert_unique(OutboxMessage(key=key, kind=kind, payload=payload, next_attempt_at=now))

    def outbox_get(self, key: str) -> OutboxMessage | None:
        with session_scope(self.engine) as s:
            return s.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()

    def outbox_due(
        self, now: datetime, lease: timedelta, limit: int = 50, kind: str | None = None
    ) -> Sequence[str]:
        """Keys of rows that may be claimed now: pending and due, or claimed with an expired lease."""
        with session_scope(self.engine) as s:
            q = select(OutboxMessage.key).where(_claimable(now, lease))
            if kind is not None:
                q = q.where(OutboxMessage.kind == kind)
            return s.exec(q.order_by(col(OutboxMessage.next_attempt_at)).limit(limit)).all()

    def outbox_claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> OutboxMessage | None:
        """Take the row for one attempt; None when it is done, failed, not due, or held by another."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.key) == key, _claimable(now, lease))
                .values(
                    state="claimed",
                    claimed_by=owner,
                    claimed_at=now,
                    attempts=OutboxMessage.attempts + 1,
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return s.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()

    def _outbox_settle(self, row_id: int, owner: str, **values: Any) -> bool:
        with session_scope(self.engine) as s:
            result = s.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row_id,
                    col(OutboxMessage.state) == "claimed",
                    col(OutboxMessage.claimed_by) == owner,
                )
                .values(**values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def outbox_done(self, row_id: int, owner: str, result: dict[str, Any], now: datetime) -> bool:
        return self._outbox_settle(row_id, owner, state="done", result=result, done_at=now, last_error=None)

    def outbox_retry(self, row_id: int, owner: str, next_at: datetime, error: str) -> bool:
        return self._outbox_settle(
            row_id, owner, state="pending", next_attempt_at=next_at, last_error=error, claimed_by=None
        )

    def outbox_fail(self, row_id: int, owner: str, error: str, now: datetime) -> bool:
        return self._outbox_settle(row_id, owner, state="failed", last_error=error, done_at=now)

    def outbox_requeue(self, key: str, now: datetime) -> bool:
        """Make a failed row pending again (a person asked to try once more)."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.key) == key, col(OutboxMessage.state) == "failed")
                .values(state="pending", next_attempt_at=now, attempts=0, done_at=None)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]


def _claimable(now: datetime, lease: timedelta) -> Any:
    return or_(
        and_(col(OutboxMessage.state) == "pending", col(OutboxMessage.next_attempt_at) <= now),
        and_(col(OutboxMessage.state) == "claimed", col(OutboxMessage.claimed_at) < now - lease),
    )
