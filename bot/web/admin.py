"""`incident-bot web sessions list|revoke`: who is signed in to the web UI, and ending their sessions."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from storage.models import WebSession
from storage.repository import Repository

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
COLUMNS = ("user", "name", "browser", "signed in", "last seen", "expires")


def user_id(text: str) -> str | None:
    """A Slack user ID as typed (``U0123ABCD``, ``W…`` in Enterprise Grid), or None."""
    value = text.strip()
    return value if _USER_ID.fullmatch(value) else None


def _at(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _row(s: WebSession) -> tuple[str, ...]:
    return (s.user_id, s.name, s.user_agent, _at(s.created_at), _at(s.last_seen_at), _at(s.expires_at))


def listing(repo: Repository, now: datetime, idle: timedelta, user: str | None = None) -> list[str]:
    """The open sessions as aligned lines under a header; one line saying so when there is none."""
    rows = [_row(s) for s in repo.web_sessions_open(now, idle, user)]
    if not rows:
        return [f"no open web sessions{f' of {user}' if user else ''}"]
    widths = [max(len(r[i]) for r in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in (COLUMNS, *rows)
    ]


def revoke(repo: Repository, user: str, now: datetime) -> str:
    """End every session of ``user``; what was done, as one line."""
    ended = repo.web_sessions_revoke_user(user, now)
    if not ended:
        return f"{user} had no open web sessions"
    return (
        f"revoked {ended} web session{'s' if ended != 1 else ''} of {user}: every browser must sign in again"
    )
