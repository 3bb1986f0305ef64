"""The read-only web UI under /ui/, behind Sign in with Slack. Pages work without JavaScript.

Sessions live in the database (bot.web.sessions): the cookie (HttpOnly, SameSite=Lax, Secure when
INCIDENT_WEB_URL is https) holds only a signed random token, so signing out ends the session for
every copy of the cookie; a forged, expired or revoked cookie is no session. A sign-in in progress
(OIDC state and nonce) waits in a short-lived signed cookie of its own. Only people of the
configured workspace get in, never its deactivated accounts or bots (asked of Slack at sign-in and
again at least hourly). What a signed-in person may read is the bot's one policy
(``bot.incidents.access.Access``, the instance the Slack listeners use), asked with the action the
route declares (``bounded``): a private incident only for members of its channel; a workspace guest
only the incidents whose channel they are in, and no analytics (they add up every incident).
Starting a sign-in keeps the current session until its callback succeeds. The forms that change anything
(sign out, here or everywhere) carry a CSRF token. Every page is rendered with autoescaping, under
a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.analytics.core import human
from bot.analytics.slices import Slice
from bot.config import Settings
from bot.incidents.access import Access, Action
from bot.incidents.vocabulary import incident_ref
from bot.ops.http_boundary import FORM_BYTES, NO_BODY, Limits, bounded, declared_action
from bot.ops.request_values import number, token
from bot.postmortem.render import BUILTIN_DIR
from bot.present import formats
from bot.present.commonmark import stylesheet
from bot.present.pages import Pages
from bot.slack.client import slack_error
from bot.web import sessions, views
from bot.web.oidc import SignInFailed, SlackOidc
from bot.web.status import internal_status
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

UNCONFIRMED = "Slack could not confirm your account just now. Sign in again in a moment."
NOT_ADMITTED = "Only active people of this workspace can use the incident web UI."

SIGN_IN_COOKIE = "incident_bot_signin"  # the OIDC state of a sign-in in progress
SIGN_IN_MAX_AGE = 600
RECHECK_SECONDS = 3600  # how long a session trusts what Slack said of its person
ANALYTICS_TTL = 60.0  # analytics change slowly: one computation per window a minute
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.csp = CSP

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [
                    (b"content-security-policy", self.csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cache-control", b"no-store"),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class WebUI:
    def __init__(
        self,
        settings: Settings,
        repo: Repository,
        client: WebClient,
        clock: Callable[[], datetime],
        access: Access,
    ) -> None:
        s = settings
        assert s.web_url and s.slack_client_id and s.slack_client_secret and s.web_session_secret
        self.settings = settings
        self.repo = repo
        self.client = client
        self.clock = clock
        self.base = s.web_url
        self.oidc = SlackOidc(s.slack_api_url, s.slack_client_id, s.slack_client_secret.get_secret_value())
        self.sessions = sessions.WebSessions(
            repo,
            s.web_session_secret.get_secret_value(),
            lifetime=timedelta(hours=s.web_session_hours),
            idle=timedelta(minutes=s.web_session_idle_minutes),
            https=s.web_url.startswith("https://"),
            clock=clock,
        )
        self._team_id = s.web_team_id
        self._team_lock = threading.Lock()
        self.access = access
        self.env = Environment(
            loader=FileSystemLoader(str(BUILTIN_DIR / "web")),
            autoescape=select_autoescape(["html"], default=True),
        )
        self._analytics: dict[tuple[str, ...], tuple[float, Any]] = {}
        self.env.filters["duration"] = human
        self.env.filters["when"] = lambda at: formats.when(at, zone=True)

    def names(self, people: dict[int, str]) -> dict[int, str]:
        """Incident id → the person's name (one directory for the page: each id looked up once)."""
        pages = Pages(self.client)
        pages.learn((), people.values())
        return {key: pages.person(uid) for key, uid in people.items()}

    # -- who may see what --------------------------------------------------------------------
    def team_id(self) -> str:
        """The workspace allowed in: INCIDENT_WEB_TEAM_ID, else the bot's own (auth.test, once)."""
        with self._team_lock:
            if not self._team_id:
                self._team_id = str(self.client.auth_test().get("team_id") or "")
            return self._team_id

    def not_admitted(self, user_id: str) -> str | None:
        """Why this person may not sign in (``Access.admits``, asked of Slack now rather than
        from its cache), or None."""
        self.access.people.forget(user_id)
        try:
            return NOT_ADMITTED if self.access.admits(user_id) else None
        except Exception as exc:
            log.warning("users.info %s failed: %s", user_id, slack_error(exc))
            return UNCONFIRMED

    @property
    def redirect_uri(self) -> str:
        return f"{self.base}/ui/auth/callback"

    def cached(self, kind: str, window: str, period: str, where: Slice, compute: Any) -> Any:
        key = (kind, window, period, *where.key())
        hit = self._analytics.get(key)
        if hit is not None and time.monotonic() - hit[0] < ANALYTICS_TTL:
            return hit[1]
        if len(self._analytics) > 200:  # slices people chose: bounded, the oldest go first
            for stale, _hit in sorted(list(self._analytics.items()), key=lambda kv: kv[1][0])[:100]:
                self._analytics.pop(stale, None)
        value = compute(self.repo, window, period, self.clock(), where, self.settings.config)
        self._analytics[key] = (time.monotonic(), value)
        return value

    # -- rendering ---------------------------------------------------------------------------
    def page(self, request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        session = sessions.current(request)
        html = self.env.get_template(template).render(
            viewer=session.name if session else None,
            csrf=self.sessions.csrf(session) if session else "",
            root="/ui",
            **ctx,
        )
        return HTMLResponse(html, status_code=status)

    def refuse(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.page(request, "message.html", status=status, title="Not available", message=message)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, and the policy's answer for them to the action their page declares."""

    uid: str
    team: str
    access: Access
    action: Action

    def check(self, incident: Incident | None) -> str | None:
        """Why they may not (``Access.check``; None: a listing of every incident), or None."""
        return self.access.check(self.uid, self.action, incident)

    def may(self, incident: Incident) -> bool:
        """One of a listing's incidents (``Access.check``'s ``listing``)."""
        return self.access.check(self.uid, self.action, incident, listing=True) is None


def _plain(refusal: str) -> str:
    """A refusal as a page says it: nothing can change on a read-only page."""
    return refusal.replace("; nothing changed.", ".").replace(" Nothing changed.", "")


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/signin?next={quote(target, safe='')}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only paths of this UI: never another site (open redirect)."""
    if not value or not value.startswith("/ui/") or value.startswith("//"):
        return "/ui/"
    parsed = urlparse(value)
    return "/ui/" if parsed.scheme or parsed.netloc else value


def signed_in(handler: Any) -> Any:
    async def wrapped(request: Request) -> Response:
        session = sessions.current(request)
        if session is None:
            return _sign_in_redirect(request)
        ui: WebUI = request.app.state.ui
        if (ui.sessions.clock() - session.checked_at).total_seconds() > RECHECK_SECONDS:
            # Slack is asked again at least hourly: a person deactivated is out, on every browser.
            refusal = await run_in_threadpool(ui.not_admitted, session.user_id)
            if refusal:
                if refusal != UNCONFIRMED:
                    await run_in_threadpool(ui.sessions.revoke_person, session.user_id, "Slack recheck")
                    sessions.end(request)
                return ui.refuse(request, 403, refusal)
            await run_in_threadpool(ui.sessions.checked, session)
        viewer = Viewer(session.user_id, session.team_id, ui.access, declared_action(request))
        return await handler(request, viewer)

    return wrapped


# -- sign in / out -----------------------------------------------------------------------
async def signin(request: Request) -> Response:
    ui: WebUI = request.app.state.ui
    nxt = _safe_next(request.query_params.get("next"))
    return ui.page(request, "signin.html", title="Sign in", next=nxt)


async def login(request: Request) -> Response:
    ui: WebUI = request.app.state.ui
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    # Whoever is signed in stays so until a callback succeeds: any site can make a browser GET this.
    request.session["oidc"] = {
        "state": state,
        "nonce": nonce,
        "next": _safe_next(request.query_params.get("next")),
    }
    team = await run_in_threadpool(ui.team_id)
    url = ui.oidc.authorize_url(redirect_uri=ui.redirect_uri, state=state, nonce=nonce, team=team)
    return RedirectResponse(url, status_code=303)


async def callback(request: Request) -> Response:
    ui: WebUI = request.app.state.ui
    pending = request.session.pop("oidc", None)
    q = request.query_params
    state = token(q.get("state"))
    if not pending or state is None or not secrets.compare_digest(state, pending["state"]):
        return ui.refuse(
            request, 400, "This sign-in was not started here, or it was already used. Sign in again."
        )
    if q.get("error") or not q.get("code"):
        return ui.refuse(request, 400, "Slack did not sign you in. Sign in again.")
    try:
        who = await run_in_threadpool(
            ui.oidc.sign_in, code=str(q["code"]), redirect_uri=ui.redirect_uri, nonce=pending["nonce"]
        )
        team = await run_in_threadpool(ui.team_id)
    except SignInFailed as exc:
        log.info("sign-in refused: %s", exc)
        return ui.refuse(request, 400, f"Sign-in failed: {exc}.")
    if who.team_id != team:
        log.info("sign-in refused: %s is from another workspace", who.user_id)
        return ui.refuse(
            request,
            403,
            "You are signed in to another Slack workspace; this one only lets its own members in.",
        )
    refusal = await run_in_threadpool(ui.not_admitted, who.user_id)
    if refusal:
        log.info("sign-in refused: %s: %s", who.user_id, refusal)
        return ui.refuse(request, 403, refusal)
    request.session.clear()
    previous = sessions.current(request)
    if previous is not None:
        await run_in_threadpool(ui.sessions.revoke, previous)
    person = sessions.Person(who.user_id, who.team_id, who.name)
    cookie, _ = await run_in_threadpool(ui.sessions.open, person, request.headers.get("user-agent"))
    sessions.begin(request, cookie)
    return RedirectResponse(pending.get("next") or "/ui/", status_code=303)


STALE_FORM = "Sign-out refused: the form is stale or from another site."


def has_session(request: Request) -> Response | None:
    """Sign-out's admission, on the request head: a live session (no cookie, a forged, revoked or
    expired one: refused before a byte of the body is read)."""
    return None if sessions.current(request) else PlainTextResponse(STALE_FORM, status_code=403)


async def logout(request: Request) -> Response:
    return await _sign_out(request, everywhere=False)


async def logout_everywhere(request: Request) -> Response:
    return await _sign_out(request, everywhere=True)


async def _sign_out(request: Request, everywhere: bool) -> Response:
    """This browser's session ends (``everywhere``: every session of its person, on every browser)."""
    ui: WebUI = request.app.state.ui
    session = sessions.current(request)
    body = await request.body()  # at most FORM_BYTES (its route's limits)
    form = dict(parse_qsl(body.decode("utf-8", "replace")))  # a urlencoded form, no multipart
    given = token(form.get("csrf"))
    expected = ui.sessions.csrf(session) if session else ""
    if session is None or given is None or not secrets.compare_digest(given, expected):
        return PlainTextResponse(STALE_FORM, status_code=403)
    if everywhere:
        await run_in_threadpool(ui.sessions.revoke_person, session.user_id, "signed out everywhere")
    else:
        await run_in_threadpool(ui.sessions.revoke, session)
    sessions.end(request)
    return RedirectResponse("/ui/signin", status_code=303)


# -- pages -------------------------------------------------------------------------------
@signed_in
async def incident_list(request: Request, viewer: Viewer) -> Response:
    ui: WebUI = request.app.state.ui
    q = dict(request.query_params)
    try:
        page = await run_in_threadpool(views.list_page, ui.repo, q, viewer.may, Pages(ui.client))
    except views.BadFilter as exc:
        return ui.page(request, "message.html", status=400, title="Bad filter", message=str(exc))
    return ui.page(
        request,
        "list.html",
        title=f"Search: {page.searched}" if page.searched else "Incidents",
        p=page,
        q=q,
        severities=views.SEVERITIES,
        statuses=views.STATUSES,
        status_labels=views.STATUS_LABELS,
    )


@signed_in
async def incident(request: Request, viewer: Viewer) -> Response:
    ui: WebUI = request.app.state.ui
    repo = ui.repo
    wanted = number(request.path_params["number"])
    inc = None if wanted is None else await run_in_threadpool(repo.incident_by_number, wanted)
    hidden = inc is None or inc.state != "active" or bool(await run_in_threadpool(viewer.check, inc))
    if inc is None or hidden:
        return ui.refuse(request, 404, f"There is no incident #{wanted or '?'} that you can see.")
    rev_text = request.query_params.get("rev")
    revision = number(rev_text) if rev_text else None
    if rev_text and revision is None:
        return ui.refuse(request, 400, "The revision must be a number.")
    page = await run_in_threadpool(
        views.incident_page,
        repo,
        inc,
        viewer.team,
        revision,
        Pages(ui.client),
        ui.settings.config,
        viewer.may,
    )
    return ui.page(
        request,
        "incident.html",
        title=incident_ref(inc),
        p=page,
        inc=inc,
        document_html=Markup(page.document_html) if page.document_html else None,
    )


@signed_in
async def analytics(request: Request, viewer: Viewer) -> Response:
    ui: WebUI = request.app.state.ui
    window = request.query_params.get("window", "year")
    period = request.query_params.get("period", "month")
    refusal = await run_in_threadpool(viewer.check, None)  # every incident, added up
    if refusal:
        return ui.refuse(request, 403, _plain(refusal))
    try:
        where = views.analytics_slice(request.query_params.multi_items(), ui.settings.config)
        page = await run_in_threadpool(ui.cached, "page", window, period, where, views.analytics_page)
    except views.BadFilter as exc:
        return ui.page(request, "message.html", status=400, title="Bad filter", message=str(exc))
    return ui.page(
        request,
        "analytics.html",
        title="Analytics",
        a=page,
        svg=Markup(page.svg[page.svg.find("<svg") :]),  # our own chart: numbers and dates only
        windows=views.ANALYTICS_WINDOWS,
    )


@signed_in
async def analytics_csv(request: Request, viewer: Viewer) -> Response:
    ui: WebUI = request.app.state.ui
    window = request.query_params.get("window", "year")
    period = request.query_params.get("period", "month")
    refusal = await run_in_threadpool(viewer.check, None)
    if refusal:
        return PlainTextResponse(_plain(refusal), status_code=403)
    try:
        where = views.analytics_slice(request.query_params.multi_items(), ui.settings.config)
        text = await run_in_threadpool(ui.cached, "csv", window, period, where, views.analytics_csv)
    except views.BadFilter as exc:
        return PlainTextResponse(str(exc), status_code=400)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="incidents-{window}-{period}.csv"'},
    )


@signed_in
async def status(request: Request, viewer: Viewer) -> Response:
    """The status page as the company sees it (the public one's data, and the incidents behind it
    that this reader may see)."""
    ui: WebUI = request.app.state.ui
    config = ui.settings.config.statuspage
    if not config.enabled:
        return ui.page(
            request,
            "message.html",
            status=404,
            title="Status page off",
            message="The status page is off: its components are listed under [statuspage] in the config.",
        )
    got = await run_in_threadpool(internal_status, ui.repo, config, ui.clock(), viewer.may)
    return ui.page(
        request,
        "ui_status.html",
        title="Status",
        p=got.page,
        internal=got.internal,
        unpublished=got.unpublished,
    )


async def style(request: Request) -> Response:
    """The one stylesheet, shared with the HTML document (which carries it inline)."""
    return Response(stylesheet(), media_type="text/css; charset=utf-8")


async def http_error(request: Request, exc: Exception) -> Response:
    """An unknown page, a wrong method: the shared layout and a line saying so, never a bare status."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    ui: WebUI = request.app.state.ui
    title, message = views.http_error_text(status)
    return ui.page(request, "message.html", status=status, title=title, message=message)


def create_web_app(
    settings: Settings,
    repo: Repository,
    client: WebClient,
    clock: Callable[[], datetime],
    access: Access,
) -> Starlette:
    """``access``: the policy the Slack listeners ask (one instance: one cache of people and
    channel members)."""
    ui = WebUI(settings, repo, client, clock, access)
    https = ui.base.startswith("https://")
    app = Starlette(
        routes=[
            *(
                bounded(Route(path, page, methods=["GET"]), NO_BODY, action)
                for path, page, action in [
                    ("/", incident_list, Action.READ),
                    ("/incidents/{number}", incident, Action.READ),
                    ("/analytics", analytics, Action.READ),
                    ("/analytics.csv", analytics_csv, Action.READ),
                    ("/status", status, Action.READ),
                    ("/signin", signin, Action.PUBLIC),
                    ("/auth/login", login, Action.PUBLIC),
                    ("/auth/callback", callback, Action.PUBLIC),
                ]
            ),
            bounded(
                Route("/auth/logout", logout, methods=["POST"]),
                Limits(FORM_BYTES, admit=has_session),
                Action.PUBLIC,  # the session's own CSRF token
            ),
            bounded(
                Route("/auth/logout/everywhere", logout_everywhere, methods=["POST"]),
                Limits(FORM_BYTES, admit=has_session),
                Action.PUBLIC,  # the session's own CSRF token
            ),
            bounded(Route("/static/style.css", style, methods=["GET"]), NO_BODY, Action.PUBLIC),
        ],
        exception_handlers={HTTPException: http_error},
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(sessions.SessionCookies, sessions=ui.sessions),
            Middleware(
                SessionMiddleware,
                secret_key=settings.web_session_secret.get_secret_value(),  # type: ignore[union-attr]
                session_cookie=SIGN_IN_COOKIE,
                max_age=SIGN_IN_MAX_AGE,
                path="/ui",
                same_site="lax",
                https_only=https,
            ),
        ],
    )
    app.state.ui = ui
    return app
