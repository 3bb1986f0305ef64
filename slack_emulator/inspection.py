"""What a test or a developer reads back: messages, members, views, files, calls, violations."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .clock import ts_to_us as _us
from .state import Call

if TYPE_CHECKING:
    from .socket_mode import SocketHub
    from .state import Workspace


class Inspection:
    ws: Workspace
    bot_user_id: str
    sockets: SocketHub
    _ch: Any

    def messages(self, channel: str, include_replies: bool = False) -> list[dict[str, Any]]:
        with self.ws.lock:
            ch = self._ch(channel)
            tss = sorted(ch.msgs, key=_us) if include_replies else list(ch.top)
            return [copy.deepcopy(ch.msgs[t]) for t in tss]

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        with self.ws.lock:
            ch = self._ch(channel)
            if thread_ts not in ch.msgs:
                return []
            return [copy.deepcopy(ch.msgs[t]) for t in [thread_ts, *ch.threads.get(thread_ts, [])]]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self.ws.lock:
            msg = self._ch(channel).msgs.get(ts)
            return copy.deepcopy(msg) if msg is not None else None

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        with self.ws.lock:
            return [
                copy.deepcopy(e)
                for e in self.ws.ephemerals
                if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
            ]

    @property
    def response_url_posts(self) -> list[dict[str, Any]]:
        with self.ws.lock:
            return copy.deepcopy(self.ws.response_url_posts)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        with self.ws.lock:
            return copy.deepcopy(self.ws.views)

    def channel(self, id: str) -> dict[str, Any]:
        with self.ws.lock:
            ch = self._ch(id)
            out = self.ws.channel_out(ch, self.bot_user_id, num_members=True)
            return out

    def find_channel(self, name: str) -> dict[str, Any] | None:
        with self.ws.lock:
            ch = self.ws.find_channel(name.lstrip("#"))
            return self.ws.channel_out(ch, self.bot_user_id, num_members=True) if ch else None

    def channels(self) -> list[dict[str, Any]]:
        with self.ws.lock:
            return [
                self.ws.channel_out(c, self.bot_user_id, num_members=True) for c in self.ws.channels.values()
            ]

    def dm_channel(self, user: str) -> str | None:
        """The id of the bot's DM with `user`, if the bot has opened one."""
        with self.ws.lock:
            for ch in self.ws.channels.values():
                if ch.is_im and ch.info["user"] == user:
                    return ch.id
            return None

    def members(self, channel: str) -> list[str]:
        with self.ws.lock:
            return list(self._ch(channel).members)

    def pins(self, channel: str) -> list[str]:
        with self.ws.lock:
            return list(self._ch(channel).pins)

    def reactions(self, channel: str, ts: str) -> list[dict[str, Any]]:
        with self.ws.lock:
            msg = self._ch(channel).msgs.get(ts)
            return copy.deepcopy(msg.get("reactions", [])) if msg else []

    def user(self, user_id: str) -> dict[str, Any]:
        with self.ws.lock:
            return copy.deepcopy(self.ws.users[user_id])

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        with self.ws.lock:
            return {k: copy.deepcopy(v) for k, v in self.ws.files.items() if v.get("uploaded")}

    @property
    def canvases(self) -> dict[str, dict[str, Any]]:
        with self.ws.lock:
            return copy.deepcopy(self.ws.canvases)

    def bookmarks(self, channel: str) -> list[dict[str, Any]]:
        with self.ws.lock:
            return copy.deepcopy(self._ch(channel).bookmarks)

    @property
    def calls(self) -> list[Call]:
        with self.ws.lock:
            return list(self.ws.calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        with self.ws.lock:
            self.ws.calls.clear()

    @property
    def violations(self) -> list[str]:
        with self.ws.lock:
            return list(self.ws.violations) + list(self.sockets.violations)
