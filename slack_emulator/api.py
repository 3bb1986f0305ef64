"""The Web API request pipeline: auth -> spec check -> faults -> rate limit -> handler -> record."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from . import spec
from .methods import HANDLERS, ApiContext, ApiError, Args
from .ratelimit import PROFILE_2025_METHODS, PROFILE_2025_PAGE_MAX, RateLimiter
from .state import Call

if TYPE_CHECKING:
    from .emulator import SlackEmulator

log = logging.getLogger("slack_emulator.api")

Response = tuple[int, dict[str, Any], dict[str, str]]
# Methods that take the app-level token (xapp-) instead of the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


def dispatch(emu: SlackEmulator, method: str, args: dict[str, Any], auth_header: str | None) -> Response:
    status, body, headers = _dispatch(emu, method, args, auth_header)
    recorded = {k: v for k, v in args.items() if k != "token"}
    with emu.ws.lock:
        emu.ws.calls.append(Call(method, recorded, bool(body.get("ok")), body.get("error"), status))
    return status, body, headers


def _violation(emu: SlackEmulator, problems: list[str]) -> None:
    for p in problems:
        log.error("Slack spec violation: %s", p)
    with emu.ws.lock:
        emu.ws.violations.extend(problems)


def _dispatch(emu: SlackEmulator, method: str, args: dict[str, Any], auth_header: str | None) -> Response:
    if not spec.is_known_method(method):
        _violation(emu, [f"{method}: unknown method (not in Slack's spec)"])
        return 400, {"ok": False, "error": "unknown_method", "emulator_violations": emu_last(emu, 1)}, {}
    token = None
    if auth_header and auth_header.lower().startswith("bearer "):
        token = auth_header[7:].strip()
    token = token or (str(args["token"]) if args.get("token") else None)
    if not token:
        return 200, {"ok": False, "error": "not_authed"}, {}
    if token != (emu.app_token if method in APP_TOKEN_METHODS else emu.bot_token):
        return 200, {"ok": False, "error": "invalid_auth"}, {}
    problems = spec.check_call(method, args)
    if problems:
        _violation(emu, problems)
        return 400, {"ok": False, "error": "invalid_arguments", "emulator_violations": problems}, {}
    handler = HANDLERS.get(method)
    if handler is None:
        msg = f"{method}: a real Slack method the emulator does not implement"
        _violation(emu, [msg])
        return 400, {"ok": False, "error": "unknown_method", "emulator_violations": [msg]}, {}

    fault = emu.faults.take(method)
    if fault is not None:
        if fault.latency:
            time.sleep(fault.latency)
        if fault.ratelimited:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(int(fault.retry_after))}
        if fault.http_status is not None:
            return fault.http_status, {"ok": False, "error": fault.error or "internal_error"}, {}
        if fault.error is not None:
            return 200, {"ok": False, "error": fault.error}, {}

    channel = args.get("channel") if method == "chat.postMessage" else None
    wait = emu.limiter.check(method, str(channel) if channel else None)
    if wait > 0:
        if emu.rate_limit_clock == "simulated":
            emu.clock.advance(wait)
            waited = wait + emu.limiter.consume_after_wait(method, str(channel) if channel else None)
            with emu.ws.lock:
                emu.simulated_wait_seconds += waited
        else:
            return (
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(RateLimiter.retry_after(wait))},
            )

    ctx = ApiContext(
        ws=emu.ws,
        base_url=emu.base_url,
        bot_user_id=emu.bot_user_id,
        bot_id=emu.bot_id,
        app_id=emu.app_id,
        emit=emu.emit_event,
        violation=lambda p: _violation(emu, [p]),
        page_max=lambda m: (
            PROFILE_2025_PAGE_MAX if emu.rate_limits == "2025" and m in PROFILE_2025_METHODS else None
        ),
        extra={"socket_url": emu.sockets.issue_url},
    )
    try:
        with emu.ws.lock:
            result = handler(ctx, Args(args))
    except ApiError as exc:
        return exc.status, {"ok": False, "error": exc.error, **exc.extra}, {}
    if fault is not None and fault.delay_answer:
        emu.faults.hold(fault.delay_answer)
    return 200, {"ok": True, **result}, {}


def emu_last(emu: SlackEmulator, n: int) -> list[str]:
    with emu.ws.lock:
        return list(emu.ws.violations[-n:])
