"""Who is in a channel, from ``conversations.members``, cached briefly per channel.

Used to show a private incident only to its channel's members (App Home, web pages). When Slack
cannot answer, the answer is "nobody" (deny), never "everybody".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from weakref import WeakKeyDictionary

from slack_sdk import WebClient

log = logging.getLogger(__name__)

MEMBERS_TTL = 60.0
PAGE = 1000


class ChannelMembers:
    def __init__(
        self, client: WebClient, ttl: float = MEMBERS_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def members(self, channel_id: str) -> frozenset[str]:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(channel_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found: set[str] = set()
        cursor = None
        try:
            while True:
                resp = self.client.conversations_members(channel=channel_id, limit=PAGE, cursor=cursor)
                found.update(resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except Exception as exc:
            log.info("could not read the members of %s: %s", channel_id, type(exc).__name__)
            return frozenset()  # not cached: the next look asks again
        result = frozenset(found)
        with self._lock:
            self._cache[channel_id] = (now, result)
        return result

    def is_member(self, channel_id: str | None, user_id: str) -> bool:
        return bool(channel_id) and user_id in self.members(channel_id or "")


_BY_CLIENT: WeakKeyDictionary[WebClient, ChannelMembers] = WeakKeyDictionary()
_GUARD = threading.Lock()


def channel_members(client: WebClient) -> ChannelMembers:
    """The one cache per Slack client (so the Home tab and the web pages share it)."""
    with _GUARD:
        cache = _BY_CLIENT.get(client)
        if cache is None:
            cache = _BY_CLIENT[client] = ChannelMembers(client)
        return cache
