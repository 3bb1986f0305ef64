"""Names for the ids in Slack text: people (``users.info``), channels (``conversations.info``) and
user groups (one ``usergroups.list``).

One ``Directory`` per piece of work (a document, an export, a timeline page): each distinct id is
looked up at most once, failures fall back to the id, and the calls are counted for the bench.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack.client import slack_error
from bot.slack.mrkdwn import Names, mentioned, mentioned_groups

log = logging.getLogger(__name__)


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

    def __init__(self, client: Any | None) -> None:
        self.client = client
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
            self.user_lookups += 1
            try:
                user = self.client.users_info(user=uid)["user"]
                self.names.users[uid] = user_name(user, uid)
            except Exception as exc:
                self._failed(exc)
                log.info("no name for %s: %s", uid, slack_error(exc))
        return self.names.users

    def channels(self, ids: Iterable[str]) -> dict[str, str]:
        for cid in sorted(set(ids) - self._tried):
            self._tried.add(cid)
            if not cid or self.client is None:
                continue
            self.channel_lookups += 1
            try:
                channel = self.client.conversations_info(channel=cid)["channel"]
                if channel.get("name"):
                    self.names.channels[cid] = str(channel["name"])
            except Exception as exc:
                self._failed(exc)
                log.info("no name for channel %s: %s", cid, slack_error(exc))
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

    def user(self, uid: str | None) -> str | None:
        if not uid:
            return None
        self.users([uid])
        return self.names.users.get(uid, uid)
