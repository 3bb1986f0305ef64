"""What every fake shares: the request pipeline, the request log, faults and the /_fake control surface.

Pipeline for each API request (`FakeService.handle`):
  match the operation in the vendor's spec (unknown → 404 + violation) → authenticate (vendor 401)
  → check the request against the spec (400 + violation) → injected fault → handler → record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .faults import Fault, Faults
from .openapi import OpenAPIChecker, Operation

log = logging.getLogger("fakes")
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class ApiError(Exception):
    """Raised by a handler: answered with `status` and the vendor-shaped error body for `message`."""

    def __init__(
        self, status: int, message: str, *, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body
        self.headers = dict(headers or {})


class ControlError(ValueError):
    """A control-surface request the fake cannot do (unknown repo, issue, transition...)."""


@dataclass
class FakeRequest:
    operation: Operation
    path_params: dict[str, Any]
    query: dict[str, Any]  # coerced per the spec (ints, bools, lists)
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None
    principal: str | None = None  # who authenticated (login, email, "routing_key"...)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    operation: str | None
    status: int
    at: float


@dataclass
class HeldRequest:
    """A request whose work is done and whose answer a `delay_answer` fault is holding back."""

    operation: str
    path: str
    body: Any
    since: float


Handler = Callable[[FakeRequest], Reply]


class FakeService:
    """Base of the fakes. Subclasses set `name`, `checkers`, `handlers` and the vendor hooks."""

    name: ClassVar[str] = "fake"

    def __init__(self, checkers: list[OpenAPIChecker], *, validate_responses: bool = False) -> None:
        self.checkers = checkers
        self.validate_responses = validate_responses
        self.lock = threading.RLock()
        self.faults = Faults()
        self.requests: list[LoggedRequest] = []
        self._held: list[HeldRequest] = []  # done, their answer held back (`delay_answer`)
        self._violations: list[str] = []
        self.response_problems: list[str] = []  # the fake's own answers that broke the spec
        self.handlers: dict[str, Handler] = {}
        self.base_url = ""  # where the fake is served (set by FakeServer)

    # ------------------------------------------------------------------ vendor hooks
    def authenticate(self, op: Operation, headers: Mapping[str, str]) -> str | None:
        """The principal for these credentials, or None (answered 401)."""
        raise NotImplementedError

    def error_body(
        self, status: int, message: str, problems: list[str] | None = None, op: Operation | None = None
    ) -> Any:
        """The vendor's error body for `status` (`op`: the operation, when one matched)."""
        raise NotImplementedError

    def extra_headers(self, op: Operation | None, principal: str | None) -> dict[str, str]:
        return {}

    def reset(self) -> None:
        """Back to the initial state (seeded data gone); faults, logs and violations cleared."""
        self.faults.clear()
        with self.lock:
            self.requests.clear()
            self._violations.clear()
            self.response_problems.clear()

    def seed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        raise ControlError(f"{self.name}: nothing to seed")

    def state(self) -> dict[str, Any]:
        return {}

    def actions(self) -> dict[str, Callable[..., Any]]:
        """Things a person does in the vendor's UI, by name (control surface `/_fake/act/<name>`)."""
        return {}

    # ------------------------------------------------------------------ inspection
    @property
    def violations(self) -> list[str]:
        with self.lock:
            return list(self._violations)

    def calls(self, operation: str | None = None, method: str | None = None) -> list[LoggedRequest]:
        """Logged API requests (not control-surface ones), optionally for one operationId/method."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (operation is None or r.operation == operation) and (method is None or r.method == method)
            ]

    def held(self, operation: str | None = None) -> list[HeldRequest]:
        """Requests done but not yet answered (a `delay_answer` fault holds them), oldest first."""
        with self.lock:
            return [h for h in self._held if operation is None or h.operation == operation]

    def inject_fault(self, operation: str = "*", **kwargs: Any) -> Fault:
        known = {op.operation_id for c in self.checkers for op in c.operations}
        if operation != "*" and operation not in known:
            raise ControlError(f"{self.name}: unknown operation {operation!r} (known: {sorted(known)})")
        return self.faults.add(Fault(operation=operation, **kwargs))

    def record_violation(self, problems: list[str]) -> None:
        for p in problems:
            log.error("%s spec violation: %s", self.name, p)
        with self.lock:
            self._violations.extend(problems)

    # ------------------------------------------------------------------ pipeline
    def _match(self, method: str, path: str) -> tuple[OpenAPIChecker, Operation] | None:
        for checker in self.checkers:
            found = checker.match(method, path)
            if found is not None:
                return checker, found[0]
        return None

    def _error(
        self, status: int, message: str, problems: list[str] | None = None, op: Operation | None = None
    ) -> Reply:
        return Reply(status, self.error_body(status, message, problems, op))

    async def _pipeline(self, request: Request, raw: bytes) -> tuple[Reply, Operation | None, str | None]:
        method, path = request.method, request.url.path
        headers = {k.lower(): v for k, v in request.headers.items()}
        found = self._match(method, path)
        if found is None:
            problem = f"{self.name}: {method} {path}: no such operation in the vendor's spec"
            self.record_violation([problem])
            return self._error(404, "Not Found", [problem]), None, None
        checker, op = found
        principal = self.authenticate(op, headers)
        if principal is None:
            return self._error(401, "unauthorized", op=op), op, None
        query = list(request.query_params.multi_items())
        check = checker.check_request(method, path, query, headers, raw)
        if check.problems:
            self.record_violation(check.problems)
            return self._error(400, "; ".join(check.problems), check.problems, op), op, principal
        fault = self.faults.take(op.operation_id)
        if fault is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.status is not None:
                hdrs = dict(fault.headers)
                if fault.retry_after is not None:
                    hdrs["Retry-After"] = str(fault.retry_after)
                message = fault.message or f"injected fault ({fault.status})"
                body = fault.body if fault.body is not None else self.error_body(fault.status, message, op=op)
                return Reply(fault.status, body, hdrs), op, principal
        req = FakeRequest(op, check.path_params, check.query, headers, check.body, principal)
        handler = self.handlers.get(op.operation_id)
        if handler is None:
            msg = f"{self.name}: {op.operation_id} is in the spec but the fake does not implement it"
            return self._error(501, msg, op=op), op, principal

        def run() -> Reply:
            with self.lock:
                return handler(req)

        try:
            reply = await run_in_threadpool(run)
        except ApiError as exc:
            body = exc.body if exc.body is not None else self.error_body(exc.status, exc.message, op=op)
            return Reply(exc.status, body, exc.headers), op, principal
        finally:
            if fault is not None and fault.delay_answer:
                held = HeldRequest(op.operation_id, path, check.body, time.time())
                with self.lock:
                    self._held.append(held)
                try:
                    await _hold(request, fault.delay_answer)
                finally:
                    with self.lock:
                        self._held.remove(held)
        if self.validate_responses and 200 <= reply.status < 300:
            problems = checker.check_response(op, reply.status, reply.body)
            if problems:
                for p in problems:
                    log.warning("%s response off-spec: %s", self.name, p)
                with self.lock:
                    self.response_problems.extend(problems)
        return reply, op, principal

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        reply, op, principal = await self._pipeline(request, raw)
        headers = {**self.extra_headers(op, principal), **reply.headers}
        try:
            logged_body: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            logged_body = raw.decode("utf-8", "replace")
        query: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            query.setdefault(k, []).append(v)
        entry = LoggedRequest(
            request.method,
            request.url.path,
            query,
            logged_body,
            op.operation_id if op else None,
            reply.status,
            time.time(),
        )
        with self.lock:
            self.requests.append(entry)
        if reply.body is None:
            return Response(status_code=reply.status, headers=headers)
        return JSONResponse(reply.body, status_code=reply.status, headers=headers)

    # ------------------------------------------------------------------ HTTP
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Mount("/_fake", routes=control_routes(self)),
                Route("/{path:path}", self.handle, methods=_ALL_METHODS),
            ]
        )


async def _hold(request: Request, seconds: float) -> None:
    """Wait ``seconds`` before answering, or until the caller is gone (killed, timed out): nobody
    is left to answer, and the server can stop without waiting out the hold."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(0.05, left))


def control_routes(fake: FakeService) -> list[Route]:
    """JSON control surface: reset, seed, state, requests, held, violations, faults, act/<action>."""

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ControlError("body must be a JSON object")
        return data

    async def call(fn: Callable[..., Any], **kwargs: Any) -> Response:
        def locked() -> Any:
            with fake.lock:
                return fn(**kwargs)

        try:
            result = await run_in_threadpool(locked)
        except (ControlError, TypeError, KeyError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "result": result})

    async def reset(request: Request) -> Response:
        return await call(fake.reset)

    async def seed(request: Request) -> Response:
        try:
            data = await body(request)
        except (ValueError, ControlError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return await call(fake.seed, data=data)

    async def state(request: Request) -> Response:
        return await call(fake.state)

    async def requests(request: Request) -> Response:
        operation = request.query_params.get("operation")
        return JSONResponse({"ok": True, "requests": [asdict(r) for r in fake.calls(operation)]})

    async def held(request: Request) -> Response:
        operation = request.query_params.get("operation")
        return JSONResponse({"ok": True, "held": [asdict(h) for h in fake.held(operation)]})

    async def violations(request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "violations": fake.violations, "response_problems": list(fake.response_problems)}
        )

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            fake.faults.clear()
            return JSONResponse({"ok": True})
        if request.method == "GET":
            return JSONResponse({"ok": True, "faults": [f.as_dict() for f in fake.faults.pending()]})
        try:
            args = await body(request)
            added = fake.inject_fault(**args)
        except (ValueError, TypeError, ControlError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "fault": added.as_dict()})

    async def act(request: Request) -> Response:
        actions = fake.actions()
        name = request.path_params["action"]
        if name not in actions:
            return JSONResponse(
                {"ok": False, "error": f"unknown action {name!r} (known: {sorted(actions)})"}, status_code=404
            )
        try:
            args = await body(request)
        except (ValueError, ControlError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return await call(actions[name], **args)

    return [
        Route("/reset", reset, methods=["POST"]),
        Route("/seed", seed, methods=["POST"]),
        Route("/state", state, methods=["GET"]),
        Route("/requests", requests, methods=["GET"]),
        Route("/held", held, methods=["GET"]),
        Route("/violations", violations, methods=["GET"]),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/act/{action}", act, methods=["POST"]),
    ]
