"""reactions.* and pins.*, plus the state changes shared with user actions."""

from __future__ import annotations

import copy
from typing import Any

from ..state import Channel, Workspace
from . import ApiContext, ApiError, Args, channel_or_error, method

# What pin_added/pin_removed events show of the pinned message (as in Slack's PinAddedPayload).
PIN_ITEM_KEYS = ("bot_id", "type", "text", "user", "ts", "app_id", "team", "bot_profile")


def react(ws: Workspace, ch: Channel, ts: str, user: str, name: str, add: bool) -> dict[str, Any]:
    """Add/remove a reaction; returns the reaction_added/removed event. Raises ApiError."""
    msg = ch.msgs.get(ts)
    if msg is None:
        raise ApiError("message_not_found")
    reactions: list[dict[str, Any]] = msg.setdefault("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if add:
        if entry and user in entry["users"]:
            raise ApiError("already_reacted")
        if entry is None:
            entry = {"name": name, "users": [], "count": 0}
            reactions.append(entry)
        entry["users"].append(user)
        entry["count"] = len(entry["users"])
    else:
        if entry is None or user not in entry["users"]:
            raise ApiError("no_reaction")
        entry["users"].remove(user)
        entry["count"] = len(entry["users"])
        if not entry["users"]:
            reactions.remove(entry)
    if not reactions:
        msg.pop("reactions")
    event: dict[str, Any] = {
        "type": "reaction_added" if add else "reaction_removed",
        "user": user,
        "item": {"type": "message", "channel": ch.id, "ts": ts},
        "reaction": name,
        "event_ts": ws.clock.next_ts(),
    }
    if msg.get("user"):
        event["item_user"] = msg["user"]
    return event


def pin(ws: Workspace, ch: Channel, ts: str, user: str, add: bool) -> dict[str, Any]:
    """Pin/unpin; returns the pin_added/pin_removed event. Raises ApiError."""
    msg = ch.msgs.get(ts)
    if msg is None:
        raise ApiError("message_not_found")
    if add:
        if ts in ch.pins:
            raise ApiError("already_pinned")
        ch.pins.append(ts)
    else:
        if ts not in ch.pins:
            raise ApiError("no_pin")
        ch.pins.remove(ts)
    now = ws.clock.now()
    shown = {k: copy.deepcopy(v) for k, v in msg.items() if k in PIN_ITEM_KEYS}
    if add:
        shown["pinned_to"] = [ch.id]
    shown["permalink"] = ws.permalink(ch, ts)
    event: dict[str, Any] = {
        "type": "pin_added" if add else "pin_removed",
        "user": user,
        "channel_id": ch.id,
        "item": {
            "type": "message",
            "created": int(now),
            "created_by": msg.get("user", ""),
            "channel": ch.id,
            "message": shown,
        },
        "item_user": msg.get("user", ""),
        "pin_count": len(ch.pins),
        "pinned_info": {"channel": ch.id, "pinned_by": user, "pinned_ts": int(now)},
        "event_ts": ws.clock.next_ts(),
    }
    if not add:
        event["has_pins"] = bool(ch.pins)
    return event


def _target(ctx: ApiContext, a: Args) -> tuple[Channel, str]:
    ch = channel_or_error(ctx, a.str("channel"))
    ts = a.str("timestamp")
    if not ts:
        raise ApiError("no_item_specified")
    return ch, ts


@method("reactions.add")
def reactions_add(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch, ts = _target(ctx, a)
    ctx.emit(react(ctx.ws, ch, ts, ctx.bot_user_id, a.req("name", "invalid_name"), True))
    return {}


@method("reactions.remove")
def reactions_remove(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch, ts = _target(ctx, a)
    ctx.emit(react(ctx.ws, ch, ts, ctx.bot_user_id, a.req("name", "invalid_name"), False))
    return {}


@method("reactions.get")
def reactions_get(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch, ts = _target(ctx, a)
    msg = ch.msgs.get(ts)
    if msg is None:
        raise ApiError("message_not_found")
    shown = copy.deepcopy(msg)
    if not a.bool("full"):
        for r in shown.get("reactions", []):
            r["users"] = r["users"][:50]
    shown["permalink"] = ctx.ws.permalink(ch, ts)
    return {"type": "message", "channel": ch.id, "message": shown}


@method("pins.add")
def pins_add(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch, ts = _target(ctx, a)
    if ctx.bot_user_id not in ch.members:
        raise ApiError("not_in_channel")
    ctx.emit(pin(ctx.ws, ch, ts, ctx.bot_user_id, True))
    return {}


@method("pins.remove")
def pins_remove(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch, ts = _target(ctx, a)
    ctx.emit(pin(ctx.ws, ch, ts, ctx.bot_user_id, False))
    return {}
