"""The workspace's state: users, channels, messages, files, views... guarded by one lock."""

from __future__ import annotations

import bisect
import copy
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, ts_to_us

PERMALINK_BASE = "https://emulator.slack.test"
TEAM_DOMAIN = "emulator"


@dataclass
class Call:
    """One Web API call the emulator received."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    http_status: int


@dataclass
class Channel:
    info: dict[str, Any]
    members: list[str] = field(default_factory=list)
    top: list[str] = field(default_factory=list)  # ts of messages shown in history, oldest first
    msgs: dict[str, dict[str, Any]] = field(default_factory=dict)  # every message (incl. replies)
    threads: dict[str, list[str]] = field(default_factory=dict)  # parent ts -> reply ts, oldest first
    pins: list[str] = field(default_factory=list)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.info["id"])

    @property
    def is_private(self) -> bool:
        return bool(self.info["is_private"])

    @property
    def is_im(self) -> bool:
        return bool(self.info.get("is_im"))

    @property
    def channel_type(self) -> str:
        return "im" if self.is_im else "group" if self.is_private else "channel"


class Workspace:
    """Plain state + helpers. Callers hold `lock` (an RLock) around reads and writes."""

    def __init__(self, clock: Clock, team_id: str = "T0EMULATOR") -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.team_id = team_id
        self.team_name = "Emulator Workspace"
        self._counter = itertools.count(1)
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.canvases: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.view_users: dict[str, str] = {}
        self.home_views: dict[str, dict[str, Any]] = {}  # user -> their published Home tab
        self.triggers: dict[str, dict[str, Any]] = {}  # trigger_id -> {issued, used, user}
        self.response_urls: dict[str, dict[str, Any]] = {}  # id -> {channel, user, message_ts, uses}
        self.response_url_posts: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.bot_profile: dict[str, Any] = {}

    # ------------------------------------------------------------------ ids
    def new_id(self, prefix: str, width: int = 10) -> str:
        n = next(self._counter)
        digits = ""
        while n:
            n, r = divmod(n, 36)
            digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[r] + digits
        return prefix + digits.rjust(width, "0")

    # ------------------------------------------------------------------ users
    def add_usergroup(self, handle: str, name: str, users: list[str], created_by: str) -> str:
        """A user group (``@handle``), shaped as ``usergroups.list`` returns it."""
        sid = self.new_id("S")
        now = int(self.clock.now())
        self.usergroups[sid] = {
            "id": sid,
            "team_id": self.team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": name,
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": now,
            "date_update": now,
            "date_delete": 0,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": created_by,
            "updated_by": created_by,
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "users": list(users),
            "user_count": len(users),
        }
        return sid

    def add_user(
        self, name: str, real_name: str | None = None, is_bot: bool = False, bot_id: str | None = None
    ) -> str:
        uid = self.new_id("U")
        real = real_name or name
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "first_name": real.split(" ")[0],
            "last_name": " ".join(real.split(" ")[1:]),
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g0000000000",
            "image_24": f"{PERMALINK_BASE}/avatars/{uid}_24.png",
            "image_48": f"{PERMALINK_BASE}/avatars/{uid}_48.png",
            "image_72": f"{PERMALINK_BASE}/avatars/{uid}_72.png",
            "team": self.team_id,
        }
        if is_bot and bot_id:
            profile["bot_id"] = bot_id
        else:
            profile["email"] = f"{name}@emulator.slack.test"
        self.users[uid] = {
            "id": uid,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real,
            "tz": "Etc/UTC",
            "tz_label": "Coordinated Universal Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(self.clock.now()),
        }
        return uid

    # ------------------------------------------------------------------ channels
    def add_channel(self, name: str, is_private: bool, creator: str, members: list[str]) -> Channel:
        cid = self.new_id("G" if is_private else "C")
        now = int(self.clock.now())
        info: dict[str, Any] = {
            "id": cid,
            "name": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "created": now,
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": now * 1000,
            "creator": creator,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }
        ch = Channel(info=info)
        for m in [creator, *members]:
            if m not in ch.members:
                ch.members.append(m)
        self.channels[cid] = ch
        return ch

    def open_im(self, user: str, bot_user: str) -> Channel:
        """The bot's direct-message channel with `user` (created on first use)."""
        for ch in self.channels.values():
            if ch.is_im and ch.info["user"] == user:
                return ch
        cid = self.new_id("D")
        info: dict[str, Any] = {
            "id": cid,
            "created": int(self.clock.now()),
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "updated": int(self.clock.now()) * 1000,
            "user": user,
            "is_user_deleted": False,
            "priority": 0,
            "is_private": True,
            "name": "",
        }
        ch = Channel(info=info, members=[bot_user, user])
        self.channels[cid] = ch
        return ch

    def find_channel(self, ref: str) -> Channel | None:
        """By id, or by name ('#name' or 'name') like chat.postMessage accepts."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        for ch in self.channels.values():
            if ch.info["name"] == name and not ch.is_im:
                return ch
        return None

    def channel_out(
        self, ch: Channel, viewer: str | None = None, num_members: bool = False
    ) -> dict[str, Any]:
        out = copy.deepcopy(ch.info)
        if viewer is not None:
            out["is_member"] = viewer in ch.members
        if num_members:
            out["num_members"] = len(ch.members)
        return out

    # ------------------------------------------------------------------ messages
    def add_message(self, ch: Channel, msg: dict[str, Any], thread_ts: str | None, broadcast: bool) -> None:
        ts = msg["ts"]
        ch.msgs[ts] = msg
        if thread_ts:
            parent = ch.msgs[thread_ts]
            msg["thread_ts"] = thread_ts
            if broadcast:  # shaped like Slack's thread_broadcast (no parent_user_id/team, a root copy)
                msg["subtype"] = "thread_broadcast"
                msg.pop("team", None)
            else:
                msg["parent_user_id"] = parent.get("user", "")
            bisect.insort(ch.threads.setdefault(thread_ts, []), ts, key=ts_to_us)
            parent["thread_ts"] = thread_ts
            replies = ch.threads[thread_ts]
            parent["reply_count"] = len(replies)
            users: list[str] = []
            for r in replies:
                u = ch.msgs[r].get("user")
                if u and u not in users:
                    users.append(u)
            parent["reply_users"] = users
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = replies[-1]
            parent.setdefault("is_locked", False)
            parent.setdefault("subscribed", False)
            if broadcast:
                msg["root"] = copy.deepcopy(_root_summary(parent))
            if broadcast:
                bisect.insort(ch.top, ts, key=ts_to_us)
        else:
            bisect.insort(ch.top, ts, key=ts_to_us)

    def remove_message(self, ch: Channel, ts: str) -> dict[str, Any]:
        msg = ch.msgs.pop(ts)
        if ts in ch.top:
            ch.top.remove(ts)
        if ts in ch.pins:
            ch.pins.remove(ts)
        parent_ts = msg.get("thread_ts")
        if parent_ts and parent_ts != ts and parent_ts in ch.threads:
            replies = ch.threads[parent_ts]
            if ts in replies:
                replies.remove(ts)
            parent = ch.msgs.get(parent_ts)
            if parent is not None:
                if replies:
                    parent["reply_count"] = len(replies)
                    parent["latest_reply"] = replies[-1]
                else:
                    for key in (
                        "reply_count",
                        "reply_users",
                        "reply_users_count",
                        "latest_reply",
                        "thread_ts",
                    ):
                        parent.pop(key, None)
        return msg

    def thread_root(self, ch: Channel, ts: str) -> str:
        msg = ch.msgs[ts]
        return str(msg.get("thread_ts") or ts)

    def permalink(self, ch: Channel, ts: str) -> str:
        link = f"{PERMALINK_BASE}/archives/{ch.id}/p{ts.replace('.', '')}"
        msg = ch.msgs.get(ts)
        if msg and msg.get("thread_ts") and msg["thread_ts"] != ts:
            link += f"?thread_ts={msg['thread_ts']}&cid={ch.id}"
        return link

    # ------------------------------------------------------------------ triggers / response urls
    def new_trigger(self, user: str) -> str:
        tid = f"{int(self.clock.now())}.{self.new_id('', 6)}.{self.new_id('t', 8).lower()}"
        self.triggers[tid] = {"issued": self.clock.now(), "used": False, "user": user}
        return tid

    def new_response_url(self, base_url: str, channel: str | None, user: str, message_ts: str | None) -> str:
        rid = self.new_id("R", 12)
        self.response_urls[rid] = {
            "channel": channel,
            "user": user,
            "message_ts": message_ts,
            "uses": 0,
            "issued": self.clock.now(),
        }
        return f"{base_url}/_response/{rid}"


def _root_summary(parent: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "type",
        "user",
        "text",
        "ts",
        "thread_ts",
        "reply_count",
        "reply_users_count",
        "latest_reply",
        "bot_id",
    )
    return {k: parent[k] for k in keys if k in parent}


def sort_key(ts: str) -> int:
    return ts_to_us(ts)
