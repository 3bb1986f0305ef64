"""files.getUploadURLExternal / files.completeUploadExternal / files.info (what files_upload_v2 uses)."""

from __future__ import annotations

import copy
import mimetypes
from typing import Any

from ..state import PERMALINK_BASE, Channel, Workspace
from . import ApiContext, ApiError, Args, method
from .chat import bot_message, message_event, postable_channel, resolve_thread

PUBLIC_KEYS = (
    "id", "created", "timestamp", "name", "title", "mimetype", "filetype", "pretty_type", "user",
    "user_team", "editable", "size", "mode", "is_external", "external_type", "is_public",
    "public_url_shared", "display_as_bot", "username", "url_private", "url_private_download",
    "permalink", "permalink_public", "comments_count", "shares", "channels", "groups", "ims",
    "has_rich_preview", "file_access", "alt_txt",
)  # fmt: skip


def new_file(
    ws: Workspace, base_url: str, user: str, name: str, content: bytes | None, mimetype: str | None = None
) -> dict[str, Any]:
    fid = ws.new_id("F")
    now = int(ws.clock.now())
    mime = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
    f: dict[str, Any] = {
        "id": fid,
        "created": now,
        "timestamp": now,
        "name": name,
        "title": name,
        "mimetype": mime,
        "filetype": ext,
        "pretty_type": ext.upper(),
        "user": user,
        "user_team": ws.team_id,
        "editable": False,
        "size": len(content or b""),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": f"{base_url}/_files/{fid}/{name}",
        "url_private_download": f"{base_url}/_files/{fid}/download/{name}",
        "permalink": f"{PERMALINK_BASE}/files/{user}/{fid}/{name}",
        "permalink_public": f"{PERMALINK_BASE}/T-{fid}",
        "comments_count": 0,
        "shares": {},
        "channels": [],
        "groups": [],
        "ims": [],
        "has_rich_preview": False,
        "file_access": "visible",
        "content": content,
        "uploaded": content is not None,
    }
    ws.files[fid] = f
    return f


def public_file(f: dict[str, Any], in_message: bool = False) -> dict[str, Any]:
    """The file as the API shows it; inside a message Slack leaves out the share lists."""
    skip = ("channels", "groups", "ims") if in_message else ()
    return {k: copy.deepcopy(f[k]) for k in PUBLIC_KEYS if k in f and k not in skip}


def share(ws: Workspace, f: dict[str, Any], ch: Channel, ts: str, thread_ts: str | None) -> None:
    key = "private" if ch.is_private else "public"
    f["groups" if ch.is_private else "channels"].append(ch.id)
    f["is_public"] = f["is_public"] or not ch.is_private
    entry: dict[str, Any] = {
        "ts": ts,
        "channel_name": ch.info["name"],
        "team_id": ws.team_id,
        "share_user_id": f["user"],
    }
    if thread_ts:
        entry["thread_ts"] = thread_ts
    f["shares"].setdefault(key, {}).setdefault(ch.id, []).append(entry)


@method("files.getUploadURLExternal")
def get_upload_url(ctx: ApiContext, a: Args) -> dict[str, Any]:
    name = a.req("filename", "invalid_arguments")
    length = a.int("length", -1)
    if length < 0:
        raise ApiError("invalid_arguments")
    f = new_file(ctx.ws, ctx.base_url, ctx.bot_user_id, name, None)
    f["expected_length"] = length
    if a.has("alt_txt"):
        f["alt_txt"] = a.str("alt_txt")
    return {"upload_url": f"{ctx.base_url}/_upload/{f['id']}", "file_id": f["id"]}


@method("files.completeUploadExternal")
def complete_upload(ctx: ApiContext, a: Args) -> dict[str, Any]:
    entries = a.json("files")
    if not isinstance(entries, list) or not entries:
        raise ApiError("invalid_arguments")
    targets: list[dict[str, Any]] = []
    for e in entries:
        f = ctx.ws.files.get(str(e.get("id"))) if isinstance(e, dict) else None
        if f is None or not f.get("uploaded"):
            raise ApiError("file_not_found")
        if e.get("title"):
            f["title"] = e["title"]
        targets.append(f)
    channel_ref = a.str("channel_id") or (a.str("channels") or "").split(",")[0] or None
    if channel_ref:
        ch = postable_channel(ctx, channel_ref)
        thread = resolve_thread(ctx, ch, a.str("thread_ts"))
        msg = bot_message(ctx, {"text": a.str("initial_comment", "") or ""})
        msg.update(subtype="file_share", upload=True, display_as_bot=False)
        for f in targets:
            share(ctx.ws, f, ch, msg["ts"], thread)
        msg["files"] = [public_file(f, in_message=True) for f in targets]
        ctx.ws.add_message(ch, msg, thread, False)
        ctx.emit(message_event(ch, msg))
    return {"files": [{"id": f["id"], "title": f["title"]} for f in targets]}


@method("files.info")
def files_info(ctx: ApiContext, a: Args) -> dict[str, Any]:
    f = ctx.ws.files.get(a.str("file") or "")
    if f is None or not f.get("uploaded"):
        raise ApiError("file_not_found")
    return {"file": public_file(f), "comments": [], "response_metadata": {"next_cursor": ""}}
