"""Server-side web sessions: the cookie holds a signed random token, the database the session.

A browser is signed in while its session's row (``storage.stores.web_sessions``) is live: not
revoked, within its absolute lifetime (INCIDENT_WEB_SESSION_HOURS) and used within the idle
timeout (INCIDENT_WEB_SESSION_IDLE_MINUTES). Signing out revokes the row, so a copy of the cookie
saved before it opens nothing; "sign out everywhere", a person deactivated, and
`incident-bot web sessions revoke` revoke all of a person's rows (a person turned guest keeps
theirs, limited to the incidents whose channel they are in). Replicas share the rows.

The token is signed with INCIDENT_WEB_SESSION_SECRET (a forged or garbled cookie is turned away
before the database is asked) and stored only as its SHA-256. The CSRF token of a session's forms
is an HMAC of that hash: nothing more to store, different for every session.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.ops.request_values import token
from storage.models import WebSession
from storage.repository import Repository

log = logging.getLogger(__name__)

SESSION_COOKIE = "incident_bot_session"
COOKIE_PATH = "/ui"
TOUCH_EVERY = timedelta(minutes=1)  # how stale "last seen" may get (one write a minute per browser)
_SALT = "incident-bot.web-session"
_SCOPE_KEY = "incident_bot.web_session"
_SET_KEY = "incident_bot.web_session_cookie"
_MAX_COOKIE = 200


@dataclass(frozen=True)
class Person:
    """Who a new session is for (from Sign in with Slack)."""

    user_id: str
    team_id: str
    name: str


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def user_agent_summary(header: str | None) -> str:
    """The browser in a few words ("Firefox on Linux"), else the header's start in printable ASCII."""
    text = _PRINTABLE.sub("", header or "")
    browser = next((name for mark, name in _BROWSERS if mark in text), None)
    system = next((name for mark, name in _SYSTEMS if mark in text), None)
    if browser and system:
        return f"{browser} on {system}"
    return text[:60].strip() or "unknown"


class WebSessions:
    def __init__(
        self,
        repo: Repository,
        secret: str,
        *,
        lifetime: timedelta,
        idle: timedelta,
        https: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo = repo
        self.signer = Signer(secret, salt=_SALT)
        self.csrf_key = hashlib.sha256(f"{_SALT}.csrf:{secret}".encode()).digest()
        self.lifetime = lifetime
        self.idle = idle
        self.https = https
        self.clock = clock

    # -- the cookie ----------------------------------------------------------------------------
    def token_in(self, cookie: str | None) -> str | None:
        """The session token a cookie carries, if it is one this bot signed."""
        if not cookie or len(cookie) > _MAX_COOKIE or not cookie.isascii():
            return None
        try:
            return token(self.signer.unsign(cookie).decode("ascii"))
        except (BadSignature, UnicodeDecodeError):
            return None

    def cookie_header(self, value: str | None) -> str:
        """The Set-Cookie value that stores ``value`` (None: removes the cookie)."""
        response = Response()
        if value is None:
            response.delete_cookie(
                SESSION_COOKIE, path=COOKIE_PATH, secure=self.https, httponly=True, samesite="lax"
            )
        else:
            response.set_cookie(
                SESSION_COOKIE,
                value,
                max_age=int(self.lifetime.total_seconds()),
                path=COOKIE_PATH,
                secure=self.https,
                httponly=True,
                samesite="lax",
            )
        return response.headers["set-cookie"]

    def csrf(self, session: WebSession) -> str:
        return hmac.new(self.csrf_key, session.id_hash.encode(), hashlib.sha256).hexdigest()

    # -- the records ---------------------------------------------------------------------------
    def live(self, raw: str) -> WebSession | None:
        """The live session of this token; notes the visit when "last seen" is over a minute old."""
        now = self.clock()
        found = self.repo.web_session_live(token_hash(raw), now, self.idle)
        if found is not None and now - found.last_seen_at >= TOUCH_EVERY:
            self.repo.web_session_seen(found.id_hash, now)
        return found

    def open(self, person: Person, user_agent: str | None) -> tuple[str, WebSession]:
        """A new session: its cookie value and its record."""
        raw = secrets.token_urlsafe(32)
        now = self.clock()
        row = WebSession(
            id_hash=token_hash(raw),
            user_id=person.user_id,
            team_id=person.team_id,
            name=person.name,
            user_agent=user_agent_summary(user_agent),
            created_at=now,
            last_seen_at=now,
            checked_at=now,
            expires_at=now + self.lifetime,
        )
        return self.signer.sign(raw).decode("ascii"), self.repo.web_session_add(row, now, self.idle)

    def checked(self, session: WebSession) -> None:
        """Slack confirmed the person again just now."""
        self.repo.web_session_seen(session.id_hash, self.clock(), checked=True)

    def revoke(self, session: WebSession) -> None:
        self.repo.web_session_revoke(session.id_hash, self.clock())

    def revoke_person(self, user_id: str, why: str) -> int:
        """End every session of this person; ``why`` is logged."""
        ended = self.repo.web_sessions_revoke_user(user_id, self.clock())
        log.info("web sessions of %s revoked (%s): %d", user_id, why, ended)
        return ended


# -- per request -----------------------------------------------------------------------------
def current(conn: HTTPConnection) -> WebSession | None:
    """The signed-in session of this request (loaded by ``SessionCookies``), or None."""
    found = conn.scope.get(_SCOPE_KEY)
    return found if isinstance(found, WebSession) else None


def begin(conn: HTTPConnection, cookie_value: str) -> None:
    """The answer to this request stores the new session's cookie."""
    conn.scope[_SET_KEY] = cookie_value


def end(conn: HTTPConnection) -> None:
    """The answer to this request removes the session cookie; this request is signed out."""
    conn.scope[_SET_KEY] = None
    conn.scope[_SCOPE_KEY] = None


class SessionCookies:
    """Loads the session a request's cookie names into its scope (``current``) before any route
    runs, and writes what ``begin``/``end`` asked for into the answer. A cookie that opens nothing
    (forged, garbled, revoked, expired) is removed."""

    def __init__(self, app: ASGIApp, sessions: WebSessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(SESSION_COOKIE)
        raw = self.sessions.token_in(cookie)
        scope[_SCOPE_KEY] = None if raw is None else await run_in_threadpool(self.sessions.live, raw)
        if cookie and scope[_SCOPE_KEY] is None:
            scope[_SET_KEY] = None

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and _SET_KEY in scope:
                MutableHeaders(scope=message).append(
                    "set-cookie", self.sessions.cookie_header(scope[_SET_KEY])
                )
            await send(message)

        await self.app(scope, receive, with_cookie)
