"""Names for the ids in Slack text: people (``users.info``) and channels (``conversations.info``).

One ``Directory`` per piece of work (a document, an export, a timeline page): each distinct id is
looked up at most once, failures fall back to the id, and the calls are counted for the bench.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack.client import slack_error
from bot.slack.mrkdwn import Names

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

    def _failed(self, exc: Exception) -> None:
        """Slack answered with an error: that id stays an id. Slack did not answer: stop asking."""
        if not isinstance(exc, SlackApiError):
            self.client = None

    def user(self, uid: str | None) -> str | None:
        if not uid:
            return None
        self.users([uid])
        return self.names.users.get(uid, uid)
