"""Who may act on a private incident: the members of its channel, as Slack says today.

Every request that names an incident (a command in its channel, a card button, a modal's
``private_metadata``) carries a channel or an id someone could have forged or kept after they
left. For a private incident the person must be a member of its channel now.

Membership comes from ``conversations.members``, kept for ``TTL`` seconds per channel: Slack is
the authority (recorded ``member_joined_channel``/``member_left_channel`` events would miss what
happened while the bot was down, and the app does not subscribe to them), private incident
channels are small (one page), and the short cache keeps a burst of clicks to one call. Someone
not in a cached list is looked up again before being refused (a person invited a moment ago is
not turned away); someone removed keeps access for at most ``TTL`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient

from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error
from storage.models import Incident

log = logging.getLogger(__name__)

TTL = 30.0


class ChannelMembers:
    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def _fetch(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        while True:
            page = self.client.conversations_members(channel=channel, limit=1000, cursor=cursor)
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        found = frozenset(members)
        with self._lock:
            self._cache[channel] = (self.clock(), found)
        return found

    def forget(self, channel: str) -> None:
        """Someone joined or left: the next check asks Slack (a person removed loses access at once)."""
        with self._lock:
            self._cache.pop(channel, None)

    def is_member(self, channel: str, user: str) -> bool:
        with self._lock:
            cached = self._cache.get(channel)
        now = self.clock()
        if cached is not None and now - cached[0] < TTL and user in cached[1]:
            return True
        return user in self._fetch(channel)  # a miss is asked again: refusals are rare, invites are not


class Access:
    """``refusal(incident, user)``: why the person may not act on the incident, or None."""

    def __init__(self, members: ChannelMembers) -> None:
        self.members = members

    def refusal(self, incident: Incident, user_id: str) -> str | None:
        if not incident.is_private:
            return None  # anyone in the workspace may join a public incident's channel
        channel = incident.channel_id or ""
        try:
            if channel and self.members.is_member(channel, user_id):
                return None
        except Exception as exc:
            # Cannot tell: refuse (a private incident's contents stay private), and say why.
            log.warning("%s: conversations.members failed: %s", incident_ref(incident), slack_error(exc))
            return (
                f"I could not check that you are in this incident's channel ({slack_error(exc)}); "
                "nothing changed. Try again in a moment."
            )
        return (
            "This is a private incident and you are not a member of its channel; nothing changed. "
            "Ask someone in it to invite you."
        )
