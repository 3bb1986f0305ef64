"""The visible confirmation of a capture: the bot's confirm reaction (📥) on the message, within a
budget of reactions a minute (Slack allows ~50 ``reactions.add`` a minute per workspace).

Past the budget, a burst is confirmed by one message in the channel instead of one reaction per
capture; a catch-up that changed more than a few messages does the same at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.slack.client import slack_error
from bot.slack.permalinks import Permalinks
from storage.stores.timeline import ts_key

log = logging.getLogger(__name__)

WINDOW = 60.0
# A burst's summary waits this long for more captures of the same burst.
SUMMARY_DELAY = 10.0
LINKS_SHOWN = 10
# A catch-up reacts to each message it changed only up to this many (more: one summary message,
# so that reading the gap back stays the cost of a catch-up).
CATCH_UP_EACH = 5
Message = tuple[str, str | None]  # (ts, the parent's ts of a thread reply)


@dataclass
class _Pending:
    shown: list[Message] = field(default_factory=list)
    hidden: list[Message] = field(default_factory=list)


def summary_text(
    emoji: str,
    shown: Sequence[Message],
    hidden: Sequence[Message],
    link: Callable[[Message], str | None],
    why: str,
) -> str:
    """The message that confirms many captures at once: counts, then links to the first few."""
    parts = []
    if shown:
        parts.append(f"added {len(shown)} message{'s' if len(shown) != 1 else ''} to the timeline")
    if hidden:
        parts.append(f"took {len(hidden)} off it")
    lines = [f":{emoji}: {why}: {' and '.join(parts)}."]
    for label, unordered in (("Added", shown), ("Taken off", hidden)):
        tss = sorted(unordered, key=lambda m: ts_key(m[0]))  # in the channel's order
        links = [f"<{url}|{i}>" for i, m in enumerate(tss[:LINKS_SHOWN], 1) if (url := link(m))]
        if links:
            more = f" and {len(tss) - LINKS_SHOWN} more" if len(tss) > LINKS_SHOWN else ""
            lines.append(f"{label}: {', '.join(links)}{more}")
    return "\n".join(lines)


class Confirmer:
    def __init__(
        self,
        client: WebClient,
        emoji: Callable[[], str],
        per_minute: Callable[[], int],
        links: Permalinks,
        clock: Callable[[], float] = time.monotonic,
        delay: float = SUMMARY_DELAY,
    ) -> None:
        self.client = client
        self.emoji = emoji
        self.per_minute = per_minute
        self.links = links
        self.clock = clock
        self.delay = delay
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._pending: dict[str, _Pending] = {}
        self._timers: dict[str, threading.Timer] = {}

    def _take(self, n: int) -> bool:
        """Reserve ``n`` reactions of this minute's budget, if they all fit."""
        now = self.clock()
        with self._lock:
            while self._sent and self._sent[0] <= now - WINDOW:
                self._sent.popleft()
            if len(self._sent) + n > self.per_minute():
                return False
            self._sent.extend([now] * n)
            return True

    def one(self, channel: str, message: Message, add: bool) -> None:
        """A live capture shown (``add``) or taken off the timeline: react, or over the budget,
        join the channel's next summary."""
        if self._take(1):
            self._react(channel, message[0], add)
            return
        with self._lock:
            pending = self._pending.setdefault(channel, _Pending())
            (pending.shown if add else pending.hidden).append(message)
            if channel in self._timers:
                return
            timer = threading.Timer(self.delay, self.flush, args=(channel,))
            timer.daemon = True
            self._timers[channel] = timer
        timer.start()

    def many(self, channel: str, shown: Sequence[Message], hidden: Sequence[Message], why: str) -> None:
        """Changes found at once (a catch-up): each confirmed by its reaction if they are few
        (``CATCH_UP_EACH``) and fit in the budget, else one summary message."""
        n = len(shown) + len(hidden)
        if n == 0:
            return
        if n <= CATCH_UP_EACH and self._take(n):
            for ts, _ in shown:
                self._react(channel, ts, True)
            for ts, _ in hidden:
                self._react(channel, ts, False)
            return
        self._post(channel, shown, hidden, why)

    def stop(self) -> None:
        """At shutdown: the summaries still waiting for their burst to end are posted now."""
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
            channels = list(self._pending)
        for timer in timers:
            timer.cancel()
        for channel in channels:
            self.flush(channel)

    def flush(self, channel: str) -> None:
        """Post the channel's pending summary now."""
        with self._lock:
            self._timers.pop(channel, None)
            pending = self._pending.pop(channel, None)
        if pending is not None:
            self._post(channel, pending.shown, pending.hidden, "Too many at once to react to each")

    def _post(self, channel: str, shown: Sequence[Message], hidden: Sequence[Message], why: str) -> None:
        text = summary_text(self.emoji(), shown, hidden, lambda m: self.links(channel, *m), why)
        try:
            self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        except Exception as exc:  # Slack's refusal or no Slack at all: a confirmation, never an error
            log.warning("could not post the timeline confirmation: %s", slack_error(exc))

    def _react(self, channel: str, ts: str, add: bool) -> None:
        name = self.emoji()
        try:
            if add:
                self.client.reactions_add(channel=channel, timestamp=ts, name=name)
            else:
                self.client.reactions_remove(channel=channel, timestamp=ts, name=name)
        except Exception as exc:
            if slack_error(exc) not in ("already_reacted", "no_reaction", "message_not_found"):
                log.warning(
                    "could not %s the confirm reaction: %s", "add" if add else "remove", slack_error(exc)
                )
