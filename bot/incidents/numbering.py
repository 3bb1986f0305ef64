"""Incident numbers Slack has already seen, so a restored database never hands one out again.

The database's highest number goes back with a restore; the incident channels created since stay
in Slack (archived ones too: Slack keeps their names). Their names carry the numbers: the highest
is read from ``conversations.list`` once per process, raised by every number this process uses or
finds taken, and read again when a ``conversations.create`` answers ``name_taken``.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient

from bot.incidents.naming import number_in_name
from bot.slack.client import slack_error

log = logging.getLogger(__name__)


class TakenNumbers:
    def __init__(self, client: WebClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._highest: int | None = None
        self._lock = threading.Lock()

    def highest(self) -> int:
        """The highest incident number in a channel name (0: none); Slack is asked once."""
        with self._lock:
            if self._highest is None:
                self._highest = self._scan()
            return self._highest or 0

    def rescan(self) -> int:
        with self._lock:
            self._highest = max(self._scan() or 0, self._highest or 0)
            return self._highest

    def saw(self, number: int) -> None:
        """``number`` is in use in Slack now (a channel this process made, or a name found taken)."""
        with self._lock:
            if self._highest is not None:
                self._highest = max(self._highest, number)

    def _scan(self) -> int | None:
        """None when Slack could not be read: this declare goes by the database alone, the next
        one asks again (a name clash is still caught by ``name_taken``)."""
        highest = 0
        try:
            pages = self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=False, limit=1000
            )
            for page in pages:
                for channel in page.get("channels") or []:
                    number = number_in_name(self.prefix, channel.get("name") or "")
                    highest = max(highest, number or 0)
        except Exception as exc:
            log.warning("could not read the channel names already used (%s)", slack_error(exc))
            return None
        return highest
