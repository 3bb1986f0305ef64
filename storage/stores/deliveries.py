"""Slack deliveries already handled: at-least-once delivery becomes exactly-once processing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from storage.db import session_scope
from storage.models import ProcessedEvent, utcnow
from storage.stores import Store

CLAIM_STALE_AFTER = timedelta(seconds=60)
# Slack retries an event 3 times, the last about 5 minutes after the first attempt; a delivery
# is kept this much longer (and far longer than any claim goes stale), then forgotten.
DELIVERY_RETENTION = timedelta(minutes=6) + timedelta(hours=1)


def claim_done_in(s: Session, key: str, kind: str = "event") -> bool:
    """Record a delivery as handled inside the caller's unit of work; False if it already was.

    The work and its claim commit together, so a crash leaves neither behind. Two concurrent
    first deliveries both pass the check; the second fails on the key at commit (IntegrityError)
    and, retried, sees the first one's row.
    """
    if s.get(ProcessedEvent, key) is not None:
        return False
    s.add(ProcessedEvent(key=key, kind=kind, state="done", done_at=utcnow()))
    s.flush()
    return True


class DeliveryStore(Store):
    def claim(self, key: str, kind: str = "event", stale_after: timedelta = CLAIM_STALE_AFTER) -> bool:
        """Claim a Slack delivery. False when it is done or being handled elsewhere right now.

        A claim left "processing" by a crashed process becomes claimable again after
        ``stale_after``, so a Slack retry after a crash is still handled.
        """
        try:
            with session_scope(self.engine) as s:
                s.add(ProcessedEvent(key=key, kind=kind))
            return True
        except IntegrityError:
            pass
        now = utcnow()
        with session_scope(self.engine) as s:
            result = s.execute(
                update(ProcessedEvent)
                .where(
                    col(ProcessedEvent.key) == key,
                    col(ProcessedEvent.state) == "processing",
                    col(ProcessedEvent.claimed_at) < now - stale_after,
                )
                .values(claimed_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def renew_claim(self, key: str) -> None:
        """The claim's holder is still at work: it is not stale yet."""
        with session_scope(self.engine) as s:
            s.execute(
                update(ProcessedEvent)
                .where(col(ProcessedEvent.key) == key, col(ProcessedEvent.state) == "processing")
                .values(claimed_at=utcnow())
            )

    def finish_claim(self, key: str) -> None:
        with session_scope(self.engine) as s:
            s.execute(
                update(ProcessedEvent)
                .where(col(ProcessedEvent.key) == key)
                .values(state="done", done_at=utcnow())
            )

    def release_claim(self, key: str) -> None:
        """Forget a claim whose work failed, so a retry may do it."""
        with session_scope(self.engine) as s:
            s.execute(delete(ProcessedEvent).where(col(ProcessedEvent.key) == key))

    def prune_deliveries(self, now: datetime | None = None, keep: timedelta = DELIVERY_RETENTION) -> int:
        """Forget deliveries older than ``keep`` (done, or claims abandoned long ago); how many."""
        cutoff = (now or utcnow()) - keep
        with session_scope(self.engine) as s:
            result = s.execute(
                delete(ProcessedEvent).where(
                    or_(
                        and_(col(ProcessedEvent.state) == "done", col(ProcessedEvent.done_at) < cutoff),
                        and_(
                            col(ProcessedEvent.state) == "processing", col(ProcessedEvent.claimed_at) < cutoff
                        ),
                    )
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
