"""Web API method handlers. Each takes (ApiContext, Args), returns the response dict or raises ApiError."""

from __future__ import annotations

import base64
import builtins
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..state import Channel, Workspace


class ApiError(Exception):
    """A Slack `ok: false` answer (HTTP 200 unless `status` says otherwise)."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


@dataclass
class ApiContext:
    ws: Workspace
    base_url: str
    bot_user_id: str
    bot_id: str
    app_id: str
    emit: Callable[[dict[str, Any]], None]  # queue an inner event for async delivery to the bot
    violation: Callable[[str], None]
    page_max: Callable[[str], int | None]  # method -> max page size under the active profile
    extra: dict[str, Any] = field(default_factory=dict)


class Args:
    """Typed access to call arguments (form strings or JSON values)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def has(self, name: builtins.str) -> builtins.bool:
        return self.raw.get(name) not in (None, "")

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        return (
            value
            if isinstance(value, builtins.str)
            else json.dumps(value)
            if isinstance(value, list | dict)
            else builtins.str(value)
        )

    def req(self, name: builtins.str, error: builtins.str = "invalid_arguments") -> builtins.str:
        value = self.str(name)
        if value is None:
            raise ApiError(error)
        return value

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, builtins.bool):
            return value
        return builtins.str(value).lower() in ("1", "true")

    def int(self, name: builtins.str, default: builtins.int) -> builtins.int:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return builtins.int(value)
        except (TypeError, ValueError) as exc:
            raise ApiError("invalid_arguments") from exc

    def json(self, name: builtins.str) -> Any:
        value = self.raw.get(name)
        if isinstance(value, builtins.str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ApiError("invalid_arguments") from exc
        return value


Handler = Callable[[ApiContext, Args], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


# ---------------------------------------------------------------- shared helpers


def channel_or_error(ctx: ApiContext, ref: str | None, *, by_name: bool = False) -> Channel:
    if not ref:
        raise ApiError("channel_not_found")
    ch = ctx.ws.find_channel(ref) if by_name else ctx.ws.channels.get(ref)
    if ch is None:
        raise ApiError("channel_not_found")
    if ch.is_private and ctx.bot_user_id not in ch.members:
        raise ApiError("channel_not_found")
    return ch


def encode_cursor(kind: str, value: str | int) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(cursor: str, kind: str) -> str:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("invalid_cursor") from exc
    prefix, _, value = text.partition(":")
    if prefix != kind or not value:
        raise ApiError("invalid_cursor")
    return value


def paginate_offset(
    items: list[Any], args: Args, default_limit: int = 100, max_limit: int = 1000
) -> tuple[list[Any], str]:
    """Offset-style cursor pagination for lists (members, channels, users)."""
    limit = args.int("limit", default_limit)
    if limit <= 0:
        limit = default_limit
    limit = min(limit, max_limit)
    start = 0
    cursor = args.str("cursor")
    if cursor:
        raw = decode_cursor(cursor, "offset")
        if not raw.isdigit() or int(raw) > len(items):
            raise ApiError("invalid_cursor")
        start = int(raw)
    page = items[start : start + limit]
    nxt = start + limit
    return page, encode_cursor("offset", nxt) if nxt < len(items) else ""


def load_all() -> None:
    """Import the handler modules (they register themselves)."""
    from . import chat, conversations, files, misc, reactions, usergroups, views  # noqa: F401
