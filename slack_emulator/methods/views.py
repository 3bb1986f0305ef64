"""views.open / views.update / views.push / views.publish"""

from __future__ import annotations

import copy
from typing import Any

from ..blockkit import BlockKitError, assign_ids, decode, validate_view
from ..elements import preserved_state
from . import ApiContext, ApiError, Args, method

TRIGGER_TTL = 3.0


def use_trigger(ctx: ApiContext, trigger_id: str | None) -> str:
    """Consume a trigger_id (single use, valid 3 s on the emulator clock); returns its user."""
    if not trigger_id:
        raise ApiError("invalid_trigger_id")
    trig = ctx.ws.triggers.get(trigger_id)
    if trig is None:
        raise ApiError("invalid_trigger_id")
    if trig["used"] or ctx.ws.clock.now() - trig["issued"] > TRIGGER_TTL:
        raise ApiError("expired_trigger_id")
    trig["used"] = True
    return str(trig["user"])


def _parse_view(ctx: ApiContext, a: Args) -> dict[str, Any]:
    try:
        view = decode(a.raw.get("view"), "view")
    except BlockKitError as exc:
        ctx.violation(str(exc))
        raise ApiError("invalid_arguments", response_metadata={"messages": exc.problems}) from exc
    problems = validate_view(view)
    if problems:
        for p in problems:
            ctx.violation(f"Block Kit: {p}")
        raise ApiError("invalid_arguments", response_metadata={"messages": problems})
    return dict(view)


def _build(
    ctx: ApiContext, view: dict[str, Any], view_id: str, root: str, previous: str | None
) -> dict[str, Any]:
    return {
        "id": view_id,
        "team_id": ctx.ws.team_id,
        "type": view.get("type", "modal"),
        "blocks": assign_ids(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(ctx.ws.clock.now())}.{ctx.ws.new_id('', 8)}",
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous,
        "root_view_id": root,
        "app_id": ctx.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ctx.ws.team_id,
        "bot_id": ctx.bot_id,
    }


def _store(ctx: ApiContext, view: dict[str, Any], user: str) -> dict[str, Any]:
    ext = view.get("external_id")
    if ext and any(v.get("external_id") == ext and v["id"] != view["id"] for v in ctx.ws.views.values()):
        raise ApiError("duplicate_external_id")
    ctx.ws.views[view["id"]] = view
    ctx.ws.view_users[view["id"]] = user
    return {"view": copy.deepcopy(view)}


@method("views.open")
def views_open(ctx: ApiContext, a: Args) -> dict[str, Any]:
    view = _parse_view(ctx, a)
    user = use_trigger(ctx, a.str("trigger_id"))
    vid = ctx.ws.new_id("V")
    return _store(ctx, _build(ctx, view, vid, vid, None), user)


@method("views.push")
def views_push(ctx: ApiContext, a: Args) -> dict[str, Any]:
    view = _parse_view(ctx, a)
    user = use_trigger(ctx, a.str("trigger_id"))
    stack = [vid for vid, u in ctx.ws.view_users.items() if u == user]
    if not stack:
        raise ApiError("not_found")
    top = stack[-1]
    if len([v for v in ctx.ws.views.values() if v["root_view_id"] == ctx.ws.views[top]["root_view_id"]]) >= 3:
        raise ApiError("push_limit_reached")
    vid = ctx.ws.new_id("V")
    return _store(ctx, _build(ctx, view, vid, ctx.ws.views[top]["root_view_id"], top), user)


@method("views.update")
def views_update(ctx: ApiContext, a: Args) -> dict[str, Any]:
    view = _parse_view(ctx, a)
    current: dict[str, Any] | None = None
    if a.has("view_id"):
        current = ctx.ws.views.get(a.str("view_id") or "")
    elif a.has("external_id"):
        current = next(
            (v for v in ctx.ws.views.values() if v.get("external_id") == a.str("external_id")), None
        )
    else:
        raise ApiError("invalid_arguments")
    if current is None:
        raise ApiError("not_found")
    if a.has("hash") and a.str("hash") != current["hash"]:
        raise ApiError("hash_conflict")
    if not view.get("external_id") and current.get("external_id"):
        view["external_id"] = current["external_id"]
    new = _build(ctx, view, current["id"], current["root_view_id"], current["previous_view_id"])
    new["state"] = {"values": preserved_state(current, new["blocks"])}
    return _store(ctx, new, ctx.ws.view_users[current["id"]])


@method("views.publish")
def views_publish(ctx: ApiContext, a: Args) -> dict[str, Any]:
    """A user's Home tab: one view per user, replaced by each publish (``hash`` guards races)."""
    view = _parse_view(ctx, a)
    if view.get("type") != "home":
        ctx.violation("views.publish: view.type must be 'home'")
        raise ApiError("invalid_arguments", response_metadata={"messages": ["view.type must be 'home'"]})
    user = a.req("user_id")
    if user not in ctx.ws.users or ctx.ws.users[user].get("deleted"):
        raise ApiError("user_not_found")
    current = ctx.ws.home_views.get(user)
    if a.has("hash") and current is not None and a.str("hash") != current["hash"]:
        raise ApiError("hash_conflict")
    vid = current["id"] if current is not None else ctx.ws.new_id("V")
    built = _build(ctx, view, vid, vid, None)
    ctx.ws.home_views[user] = built
    return {"view": copy.deepcopy(built)}
