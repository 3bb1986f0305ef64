"""A thin JSON control surface under /_emulator/ for developers running the emulator standalone."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from .emulator import SlackEmulator

ACTIONS = (
    "post_message", "edit_message", "delete_message", "add_reaction", "remove_reaction", "pin_message",
    "unpin_message", "slash_command", "click_button", "submit_view", "view_action", "close_view", "message_shortcut",
    "send_signed", "open_app_home", "join_channel", "leave_channel", "upload_file",
)  # fmt: skip
USER_KEYS = ("user", "inviter", "by", "created_by")
USER_LIST_KEYS = ("users", "members", "add", "remove")
HOME_WAIT = 5.0  # s the app gets to publish the Home tab after app_home_opened
HOME_WAIT_MAX = 60.0


def _delivery(d: Any) -> dict[str, Any]:
    out = {
        "status": d.status, "body": d.body, "attempts": d.attempts, "ts": d.ts, "event_id": d.event_id,
        "trigger_id": d.trigger_id, "url": d.url, "error": d.error, "dropped": d.dropped,
    }  # fmt: skip
    if d.file_id:
        out["file_id"] = d.file_id
    if len(d.results) > 1:
        out["also"] = [_delivery(r) for r in d.results[1:]]
    return out


def resolve_names(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """People by id or name (``alice``, ``@alice``), channels by id or name (``#ops``): ids for
    the emulator's methods. Unknown names stay as given (the method then says they are unknown)."""
    with emu.ws.lock:
        by_name = {str(u["name"]): uid for uid, u in emu.ws.users.items()}

        def user(ref: Any) -> Any:
            if not isinstance(ref, str) or ref in emu.ws.users:
                return ref
            return by_name.get(ref.removeprefix("@"), ref)

        out = dict(args)
        for key in USER_KEYS:
            if key in out:
                out[key] = user(out[key])
        for key in USER_LIST_KEYS:
            if isinstance(out.get(key), list):
                out[key] = [user(u) for u in out[key]]
        channel = out.get("channel")
        if isinstance(channel, str) and channel not in emu.ws.channels:
            found = emu.ws.find_channel(channel)
            if found is not None:
                out["channel"] = found.id
        return out


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
        return await call(emu.add_channel, **resolve_names(emu, await body(request)))

    async def act(request: Request) -> Response:
        name = request.path_params["action"]
        if name not in ACTIONS:
            return JSONResponse({"ok": False, "error": f"unknown action {name}"}, status_code=404)
        args = resolve_names(emu, await body(request))

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
                "members": {c["id"]: emu.members(c["id"]) for c in chans},
                "usergroups": emu.usergroups(),
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

    async def home(request: Request) -> Response:
        """POST {"user", "wait"}: the user opens the app's Home tab; answers with what they then see
        (the view the app publishes within `wait` s). GET /home/{user}[?format=text]: what is there."""
        if request.method == "GET":
            user = resolve_names(emu, {"user": request.path_params["user"]})["user"]
            if user not in emu.ws.users:
                return JSONResponse({"ok": False, "error": f"unknown user {user}"}, status_code=404)
            text = emu.home_text(user)
            if request.query_params.get("format") == "text":
                return PlainTextResponse(text or "(nothing published)\n", status_code=200 if text else 404)
            return JSONResponse({"ok": True, "view": emu.home_view(user), "text": text})
        args = resolve_names(emu, await body(request))
        try:
            wait = min(float(args.pop("wait", HOME_WAIT)), HOME_WAIT_MAX)
        except (TypeError, ValueError):
            return JSONResponse({"ok": False, "error": "wait: a number of seconds"}, status_code=400)
        if set(args) != {"user"}:
            return JSONResponse({"ok": False, "error": "give exactly: user (and wait)"}, status_code=400)

        def run(user: str) -> dict[str, Any]:
            before = emu.home_view(user)
            delivered = emu.open_app_home(user)
            view = emu.wait_home_view(user, before["hash"] if before else None, wait if delivered.ok else 0)
            fresh = view is not None and (before is None or view["hash"] != before["hash"])
            return {
                "delivery": _delivery(delivered),
                "published": fresh,
                "view": view,
                "text": emu.home_text(user),
            }

        return await call(run, **args)

    async def usergroups(request: Request) -> Response:
        """GET: every group. POST {"handle", "name", "users", "created_by"}: a new group (its id)."""
        if request.method == "GET":
            return JSONResponse({"ok": True, "usergroups": emu.usergroups()})
        return await call(emu.add_usergroup, **resolve_names(emu, await body(request)))

    async def usergroup_members(request: Request) -> Response:
        """POST {"add": [...], "remove": [...], "by"}: change a group's members (id or @handle)."""
        args = resolve_names(emu, await body(request))
        return await call(emu.update_usergroup_members, usergroup=request.path_params["ref"], **args)

    async def transport(request: Request) -> Response:
        """GET/PUT {"transport": "http" | "socket" | "auto"}: how deliveries reach the app."""
        if request.method == "PUT":
            try:
                emu.transport = str((await body(request)).get("transport"))
            except ValueError as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "transport": emu.transport, "route": emu.deliverer.route()})

    async def info(request: Request) -> Response:
        """The emulator's own fake credentials and ids (what its start-up banner prints)."""
        return JSONResponse({"ok": True, **emu.credentials()})

    return [
        Route("/info", info, methods=["GET"]),
        Route("/home", home, methods=["POST"]),
        Route("/home/{user}", home, methods=["GET"]),
        Route("/usergroups", usergroups, methods=["GET", "POST"]),
        Route("/usergroups/{ref}/members", usergroup_members, methods=["POST"]),
        Route("/transport", transport, methods=["GET", "PUT"]),
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
