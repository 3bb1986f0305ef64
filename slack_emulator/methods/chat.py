"""chat.*"""

from __future__ import annotations

import copy
from typing import Any

from ..blockkit import BlockKitError, assign_ids, decode, validate_message_blocks
from ..formatting import escape_text
from ..state import Channel
from . import ApiContext, ApiError, Args, channel_or_error, method

MAX_TEXT = 40000
# chat.update answers with the edited message minus its position (ts/thread fields), like Slack.
UPDATE_RESPONSE_KEYS = (
    "bot_id", "type", "text", "user", "team", "bot_profile", "edited", "app_id", "metadata", "files", "blocks",
    "attachments",
)  # fmt: skip


def compose(ctx: ApiContext, a: Args, *, require_content: bool = True) -> dict[str, Any]:
    """text/blocks/attachments/metadata of a bot message, validated as Slack would."""
    out: dict[str, Any] = {}
    text = a.str("text")
    try:
        blocks = decode(a.raw["blocks"], "blocks") if a.has("blocks") else None
        attachments = decode(a.raw["attachments"], "attachments") if a.has("attachments") else None
    except BlockKitError as exc:
        ctx.violation(f"{exc}")
        raise ApiError("invalid_blocks", errors=exc.problems) from exc
    if require_content and not text and not blocks and not attachments:
        raise ApiError("no_text")
    if text is not None and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    if blocks is not None:
        problems = validate_message_blocks(blocks)
        if problems:
            for p in problems:
                ctx.violation(f"Block Kit: {p}")
            raise ApiError("invalid_blocks", errors=problems, response_metadata={"messages": problems})
        out["blocks"] = assign_ids(blocks)
    if attachments is not None:
        if not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        out["attachments"] = attachments
    out["text"] = escape_text(text or "")
    if a.has("metadata"):
        out["metadata"] = a.json("metadata")
    return out


def bot_message(ctx: ApiContext, fields: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "user": ctx.bot_user_id,
        "type": "message",
        "ts": ctx.ws.clock.next_ts(),
        "bot_id": ctx.bot_id,
        "app_id": ctx.app_id,
        "text": "",
        "team": ctx.ws.team_id,
        "bot_profile": copy.deepcopy(ctx.ws.bot_profile),
    }
    msg.update(fields)
    return msg


def changed_copy(msg: dict[str, Any]) -> dict[str, Any]:
    """A message as message_changed/deleted events show it (no reply_users / app_id there)."""
    return {k: copy.deepcopy(v) for k, v in msg.items() if k not in ("reply_users", "app_id")}


def message_event(ch: Channel, msg: dict[str, Any]) -> dict[str, Any]:
    event = {k: copy.deepcopy(v) for k, v in msg.items() if k != "app_id"}  # events omit app_id
    event.update(channel=ch.id, event_ts=msg["ts"], channel_type=ch.channel_type)
    return event


def postable_channel(ctx: ApiContext, ref: str | None) -> Channel:
    if ref and ref in ctx.ws.users and ref != ctx.bot_user_id:  # a user id: Slack posts to the bot's DM
        return ctx.ws.open_im(ref, ctx.bot_user_id)
    ch = ctx.ws.find_channel(ref or "")
    if ch is None:
        raise ApiError("channel_not_found")
    if ch.is_private and ctx.bot_user_id not in ch.members:
        raise ApiError("not_in_channel")
    if ch.info["is_archived"]:
        raise ApiError("is_archived")
    return ch


def resolve_thread(ctx: ApiContext, ch: Channel, thread_ts: str | None) -> str | None:
    if not thread_ts:
        return None
    if thread_ts not in ch.msgs:
        raise ApiError("thread_not_found")
    return ctx.ws.thread_root(ch, thread_ts)


def post(
    ctx: ApiContext, ch: Channel, fields: dict[str, Any], thread_ts: str | None, broadcast: bool
) -> dict[str, Any]:
    msg = bot_message(ctx, fields)
    ctx.ws.add_message(ch, msg, thread_ts, broadcast and thread_ts is not None)
    ctx.emit(message_event(ch, msg))
    return msg


@method("chat.postMessage")
def post_message(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = postable_channel(ctx, a.str("channel"))
    fields = compose(ctx, a)
    thread = resolve_thread(ctx, ch, a.str("thread_ts"))
    msg = post(ctx, ch, fields, thread, a.bool("reply_broadcast"))
    return {"channel": ch.id, "ts": msg["ts"], "message": copy.deepcopy(msg)}


@method("chat.postEphemeral")
def post_ephemeral(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = postable_channel(ctx, a.str("channel"))
    user = a.str("user") or ""
    if user not in ctx.ws.users:
        raise ApiError("user_not_found")
    if user not in ch.members:
        raise ApiError("user_not_in_channel")
    fields = compose(ctx, a)
    ts = ctx.ws.clock.next_ts()
    ctx.ws.ephemerals.append(
        {
            "channel": ch.id,
            "user": user,
            "ts": ts,
            "thread_ts": a.str("thread_ts"),
            "source": "chat.postEphemeral",
            **fields,
        }
    )
    return {"message_ts": ts}


def _own_message(ctx: ApiContext, a: Args, ts_key: str, error: str) -> tuple[Channel, dict[str, Any]]:
    ch = channel_or_error(ctx, a.str("channel"))
    ts = a.str(ts_key) or ""
    msg = ch.msgs.get(ts)
    if msg is None:
        raise ApiError("message_not_found")
    if msg.get("user") != ctx.bot_user_id:
        raise ApiError(error)
    return ch, msg


@method("chat.update")
def update(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch, msg = _own_message(ctx, a, "ts", "cant_update_message")
    previous = copy.deepcopy(msg)
    fields = compose(ctx, a, require_content=False)
    if not a.has("text") and "blocks" in fields:
        fields.pop("text")
    if not a.has("blocks") and a.has("text"):
        msg.pop("blocks", None)
    msg.update(fields)
    msg["edited"] = {"user": ctx.bot_user_id, "ts": ctx.ws.clock.next_ts()}
    ctx.emit(
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": ch.id,
            "message": changed_copy(msg),
            "previous_message": changed_copy(previous),
            "event_ts": msg["edited"]["ts"],
            "ts": msg["edited"]["ts"],
            "channel_type": ch.channel_type,
        }
    )
    shown = {k: copy.deepcopy(v) for k, v in msg.items() if k in UPDATE_RESPONSE_KEYS}
    return {"channel": ch.id, "ts": msg["ts"], "text": msg.get("text", ""), "message": shown}


@method("chat.delete")
def delete(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch, msg = _own_message(ctx, a, "ts", "cant_delete_message")
    removed = ctx.ws.remove_message(ch, msg["ts"])
    now = ctx.ws.clock.next_ts()
    ctx.emit(
        {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": ch.id,
            "deleted_ts": removed["ts"],
            "previous_message": changed_copy(removed),
            "event_ts": now,
            "ts": now,
            "channel_type": ch.channel_type,
        }
    )
    return {"channel": ch.id, "ts": removed["ts"]}


@method("chat.getPermalink")
def get_permalink(ctx: ApiContext, a: Args) -> dict[str, Any]:
    ch = channel_or_error(ctx, a.str("channel"))
    ts = a.str("message_ts") or ""
    if ts not in ch.msgs:
        raise ApiError("message_not_found")
    return {"channel": ch.id, "permalink": ctx.ws.permalink(ch, ts)}
