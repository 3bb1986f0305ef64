"""conversations.*"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..clock import ts_to_us
from ..state import Channel
from . import (
    ApiContext,
    ApiError,
    Args,
    channel_or_error,
    decode_cursor,
    encode_cursor,
    method,
    paginate_offset,
)

NAME_RE = re.compile(r"^[a-z0-9_-]{1,80}$")
DEFAULT_PAGE = 100
MAX_PAGE = 1000


def check_name(ctx: ApiContext, name: str | None, exclude: str | None = None) -> str:
    if not name:
        raise ApiError("invalid_name_required")
    if len(name) > 80:
        raise ApiError("invalid_name_maxlength")
    if not NAME_RE.match(name):
        raise ApiError("invalid_name_specials")
    for ch in ctx.ws.channels.values():
        if ch.info["name"] == name and ch.id != exclude:
            raise ApiError("name_taken")
    return name


def _member_channel(ctx: ApiContext, a: Args, key: str = "channel") -> Channel:
    ch = channel_or_error(ctx, a.str(key))
    if ctx.bot_user_id not in ch.members:
        raise ApiError("not_in_channel")
    return ch


def system_message(ctx: ApiContext, ch: Channel, subtype: str, text: str, **extra: Any) -> None:
    msg: dict[str, Any] = {
        "type": "message",
        "subtype": subtype,
        "user": ctx.bot_user_id,
        "text": text,
        "ts": ctx.ws.clock.next_ts(),
        **extra,
    }
    ctx.ws.add_message(ch, msg, None, False)
    ctx.emit({**copy.deepcopy(msg), "channel": ch.id, "event_ts": msg["ts"], "channel_type": ch.channel_type})


@method("conversations.create")
def create(ctx: ApiContext, a: Args) -> dict[str, Any]:
    name = check_name(ctx, a.str("name"))
    ch = ctx.ws.add_channel(name, a.bool("is_private"), ctx.bot_user_id, [])
    return {"channel": ctx.ws.channel_out(ch, ctx.bot_user_id)}


@method("conversations.info")
def info(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.str("channel"))
    return {"channel": ctx.ws.channel_out(ch, ctx.bot_user_id, a.bool("include_num_members"))}


@method("conversations.invite")
def invite(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.str("channel"))
    if ch.info["is_archived"]:
        raise ApiError("is_archived")
    if ctx.bot_user_id not in ch.members:
        raise ApiError("not_in_channel")
    users = [u.strip() for u in (a.str("users") or "").split(",") if u.strip()]
    if not users:
        raise ApiError("no_user")
    for uid in users:
        if uid not in ctx.ws.users:
            raise ApiError("user_not_found")
        if uid == ctx.bot_user_id:
            raise ApiError("cant_invite_self")
        if uid in ch.members:
            raise ApiError("already_in_channel")
    ch.members.extend(users)
    return {"channel": ctx.ws.channel_out(ch, ctx.bot_user_id)}


@method("conversations.join")
def join(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ref = a.str("channel")
    ch = ctx.ws.channels.get(ref or "")
    if ch is None:
        raise ApiError("channel_not_found")
    if ch.is_private:
        raise ApiError("method_not_supported_for_channel_type")
    if ch.info["is_archived"]:
        raise ApiError("is_archived")
    already = ctx.bot_user_id in ch.members
    if not already:
        ch.members.append(ctx.bot_user_id)
    out: dict[str, Any] = {"channel": ctx.ws.channel_out(ch, ctx.bot_user_id)}
    if already:
        out["warning"] = "already_in_channel"
        out["response_metadata"] = {"warnings": ["already_in_channel"]}
    return out


@method("conversations.members")
def members(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.str("channel"))
    page, nxt = paginate_offset(list(ch.members), a)
    return {"members": page, "response_metadata": {"next_cursor": nxt}}


def _set_text(ctx: ApiContext, a: Args, field: str) -> dict[str, Any]:
    ch = _member_channel(ctx, a)
    if ch.info["is_archived"]:
        raise ApiError("is_archived")
    value = a.str(field, "") or ""
    if len(value) > 250:
        raise ApiError("too_long")
    ch.info[field] = {"value": value, "creator": ctx.bot_user_id, "last_set": int(ctx.ws.clock.now())}
    verb = "set the channel topic" if field == "topic" else "set the channel purpose"
    system_message(ctx, ch, f"channel_{field}", f"{verb}: {value}", **{field: value})
    return {"channel": ctx.ws.channel_out(ch, ctx.bot_user_id)}


@method("conversations.setTopic")
def set_topic(ctx: ApiContext, a: Args) -> dict[str, Any]:
    return _set_text(ctx, a, "topic")


@method("conversations.setPurpose")
def set_purpose(ctx: ApiContext, a: Args) -> dict[str, Any]:
    return _set_text(ctx, a, "purpose")


@method("conversations.rename")
def rename(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = _member_channel(ctx, a)
    if ch.info["is_archived"]:
        raise ApiError("is_archived")
    name = check_name(ctx, a.str("name"), exclude=ch.id)
    old = ch.info["name"]
    if name != old:
        ch.info["previous_names"] = [old, *ch.info["previous_names"]]
        ch.info["name"] = ch.info["name_normalized"] = name
        system_message(
            ctx,
            ch,
            "channel_name",
            f'has renamed the channel from "{old}" to "{name}"',
            old_name=old,
            name=name,
        )
    return {"channel": ctx.ws.channel_out(ch, ctx.bot_user_id)}


@method("conversations.archive")
def archive(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.str("channel"))
    if ch.info["is_archived"]:
        raise ApiError("already_archived")
    if ctx.bot_user_id not in ch.members:
        raise ApiError("not_in_channel")
    ch.info["is_archived"] = True
    return {}


@method("conversations.list")
def list_(ctx: ApiContext, a: Args) -> dict[str, Any]:
    types = {t.strip() for t in (a.str("types") or "public_channel").split(",") if t.strip()}
    unknown = types - {"public_channel", "private_channel", "im", "mpim"}
    if unknown:
        raise ApiError("invalid_types")
    exclude_archived = a.bool("exclude_archived")
    chans = []
    for ch in ctx.ws.channels.values():
        kind = "im" if ch.is_im else "private_channel" if ch.is_private else "public_channel"
        if kind not in types:
            continue
        if ch.is_private and ctx.bot_user_id not in ch.members:
            continue
        if exclude_archived and ch.info["is_archived"]:
            continue
        chans.append(ch)
    page, nxt = paginate_offset(chans, a)
    return {
        "channels": [ctx.ws.channel_out(ch, ctx.bot_user_id, num_members=True) for ch in page],
        "response_metadata": {"next_cursor": nxt},
    }


# ------------------------------------------------------------------ history / replies


def _bounds(a: Args) -> tuple[int, int, bool]:
    try:
        oldest = ts_to_us(a.str("oldest") or "0")
        latest = ts_to_us(a.str("latest") or "0") if a.has("latest") else 2**62
    except ValueError as exc:
        raise ApiError("invalid_arguments") from exc
    return oldest, latest, a.bool("inclusive")


def _in_range(us: int, oldest: int, latest: int, inclusive: bool) -> bool:
    if inclusive:
        return oldest <= us <= latest
    return oldest < us < latest


def _limit(ctx: ApiContext, a: Args, name: str) -> int:
    cap = ctx.page_max(name)
    default = min(DEFAULT_PAGE, cap) if cap else DEFAULT_PAGE
    limit = a.int("limit", default)
    if limit <= 0:
        limit = default
    return min(limit, cap or MAX_PAGE)


def _cursor_us(a: Args) -> int | None:
    cursor = a.str("cursor")
    if not cursor:
        return None
    try:
        return ts_to_us(decode_cursor(cursor, "next_ts"))
    except ValueError as exc:
        raise ApiError("invalid_cursor") from exc


def _msg_out(ctx: ApiContext, ch: Channel, ts: str, metadata: bool = False) -> dict[str, Any]:
    """A stored message as history and replies show it: message metadata only when asked for
    (``include_all_metadata``), as Slack does."""
    msg = copy.deepcopy(ch.msgs[ts])
    if not metadata:
        msg.pop("metadata", None)
    if ts in ch.pins:
        msg["pinned_to"] = [ch.id]
    return msg


@method("conversations.open")
def open_(ctx: ApiContext, a: Args) -> dict[str, Any]:
    if a.has("channel"):
        ch = channel_or_error(ctx, a.str("channel"))
        return {"channel": {"id": ch.id}}
    users = [u.strip() for u in (a.str("users") or "").split(",") if u.strip()]
    if len(users) != 1:
        raise ApiError("users_list_not_supplied" if not users else "not_implemented_mpim")
    if users[0] not in ctx.ws.users:
        raise ApiError("user_not_found")
    ch = ctx.ws.open_im(users[0], ctx.bot_user_id)
    if a.bool("return_im"):
        return {"channel": ctx.ws.channel_out(ch)}
    return {"channel": {"id": ch.id}}


@method("conversations.history")
def history(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.str("channel"))
    if ctx.bot_user_id not in ch.members:
        raise ApiError("not_in_channel")
    oldest, latest, inclusive = _bounds(a)
    limit = _limit(ctx, a, "conversations.history")
    start = _cursor_us(a)
    selected = [
        ts
        for ts in reversed(ch.top)
        if _in_range(us := ts_to_us(ts), oldest, latest, inclusive) and (start is None or us <= start)
    ]
    page, rest = selected[:limit], selected[limit:]
    out: dict[str, Any] = {
        "messages": [_msg_out(ctx, ch, ts, a.bool("include_all_metadata")) for ts in page],
        "has_more": bool(rest),
        "pin_count": len(ch.pins),
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": encode_cursor("next_ts", rest[0]) if rest else ""},
    }
    if a.has("latest"):
        out["latest"] = a.str("latest")
    if a.has("oldest"):
        out["oldest"] = a.str("oldest")
    return out


@method("conversations.replies")
def replies(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.str("channel"))
    if ctx.bot_user_id not in ch.members:
        raise ApiError("not_in_channel")
    ts = a.str("ts") or ""
    if ts not in ch.msgs:
        raise ApiError("thread_not_found")
    root = ctx.ws.thread_root(ch, ts)
    oldest, latest, inclusive = _bounds(a)
    limit = _limit(ctx, a, "conversations.replies")
    start = _cursor_us(a)
    selected = [
        r
        for r in ch.threads.get(root, [])
        if _in_range(us := ts_to_us(r), oldest, latest, inclusive) and (start is None or us >= start)
    ]
    # The parent leads every page (as Slack does); it counts toward `limit`.
    room = max(limit - 1, 1)
    page, rest = selected[:room], selected[room:]
    return {
        "messages": [_msg_out(ctx, ch, t, a.bool("include_all_metadata")) for t in [root, *page]],
        "has_more": bool(rest),
        "response_metadata": {"next_cursor": encode_cursor("next_ts", rest[0]) if rest else ""},
    }
