"""Names for the ids in Slack text: people (``users.info``), channels (``conversations.info``) and
user groups (one ``usergroups.list``).

Names are resolved where text is shown (a document, a catch-up, a ticket, a page), never where it is
captured: a captured message keeps the ids it mentions, so capture and catch-up ask Slack nothing
for names.

One ``Directory`` per piece of work (a document, an export, a timeline page): each distinct id is
looked up at most once, failures fall back to the id, and the calls are counted for the bench.
A ``Lookups`` shared by the process (the timeline and the document) keeps what Slack answered for
``LOOKUP_TTL`` seconds, so a name the timeline just asked for is not asked again by the document.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack.client import slack_error
from bot.slack.mrkdwn import Names, mentioned, mentioned_groups
from bot.slack.text import to_plain

log = logging.getLogger(__name__)

LOOKUP_TTL = 600.0
Record = dict[str, Any]


class Lookups:
    """``users.info`` / ``conversations.info`` answers by id, kept ``ttl`` seconds and shared by
    every reader of names in the process; a failed call is not kept (its caller decides)."""

    def __init__(self, ttl: float = LOOKUP_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._known: dict[tuple[str, str], tuple[float, Record]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, key: str, fetch: Callable[[], Record]) -> tuple[Record, bool]:
        """The record for ``key`` and whether Slack was asked for it now (``fetch`` may raise)."""
        now = self.clock()
        with self._lock:
            hit = self._known.get((kind, key))
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1], False
        record = fetch()
        with self._lock:
            if len(self._known) > 5000:
                self._known.clear()
            self._known[(kind, key)] = (now, record)
        return record, True

    def user(self, client: Any, uid: str) -> tuple[Record, bool]:
        return self.get("user", uid, lambda: dict(client.users_info(user=uid)["user"]))

    def channel(self, client: Any, cid: str) -> tuple[Record, bool]:
        return self.get("channel", cid, lambda: dict(client.conversations_info(channel=cid)["channel"]))


def user_name(user: dict[str, Any], fallback: str) -> str:
    profile = user.get("profile") or {}
    return str(
        profile.get("real_name")
        or user.get("real_name")
        or profile.get("display_name")
        or user.get("name")
        or fallback
    )


class Directory:
    """A cache in front of the Web API; ``client`` may be None (Slack unreachable: ids stay ids)."""

    def __init__(self, client: Any | None, lookups: Lookups | None = None) -> None:
        self.client = client
        self.lookups = lookups or Lookups()
        self.names = Names()
        self.user_lookups = 0
        self.channel_lookups = 0
        self.group_lookups = 0
        self._tried: set[str] = set()

    def users(self, ids: Iterable[str]) -> dict[str, str]:
        for uid in sorted(set(ids) - self._tried):
            self._tried.add(uid)
            if not uid or self.client is None:
                continue
            try:
                user, asked = self.lookups.user(self.client, uid)
                self.names.users[uid] = user_name(user, uid)
            except Exception as exc:
                asked = True
                self._failed(exc)
                log.info("no name for %s: %s", uid, slack_error(exc))
            self.user_lookups += asked
        return self.names.users

    def channels(self, ids: Iterable[str]) -> dict[str, str]:
        for cid in sorted(set(ids) - self._tried):
            self._tried.add(cid)
            if not cid or self.client is None:
                continue
            try:
                channel, asked = self.lookups.channel(self.client, cid)
                if channel.get("name"):
                    self.names.channels[cid] = str(channel["name"])
            except Exception as exc:
                asked = True
                self._failed(exc)
                log.info("no name for channel %s: %s", cid, slack_error(exc))
            self.channel_lookups += asked
        return self.names.channels

    def mentioned_in(self, texts: Iterable[str], people: Iterable[str] = ()) -> Names:
        """Look up every person, channel and user group ``texts`` mention, and ``people``."""
        texts = list(texts)
        users, channels = mentioned(texts)
        self.users(users | {p for p in people if p})
        self.channels(channels)
        self.groups(mentioned_groups(texts))
        return self.names

    def groups(self, ids: Iterable[str]) -> dict[str, str]:
        """User groups' handles: one ``usergroups.list`` the first time an unknown id is asked for
        (a workspace has few groups; without the ``usergroups:read`` scope they stay unnamed)."""
        if not set(ids) - set(self.names.groups) or self.client is None or self.group_lookups:
            return self.names.groups
        self.group_lookups += 1
        try:
            for group in self.client.usergroups_list(include_disabled=True)["usergroups"]:
                if group.get("id") and group.get("handle"):
                    self.names.groups[str(group["id"])] = str(group["handle"])
        except Exception as exc:
            self._failed(exc)
            log.info("no user group names: %s", slack_error(exc))
        return self.names.groups

    def _failed(self, exc: Exception) -> None:
        """Slack answered with an error: that id stays an id. Slack did not answer: stop asking."""
        if not isinstance(exc, SlackApiError):
            self.client = None

    def readable(self, slack_text: str) -> str:
        """Slack text as the plain text capture stores, the people and channels it mentions by name
        (looked up here, once per id): ``<@U1> in <#C1>`` → ``@Alice Adams in #general``."""
        users, channels = mentioned([slack_text])
        self.users(users)
        self.channels(channels)
        return to_plain(slack_text, self.names.users.get, self.names.channels.get)

    def user(self, uid: str | None) -> str | None:
        if not uid:
            return None
        self.users([uid])
        return self.names.users.get(uid, uid)
