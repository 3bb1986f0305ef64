"""The one HTTP boundary: every route declares how much body it takes, from whom, how fast, and
the access action it is (``bot.incidents.access.Action``: ``READ`` for the web pages, ``PUBLIC``
for the probes, Slack's signed intake and sign-in).

``bounded(route, Limits(...), action)`` puts ``Boundary`` in front of the route's ASGI app. Before the
route runs it refuses, without reading a byte of the body:

- a Content-Length that is not ASCII digits (400) or over the route's cap (413), and any body at
  all on a route whose cap is 0;
- a request its ``admit`` check turns away (authentication from the request head: a bearer
  token, the presence of a signature header, a session cookie).

While the route reads the body it is counted as it streams (a chunked body over the cap: 413)
and must arrive whole within the deadline (408). A client that goes away mid-body is one DEBUG
line. ``CloseUnread``, in front of the whole app, answers ``Connection: close`` whenever the answer
comes before the body was read to its end (refusals, 404s and 405s included), so a client cannot
keep streaming into a kept-alive socket.

The route's handler reads its action back with ``declared_action(request)`` and asks the policy
about that one (``Access.check(user, declared_action(request), incident)``): the declaration is
what is checked, not a second copy of it.

``undeclared(routes)`` names the routes (mounts included) without limits and an action: a test
holds it empty for the real app. Request-head connection limits live in ``bot.ops.http_limits``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.incidents.access import Action
from bot.ops.request_values import is_ascii_number

log = logging.getLogger(__name__)

# Slack's requests arrive whole in well under a second, and it gives up on the ack after 3 s.
BODY_DEADLINE = 10.0
FORM_BYTES = 4096  # a web form of a token or two

Admit = Callable[[Request], Response | None]


@dataclass(frozen=True)
class Limits:
    """What a route accepts: ``body`` bytes at most (0: no body), once ``admit`` (when given) has
    let the request head in, within ``deadline`` seconds (None: ``BODY_DEADLINE``)."""

    body: int
    admit: Admit | None = None
    deadline: float | None = None


NO_BODY = Limits(body=0)
R = TypeVar("R", Route, Mount)


def bounded(route: R, limits: Limits, action: Action) -> R:
    """``route`` with its limits in front of it (its own app, or a leaf mount's), declaring the
    access ``action`` it is."""
    if not isinstance(action, Action):
        raise TypeError(f"route {route.path} declares no access action")
    route.app = Boundary(route.app, limits, action)
    return route


_ACTION_KEY = "incident_bot.action"


def declared_action(conn: HTTPConnection) -> Action:
    """The access action the request's route declared (``bounded``): what its handler checks."""
    action = conn.scope.get(_ACTION_KEY)
    if not isinstance(action, Action):
        raise LookupError(f"{conn.url.path} declares no access action")
    return action


def limits_of(route: BaseRoute) -> Limits | None:
    app = getattr(route, "app", None)
    return app.limits if isinstance(app, Boundary) else None


def action_of(route: BaseRoute) -> Action | None:
    app = getattr(route, "app", None)
    return app.action if isinstance(app, Boundary) else None


def declared_routes(routes: Sequence[BaseRoute], prefix: str = "") -> dict[str, Action | None]:
    """Every path of ``routes`` (descending into mounts of routes) → the action it declares."""
    found: dict[str, Action | None] = {}
    for route in routes:
        path = prefix + str(getattr(route, "path", "?"))
        if isinstance(route, Mount) and route.routes:
            found |= declared_routes(route.routes, path)
        else:
            found[path] = action_of(route)
    return found


def undeclared(routes: Sequence[BaseRoute], prefix: str = "") -> list[str]:
    """The paths of ``routes`` (descending into mounts of routes) that declare no limits."""
    missing: list[str] = []
    for route in routes:
        path = prefix + str(getattr(route, "path", "?"))
        if isinstance(route, Mount) and route.routes:
            missing += undeclared(route.routes, path)
        elif limits_of(route) is None:
            missing.append(path)
    return missing


class BodyRefused(Exception):
    """The body stops being read: the answer to give instead."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return PlainTextResponse(self.message, status_code=self.status, headers={"Connection": "close"})


class _Body:
    """The route's ``receive``: counts the body against the cap, bounds it by the deadline."""

    def __init__(self, receive: Receive, cap: int, deadline: float) -> None:
        self._receive = receive
        self.cap = cap
        self.until = asyncio.get_running_loop().time() + deadline
        self.size = 0
        self.complete = False

    async def receive(self) -> Message:
        if self.complete:
            return await self._receive()  # e.g. waiting for a disconnect while streaming an answer
        try:
            async with asyncio.timeout_at(self.until):
                message = await self._receive()
        except TimeoutError:
            raise BodyRefused(408, "request body too slow") from None
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.cap:
                raise BodyRefused(413, "payload too large")
            self.complete = not message.get("more_body", False)
        return message


def _framing(scope: Scope) -> tuple[str | None, bool]:
    """The request's declared Content-Length (unchecked text) and whether its body is chunked."""
    headers = Headers(scope=scope)
    return headers.get("content-length"), "chunked" in headers.get("transfer-encoding", "").lower()


class CloseUnread:
    """In front of the whole app: an answer given before its request's body was read to the end
    (a refusal, a 404 or 405 that never looks at it) closes the connection, so a client cannot
    keep streaming, or dripping, into a kept-alive socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        complete = not chunked and declared in (None, "0")

        async def receive_() -> Message:
            nonlocal complete
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                complete = True
            return message

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start" and not complete:
                listed = message.get("headers", [])
                if not any(k.lower() == b"connection" for k, _ in listed):
                    message = {**message, "headers": [*listed, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive_, send_)


class Boundary:
    def __init__(self, app: ASGIApp, limits: Limits, action: Action) -> None:
        self.app = app
        self.limits = limits
        self.action = action

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[_ACTION_KEY] = self.action
        declared, chunked = _framing(scope)
        refusal = self._before_reading(scope, declared, chunked)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        deadline = BODY_DEADLINE if self.limits.deadline is None else self.limits.deadline
        body = _Body(receive, self.limits.body, deadline)
        answered = False

        async def send_(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body.receive, send_)
        except BodyRefused as refused:
            if answered:
                raise
            await refused.response()(scope, receive, send)
        except ClientDisconnect:
            log.debug("%s %s: the client went away before its body arrived", scope["method"], scope["path"])

    def _before_reading(self, scope: Scope, declared: str | None, chunked: bool) -> Response | None:
        if declared is not None and not is_ascii_number(declared):
            return BodyRefused(400, "bad content-length").response()
        if (declared is not None and int(declared) > self.limits.body) or (chunked and not self.limits.body):
            return BodyRefused(413, "payload too large").response()
        if self.limits.admit is None:
            return None
        refused = self.limits.admit(Request(scope))
        if refused is not None and (chunked or declared not in (None, "0")):
            refused.headers["connection"] = "close"
        return refused
