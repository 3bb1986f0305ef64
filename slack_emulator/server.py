"""The HTTP face of the emulator: /api/<method>, upload URLs, response_urls, file downloads, /_emulator."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from .api import dispatch
from .control import control_routes
from .methods.openid import openid_routes

if TYPE_CHECKING:
    from .emulator import SlackEmulator


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
    """Fields and the first file part of a multipart/form-data body (stdlib email parser)."""
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    file_bytes: bytes | None = None
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            if file_bytes is None:
                file_bytes = bytes(data)
        elif isinstance(name, str):
            fields[name] = bytes(data).decode()
    return fields, file_bytes


async def read_args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if not body:
        return args
    if ctype.startswith("application/json"):
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        args.update(data)
    elif ctype.startswith("multipart/form-data"):
        fields, _ = parse_multipart(ctype, body)
        args.update(fields)
    else:
        args.update(parse_qsl(body.decode(), keep_blank_values=True))
    return args


def build_app(emu: SlackEmulator) -> Starlette:
    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        try:
            args = await read_args(request)
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"ok": False, "error": "invalid_form_data"}, status_code=200)
        status, body, headers = await run_in_threadpool(
            dispatch, emu, method, args, request.headers.get("authorization")
        )
        return JSONResponse(body, status_code=status, headers=headers)

    async def upload(request: Request) -> Response:
        fid = request.path_params["file_id"]
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        content = parse_multipart(ctype, body)[1] if ctype.startswith("multipart/form-data") else body
        with emu.ws.lock:
            f = emu.ws.files.get(fid)
            if f is None or f.get("uploaded"):
                return PlainTextResponse("invalid upload url", status_code=404)
            f["content"] = content or b""
            f["size"] = len(f["content"])
            f["uploaded"] = True
        return PlainTextResponse(f"OK - {f['size']}")

    async def response_url(request: Request) -> Response:
        raw = await request.body()
        try:
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                body = json.loads(dict(parse_qsl(raw.decode())).get("payload", "{}"))
            else:
                body = json.loads(raw or b"{}")
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        status, out = await run_in_threadpool(emu.handle_response_url, request.path_params["rid"], body)
        return JSONResponse(out, status_code=status)

    async def file_download(request: Request) -> Response:
        if request.headers.get("authorization", "") != f"Bearer {emu.bot_token}":
            return PlainTextResponse("not authed", status_code=403)
        with emu.ws.lock:
            f = emu.ws.files.get(request.path_params["file_id"])
            if f is None or not f.get("uploaded"):
                return PlainTextResponse("not found", status_code=404)
            return Response(f["content"], media_type=f["mimetype"])

    routes = [
        *openid_routes(emu),  # Sign in with Slack: authorize page, openid.connect.token / userInfo
        Route("/api/{method}", api, methods=["GET", "POST"]),
        Route("/_upload/{file_id}", upload, methods=["POST", "PUT"]),
        Route("/_response/{rid}", response_url, methods=["POST"]),
        Route("/_files/{file_id}/{rest:path}", file_download, methods=["GET"]),
        WebSocketRoute("/link/", emu.sockets.serve),
        Mount("/_emulator", routes=control_routes(emu)),
    ]
    return Starlette(routes=routes)
