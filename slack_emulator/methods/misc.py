"""auth.*, users.*, bookmarks.*, canvases.* (usergroups.* in usergroups.py)."""

from __future__ import annotations

import copy
from typing import Any

from ..state import PERMALINK_BASE, TEAM_DOMAIN
from . import ApiContext, ApiError, Args, channel_or_error, method, paginate_offset


@method("auth.test")
def auth_test(ctx: ApiContext, a: Args) -> dict[str, Any]:
    bot = ctx.ws.users[ctx.bot_user_id]
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.test/",
        "team": ctx.ws.team_name,
        "user": bot["name"],
        "team_id": ctx.ws.team_id,
        "user_id": ctx.bot_user_id,
        "bot_id": ctx.bot_id,
        "app_id": ctx.app_id,
        "is_enterprise_install": False,
    }


@method("apps.connections.open")
def apps_connections_open(ctx: ApiContext, a: Args) -> dict[str, Any]:
    """A one-time Socket Mode URL (the caller authenticated with the app-level token)."""
    return {"url": ctx.extra["socket_url"]()}


@method("users.info")
def users_info(ctx: ApiContext, a: Args) -> dict[str, Any]:
    user = ctx.ws.users.get(a.req("user", "user_not_found"))
    if user is None:
        raise ApiError("user_not_found")
    return {"user": copy.deepcopy(user)}


@method("users.lookupByEmail")
def users_lookup_by_email(ctx: ApiContext, a: Args) -> dict[str, Any]:
    """The person with this email (``users:read.email``); bots have none."""
    email = a.req("email", "users_not_found").strip().lower()
    for user in ctx.ws.users.values():
        if str((user.get("profile") or {}).get("email") or "").lower() == email and email:
            return {"user": copy.deepcopy(user)}
    raise ApiError("users_not_found")


@method("users.list")
def users_list(ctx: ApiContext, a: Args) -> dict[str, Any]:
    page, nxt = paginate_offset(list(ctx.ws.users.values()), a, default_limit=1000)
    return {
        "members": copy.deepcopy(page),
        "cache_ts": int(ctx.ws.clock.now()),
        "response_metadata": {"next_cursor": nxt},
    }


@method("bookmarks.add")
def bookmarks_add(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.req("channel_id", "channel_not_found"))
    kind = a.req("type", "invalid_arguments")
    if kind != "link":
        raise ApiError("invalid_bookmark_type")
    link = a.str("link")
    if not link:
        raise ApiError("invalid_link")
    now = int(ctx.ws.clock.now())
    bookmark = {
        "id": ctx.ws.new_id("Bk"),
        "channel_id": ch.id,
        "title": a.req("title", "invalid_arguments"),
        "link": link,
        "emoji": a.str("emoji", "") or "",
        "icon_url": "",
        "type": kind,
        "entity_id": a.str("entity_id", "") or "",
        "date_created": now,
        "date_updated": 0,
        "rank": chr(ord("U") + len(ch.bookmarks) % 5),
        "last_updated_by_user_id": ctx.bot_user_id,
        "last_updated_by_team_id": ctx.ws.team_id,
        "shortcut_id": "",
        "app_id": ctx.app_id,
    }
    ch.bookmarks.append(bookmark)
    return {"bookmark": copy.deepcopy(bookmark)}


def _new_canvas(ctx: ApiContext, a: Args, channel_id: str | None) -> str:
    canvas_id = ctx.ws.new_id("F")
    content = a.json("document_content")
    if content is not None and (
        not isinstance(content, dict) or content.get("type") != "markdown" or "markdown" not in content
    ):
        raise ApiError("invalid_arguments")
    ctx.ws.canvases[canvas_id] = {
        "id": canvas_id,
        "title": a.str("title", "") or "",
        "document_content": content,
        "channel_id": channel_id,
        "created": int(ctx.ws.clock.now()),
        "permalink": f"{PERMALINK_BASE}/docs/{ctx.ws.team_id}/{canvas_id}",
    }
    return canvas_id


@method("canvases.create")
def canvases_create(ctx: ApiContext, a: Args) -> dict[str, Any]:
    return {"canvas_id": _new_canvas(ctx, a, None)}


@method("conversations.canvases.create")
def conversations_canvases_create(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.req("channel_id", "channel_not_found"))
    if ch.info.get("properties", {}).get("canvas"):
        raise ApiError("channel_canvas_already_exists")
    canvas_id = _new_canvas(ctx, a, ch.id)
    ch.info.setdefault("properties", {})["canvas"] = {
        "file_id": canvas_id,
        "is_empty": ctx.ws.canvases[canvas_id]["document_content"] is None,
        "quip_thread_id": "",
    }
    return {"canvas_id": canvas_id}
