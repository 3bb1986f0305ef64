"""Web UI sessions, one row per signed-in browser, shared by every replica.

A row is found by the SHA-256 of the cookie's token. It lets its browser in while it is not
revoked, before its absolute expiry, and seen within the idle timeout; each check is in the query,
so a row revoked by another replica (or the CLI) stops working on its next request.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, update
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import WebSession
from storage.stores import Store


def _live(now: datetime, idle: timedelta) -> ColumnElement[bool]:
    return and_(
        col(WebSession.revoked_at).is_(None),
        col(WebSession.expires_at) > now,
        col(WebSession.last_seen_at) > now - idle,
    )


class WebSessionStore(Store):
    def web_session_add(self, row: WebSession, now: datetime, idle: timedelta) -> WebSession:
        """Record a new session; rows past their expiry (or idle too long) go in the same unit of work."""
        with session_scope(self.engine) as s:
            s.execute(
                delete(WebSession).where(
                    or_(col(WebSession.expires_at) <= now, col(WebSession.last_seen_at) <= now - idle)
                )
            )
            s.add(row)
        return row

    def web_session_live(self, id_hash: str, now: datetime, idle: timedelta) -> WebSession | None:
        """The session with this token hash, if it may still let its browser in."""
        with session_scope(self.engine) as s:
            q = select(WebSession).where(col(WebSession.id_hash) == id_hash, _live(now, idle))
            return s.exec(q).first()

    def web_session_seen(self, id_hash: str, now: datetime, checked: bool = False) -> None:
        """The browser came back (and, with ``checked``, Slack confirmed the person again)."""
        values = {"last_seen_at": now, **({"checked_at": now} if checked else {})}
        with session_scope(self.engine) as s:
            s.execute(
                update(WebSession)
                .where(col(WebSession.id_hash) == id_hash, col(WebSession.revoked_at).is_(None))
                .values(**values)
            )

    def web_session_revoke(self, id_hash: str, now: datetime) -> bool:
        """End one session; False when it was not live (already revoked, or unknown)."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(WebSession)
                .where(col(WebSession.id_hash) == id_hash, col(WebSession.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def web_sessions_revoke_user(self, user_id: str, now: datetime) -> int:
        """End every session of this person, on every browser; how many were still open."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(WebSession)
                .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def web_sessions_open(
        self, now: datetime, idle: timedelta, user_id: str | None = None
    ) -> list[WebSession]:
        """The sessions that still let a browser in, newest first (one person's, or everyone's)."""
        with session_scope(self.engine) as s:
            q = select(WebSession).where(_live(now, idle))
            if user_id is not None:
                q = q.where(col(WebSession.user_id) == user_id)
            return list(s.exec(q.order_by(col(WebSession.created_at).desc())).all())
