"""The public status page: ``/status`` (HTML), ``/status.json`` and ``/status/feed.atom``.

No sign-in, read-only, the same for everyone: cacheable for ``MAX_AGE`` seconds by browsers and
CDNs, and built in the process once per version of what it shows (a new update elsewhere shows
within ``CHECK_EVERY`` seconds). Each answer carries an ETag (a
digest of its bytes); a request whose If-None-Match holds it gets 304 and no body. It is served whenever the
config lists components (``[statuspage]``), with or without the web UI (INCIDENT_WEB_URL): a plain
``serve`` serves it. No script, no external request (the shared stylesheet is inline).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.config import Settings
from bot.incidents.access import Action
from bot.ops.http_boundary import NO_BODY, bounded
from bot.postmortem.render import BUILTIN_DIR
from bot.present import formats
from bot.present.commonmark import stylesheet
from bot.statuspage.page import StatusPage, as_atom, as_json, build
from storage.repository import Repository

MAX_AGE = 30
CHECK_EVERY = 1.0  # seconds between two looks at the state's version (other replicas' updates)
HEADERS = {
    "cache-control": f"public, max-age={MAX_AGE}",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@dataclass(frozen=True)
class _Built:
    page: StatusPage
    version: tuple[object, ...]
    rendered: dict[str, Rendered]  # kind:base → its bytes, filled on first ask


@dataclass(frozen=True)
class Rendered:
    body: bytes
    gzipped: bytes  # the same, for a client that accepts gzip (the HTML shrinks about tenfold)
    etag: str  # a digest of ``body``; the gzipped variant's ends in "-gz"

    @classmethod
    def of(cls, body: bytes) -> Rendered:
        return cls(
            body, gzip.compress(body, compresslevel=6, mtime=0), f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        )

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'


class PublicStatus:
    """The page, built from the database once per state version (``_version``: the newest public
    update and maintenance window, the windows started and ended, the day) and rendered once per
    kind: every request until the state changes gets the same bytes, and the same ETag. The
    version is looked at most every ``CHECK_EVERY`` seconds, by one request at a time; while it
    rebuilds, the others are answered from the previous build (only the first build is waited
    for)."""

    def __init__(self, settings: Settings, repo: Repository, clock: Callable[[], datetime]) -> None:
        self.config = settings.config.statuspage
        self.base_url = settings.web_url
        self.repo = repo
        self.clock = clock
        self._checking = threading.Lock()  # one request looks at the version (and rebuilds) at a time
        self._built: _Built | None = None
        self._checked_at = 0.0
        self.env = Environment(
            loader=FileSystemLoader(str(BUILTIN_DIR / "web")),
            autoescape=select_autoescape(["html"], default=True),
        )
        self.env.filters["when"] = lambda at: formats.when(at, zone=True)

    def _version(self, now: datetime) -> tuple[object, ...]:
        return (*self.repo.statuspage_version(now), now.date())

    def _current(self) -> _Built:
        built = self._built
        if built is not None and time.monotonic() - self._checked_at < CHECK_EVERY:
            return built
        if not self._checking.acquire(blocking=built is None):
            assert built is not None
            return built  # another request is looking: the previous build meanwhile
        try:
            built = self._built
            if built is not None and time.monotonic() - self._checked_at < CHECK_EVERY:
                return built
            now = self.clock()
            version = self._version(now)
            if built is None or built.version != version:
                incidents = self.repo.public_incidents_since(now - timedelta(days=self.config.history_days))
                updates = self.repo.public_updates([i.id or 0 for i in incidents])
                page = build(self.config, incidents, updates, now, self.repo.maintenance_after(now))
                built = self._built = _Built(page, version, {})
            self._checked_at = time.monotonic()
            return built
        finally:
            self._checking.release()

    def page(self) -> StatusPage:
        return self._current().page

    def cached(self, kind: str, base: str = "") -> Rendered | None:
        """The rendered bytes when no look at the version is due (no database, no thread hop)."""
        built = self._built
        if built is None or time.monotonic() - self._checked_at >= CHECK_EVERY:
            return None
        return built.rendered.get(f"{kind}:{base}")

    def rendered(self, kind: str, base: str = "") -> Rendered:
        """``html``, ``json`` or ``atom`` (its links under ``base``) of the current page."""
        built = self._current()
        key = f"{kind}:{base}"
        found = built.rendered.get(key)
        if found is None:  # two requests may both render it: the same bytes, one kept
            page = built.page
            if kind == "html":
                css = Markup(stylesheet())  # our own stylesheet: autoescape would break its quoted names
                body = self.env.get_template("status.html").render(p=page, css=css).encode()
            elif kind == "json":
                body = json.dumps(as_json(page), ensure_ascii=False, indent=1).encode()
            else:
                body = as_atom(page, base)
            found = built.rendered.setdefault(key, Rendered.of(body))
        return found

    def forget(self) -> None:
        """A public update was published here: the next request looks at the version at once."""
        self._checked_at = 0.0

    def base(self, request: Request) -> str:
        return self.base_url or str(request.base_url).rstrip("/")


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "x-gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _tags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header (weak ones compare as strong: RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return {"*"}
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def status_routes(public: PublicStatus | None) -> list[BaseRoute]:
    """The three public routes, when the config lists components; nothing otherwise."""
    if public is None or not public.config.enabled:
        return []

    async def serve(request: Request, kind: str, media_type: str) -> Response:
        base = public.base(request) if kind == "atom" else ""
        done = public.cached(kind, base)
        if done is None:  # a look at the version is due, or the first render of this kind
            done = await run_in_threadpool(public.rendered, kind, base)
        zipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
        etag = done.gzip_etag if zipped else done.etag
        headers = {**HEADERS, "etag": etag, "vary": "Accept-Encoding"}
        if zipped:
            headers["content-encoding"] = "gzip"
        held = _tags(request.headers.get("if-none-match", ""))
        if etag in held or "*" in held:
            headers.pop("content-encoding", None)
            return Response(status_code=304, headers=headers)  # the copy the client holds is current
        return Response(done.gzipped if zipped else done.body, media_type=media_type, headers=headers)

    async def html(request: Request) -> Response:
        return await serve(request, "html", "text/html; charset=utf-8")

    async def data(request: Request) -> Response:
        return await serve(request, "json", "application/json")

    async def feed(request: Request) -> Response:
        return await serve(request, "atom", "application/atom+xml")

    return [
        bounded(Route(path, endpoint, methods=["GET"]), NO_BODY, Action.PUBLIC)  # the public page
        for path, endpoint in (("/status", html), ("/status.json", data), ("/status/feed.atom", feed))
    ]
