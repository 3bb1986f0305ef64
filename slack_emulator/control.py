"""A thin JSON control surface under /_emulator/ for developers running the emulator standalone."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from .emulator import SlackEmulator

ACTIONS = (
    "post_message", "edit_message", "delete_message", "add_reaction", "remove_reaction", "pin_message",
    "unpin_message", "slash_command", "click_button", "submit_view", "close_view", "message_shortcut",
    "send_signed",
)  # fmt: skip


def _delivery(d: Any) -> dict[str, Any]:
    return {
        "status": d.status, "body": d.body, "attempts": d.attempts, "ts": d.ts, "event_id": d.event_id,
        "trigger_id": d.trigger_id, "url": d.url, "error": d.error, "dropped": d.dropped,
    }  # fmt: skip


def control_routes(emu: SlackEmulator) -> list[Route]:
    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        data = await request.json()
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    async def call(fn: Any, **kwargs: Any) -> Response:
        from .emulator import EmulatorError

        try:
            result = await run_in_threadpool(fn, **kwargs)
        except (EmulatorError, TypeError, KeyError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "result": result})

    async def users(request: Request) -> Response:
        if request.method == "GET":
            with emu.ws.lock:
                return JSONResponse({"ok": True, "users": list(emu.ws.users.values())})
        return await call(emu.add_user, **(await body(request)))

    async def channels(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"ok": True, "channels": emu.channels()})
        return await call(emu.add_channel, **(await body(request)))

    async def act(request: Request) -> Response:
        name = request.path_params["action"]
        if name not in ACTIONS:
            return JSONResponse({"ok": False, "error": f"unknown action {name}"}, status_code=404)
        args = await body(request)

        def run() -> dict[str, Any]:
            return _delivery(getattr(emu, name)(**args))

        return await call(run)

    async def state(request: Request) -> Response:
        def snapshot() -> dict[str, Any]:
            chans = emu.channels()
            return {
                "team_id": emu.team_id,
                "bot_user_id": emu.bot_user_id,
                "channels": chans,
                "messages": {c["id"]: emu.messages(c["id"], include_replies=True) for c in chans},
                "ephemerals": emu.ephemerals(),
                "views": emu.views,
                "response_url_posts": emu.response_url_posts,
                "violations": emu.violations,
            }

        return JSONResponse({"ok": True, **(await run_in_threadpool(snapshot))})

    async def calls(request: Request) -> Response:
        return JSONResponse({"ok": True, "calls": [dataclasses.asdict(c) for c in emu.calls]})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emu.clear_faults()
            return JSONResponse({"ok": True})
        args = await body(request)
        if "drop_deliveries" in args:
            emu.drop_deliveries(int(args["drop_deliveries"]))
            return JSONResponse({"ok": True})
        method = args.pop("method", None)
        if not method:
            return JSONResponse({"ok": False, "error": "method required"}, status_code=400)
        return await call(emu.inject_fault, method=method, **args)

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            args = await body(request)
            if "set" in args:
                emu.clock.set(float(args["set"]))
            if "advance" in args:
                emu.clock.advance(float(args["advance"]))
        return JSONResponse({"ok": True, "now": emu.clock.now()})

    async def request_urls(request: Request) -> Response:
        if request.method == "PUT":
            emu.request_urls = list((await body(request)).get("urls", []))
        return JSONResponse({"ok": True, "urls": emu.request_urls})

    async def sockets(request: Request) -> Response:
        """GET: the open Socket Mode connections. POST {"fault": "disconnect", "reason", "close_after"}
        | {"fault": "drop"} | {"fault": "half_open", "close_after"}: how many connections it hit."""
        if request.method == "GET":
            return JSONResponse({"ok": True, "connections": emu.socket_connections()})
        args = await body(request)
        fault = args.pop("fault", None)
        faults = {
            "disconnect": emu.disconnect_sockets,
            "drop": emu.drop_sockets,
            "half_open": emu.half_open_sockets,
        }
        if fault not in faults:
            return JSONResponse(
                {"ok": False, "error": f"fault must be one of {sorted(faults)}"}, status_code=400
            )
        try:
            return await call(faults[fault], **args)
        except ValueError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)

    return [
        Route("/users", users, methods=["GET", "POST"]),
        Route("/channels", channels, methods=["GET", "POST"]),
        Route("/act/{action}", act, methods=["POST"]),
        Route("/state", state, methods=["GET"]),
        Route("/calls", calls, methods=["GET"]),
        Route("/faults", faults, methods=["POST", "DELETE"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/request_urls", request_urls, methods=["GET", "PUT"]),
        Route("/sockets", sockets, methods=["GET", "POST"]),
    ]
