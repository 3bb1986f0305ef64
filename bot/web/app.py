"""The read-only web UI under /ui/, behind Sign in with Slack. Pages work without JavaScript.

Sessions: Starlette's SessionMiddleware (an itsdangerous-signed, timestamped cookie: HttpOnly,
SameSite=Lax, Secure when INCIDENT_WEB_URL is https); a forged or expired cookie is an empty
session. Only people of the configured workspace get in; a private incident only for members of
its channel. The one form that changes anything (sign out) carries a CSRF token. Every page is
rendered with autoescaping, under a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.analytics.charts import warm_up
from bot.analytics.core import human
from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.postmortem.render import BUILTIN_DIR
from bot.slack.members import channel_members
from bot.web import views
from bot.web.oidc import SignInFailed, SlackOidc
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

SESSION_COOKIE = "incident_bot_session"
SESSION_MAX_AGE = 8 * 3600
ANALYTICS_TTL = 60.0  # analytics change slowly: one computation per window a minute
STATIC_DIR = Path(__file__).resolve().parent / "static"
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
        self, settings: Settings, repo: Repository, client: WebClient, clock: Callable[[], datetime]
    ) -> None:
        s = settings
        assert s.web_url and s.slack_client_id and s.slack_client_secret and s.web_session_secret
        self.settings = settings
        self.repo = repo
        self.client = client
        self.clock = clock
        self.base = s.web_url
        self.oidc = SlackOidc(s.slack_api_url, s.slack_client_id, s.slack_client_secret.get_secret_value())
        self._team_id = s.web_team_id
        self._team_lock = threading.Lock()
        self.members = channel_members(client)
        self.env = Environment(
            loader=FileSystemLoader(str(BUILTIN_DIR / "web")),
            autoescape=select_autoescape(["html"], default=True),
        )
        self._analytics: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self.env.filters["duration"] = human
        self.env.filters["when"] = lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"

    # -- who may see what --------------------------------------------------------------------
    def team_id(self) -> str:
        """The workspace allowed in: INCIDENT_WEB_TEAM_ID, else the bot's own (auth.test, once)."""
        with self._team_lock:
            if not self._team_id:
                self._team_id = str(self.client.auth_test().get("team_id") or "")
            return self._team_id

    def can_see(self, inc: Incident, user_id: str) -> bool:
        return not inc.is_private or self.members.is_member(inc.channel_id, user_id)

    @property
    def redirect_uri(self) -> str:
        return f"{self.base}/ui/auth/callback"

    def cached(self, kind: str, window: str, period: str, compute: Any) -> Any:
        key = (kind, window, period)
        hit = self._analytics.get(key)
        if hit is not None and time.monotonic() - hit[0] < ANALYTICS_TTL:
            return hit[1]
        value = compute(self.repo, window, period, self.clock())
        self._analytics[key] = (time.monotonic(), value)
        return value

    # -- rendering ---------------------------------------------------------------------------
    def page(self, request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        session = request.session
        html = self.env.get_template(template).render(
            viewer=session.get("name"),
            csrf=session.get("csrf", ""),
            root="/ui",
            **ctx,
        )
        return HTMLResponse(html, status_code=status)

    def refuse(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.page(request, "message.html", status=status, title="Not available", message=message)


def _viewer(request: Request) -> dict[str, Any] | None:
    """The signed-in person, or None (no cookie, a forged one, or an expired session)."""
    s = request.session
    if not s.get("uid") or not isinstance(s.get("exp"), int | float) or s["exp"] < time.time():
        return None
    return s


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
        viewer = _viewer(request)
        if viewer is None:
            request.session.clear()
            return _sign_in_redirect(request)
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
    request.session.clear()
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
    if not pending or not q.get("state") or not secrets.compare_digest(str(q["state"]), pending["state"]):
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
    request.session.clear()
    request.session.update(
        uid=who.user_id,
        team=who.team_id,
        name=who.name,
        csrf=secrets.token_urlsafe(24),
        exp=int(time.time()) + SESSION_MAX_AGE,
    )
    return RedirectResponse(pending.get("next") or "/ui/", status_code=303)


async def logout(request: Request) -> Response:
    body = await request.body()
    form = dict(parse_qsl(body[:4096].decode("utf-8", "replace")))  # a urlencoded form, no multipart
    token = form.get("csrf", "")
    expected = str(request.session.get("csrf") or "")
    if not expected or not secrets.compare_digest(token, expected):
        return PlainTextResponse("Sign-out refused: the form is stale or from another site.", status_code=403)
    request.session.clear()
    return RedirectResponse("/ui/signin", status_code=303)


# -- pages -------------------------------------------------------------------------------
@signed_in
async def incident_list(request: Request, viewer: dict[str, Any]) -> Response:
    ui: WebUI = request.app.state.ui
    repo = ui.repo
    q = dict(request.query_params)
    try:
        f = views.parse_filter(q)
        before = int(q["before"]) if q.get("before") else None
    except (views.BadFilter, ValueError) as exc:
        return ui.page(request, "message.html", status=400, title="Bad filter", message=str(exc))
    rows, nxt = await run_in_threadpool(
        views.visible_page, repo, f, before, lambda inc: ui.can_see(inc, viewer["uid"])
    )
    leads = await run_in_threadpool(repo.leads, [i.id for i in rows if i.id is not None])
    older = None
    if nxt is not None:
        keep = {k: v for k, v in q.items() if k != "before" and v}
        older = "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in {**keep, "before": str(nxt)}.items())
    return ui.page(
        request,
        "list.html",
        title="Incidents",
        incidents=rows,
        leads=leads,
        q=q,
        older=older,
        severities=views.SEVERITIES,
        statuses=views.STATUSES,
        status_labels=views.STATUS_LABELS,
    )


@signed_in
async def incident(request: Request, viewer: dict[str, Any]) -> Response:
    ui: WebUI = request.app.state.ui
    repo = ui.repo
    number = request.path_params["number"]
    inc = await run_in_threadpool(repo.incident_by_number, number)
    if inc is None or inc.state != "active" or not await run_in_threadpool(ui.can_see, inc, viewer["uid"]):
        return ui.refuse(request, 404, f"There is no incident #{number} that you can see.")
    rev_text = request.query_params.get("rev")
    revision = int(rev_text) if rev_text and rev_text.isdigit() else None
    page = await run_in_threadpool(views.incident_page, repo, inc, viewer["team"], revision)
    return ui.page(
        request,
        "incident.html",
        title=incident_ref(inc),
        p=page,
        inc=inc,
        document_html=Markup(page.document_html) if page.document_html else None,
    )


@signed_in
async def analytics(request: Request, viewer: dict[str, Any]) -> Response:
    ui: WebUI = request.app.state.ui
    window = request.query_params.get("window", "year")
    period = request.query_params.get("period", "month")
    try:
        page = await run_in_threadpool(ui.cached, "page", window, period, views.analytics_page)
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
async def analytics_csv(request: Request, viewer: dict[str, Any]) -> Response:
    ui: WebUI = request.app.state.ui
    window = request.query_params.get("window", "year")
    period = request.query_params.get("period", "month")
    try:
        text = await run_in_threadpool(ui.cached, "csv", window, period, views.analytics_csv)
    except views.BadFilter as exc:
        return PlainTextResponse(str(exc), status_code=400)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="incidents-{window}-{period}.csv"'},
    )


def create_web_app(
    settings: Settings, repo: Repository, client: WebClient, clock: Callable[[], datetime]
) -> Starlette:
    threading.Thread(target=warm_up, name="chart-warm-up", daemon=True).start()
    ui = WebUI(settings, repo, client, clock)
    https = ui.base.startswith("https://")
    app = Starlette(
        routes=[
            Route("/", incident_list, methods=["GET"]),
            Route("/incidents/{number:int}", incident, methods=["GET"]),
            Route("/analytics", analytics, methods=["GET"]),
            Route("/analytics.csv", analytics_csv, methods=["GET"]),
            Route("/signin", signin, methods=["GET"]),
            Route("/auth/login", login, methods=["GET"]),
            Route("/auth/callback", callback, methods=["GET"]),
            Route("/auth/logout", logout, methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=settings.web_session_secret.get_secret_value(),  # type: ignore[union-attr]
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                path="/ui",
                same_site="lax",
                https_only=https,
            ),
        ],
    )
    app.state.ui = ui
    return app
