"""Keeping triage cards current without flooding Slack.

Intake only records and bumps the group's version; this worker posts missing cards and updates
stale ones: at most one ``chat.update`` per group per ``every`` seconds (a database claim, so
replicas share the budget), and within this process's share of Slack's limits (posts about one
per second per channel with short bursts, ``chat.update`` Tier 3).

One card per group, also when a worker dies between Slack's answer and our commit (or loses
Slack's answer): each card carries message metadata naming its group, and a worker that takes over
a stale "posting" claim first looks for that card in the channel's history and adopts it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.ops.failures import job_failed
from bot.slack.client import slack_error
from storage.models import AlertGroup
from storage.repository import Repository
from storage.stores.alerts import POSTING

log = logging.getLogger(__name__)

# 10% under Slack's figures: our clock starts a call before Slack counts it, and jitter between the
# two made the 51st call of a busy minute land inside Slack's window (one 429 in bench/alerts.py).
POST_PER_MINUTE_PER_CHANNEL = 54  # chat.postMessage: ~1/s per channel, bursts allowed
UPDATES_PER_MINUTE = 45  # chat.update: Tier 3 (50+/min)
POST_CLAIM_STALE = timedelta(seconds=60)
CARD_EVENT = "incident_bot_alert_card"  # the metadata event type on every card
HISTORY_PAGES = 5  # how far back (x 200 messages) a takeover looks for a card already posted


class SlidingWindow:
    """At most ``limit`` calls per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str = "") -> bool:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


class CardWorker:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        render: Callable[[AlertGroup], tuple[str, list[Block]]],
        clock: Callable[[], datetime],
        every: float = 2.0,
        poll: float = 0.25,
        bot_user_id: str = "",
    ) -> None:
        self.repo, self.client, self.render, self.clock = repo, client, render, clock
        self.bot_user_id = bot_user_id
        self.every = timedelta(seconds=every)
        self.poll = poll
        self.posts = SlidingWindow(POST_PER_MINUTE_PER_CHANNEL)
        self.updates = SlidingWindow(UPDATES_PER_MINUTE)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alert-cards", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                job_failed("alert-cards")
                self._stop.wait(1.0)

    def flush(self) -> int:
        """One pass over the groups whose card is missing or behind; returns the Slack calls made."""
        calls = 0
        stale_before = self.clock() - POST_CLAIM_STALE
        due = self.repo.cards_due(stale_before)
        # Missing cards first: a group nobody has seen matters more than a count.
        for group in sorted(due, key=lambda g: g.card_ts not in (None, POSTING)):
            assert group.id is not None
            now = self.clock()
            if group.card_ts is None or group.card_ts == POSTING:
                started = group.card_updated_at if group.card_ts == POSTING else None
                if started is not None and started >= stale_before:
                    continue  # another worker is posting it right now
                if not self.posts.allow(group.channel_id):
                    continue
                if not self.repo.claim_card_post(group.id, group.version, now, POST_CLAIM_STALE):
                    continue
                calls += 1
                self._post(group)
            else:
                if group.card_updated_at is not None and now - group.card_updated_at < self.every:
                    continue
                if not self.updates.allow():
                    continue
                if not self.repo.claim_card_update(group.id, group.version, now, self.every):
                    continue
                calls += 1
                self._update(group)
        return calls

    def _post(self, group: AlertGroup) -> None:
        assert group.id is not None
        if group.card_ts == POSTING:  # a worker died, or lost Slack's answer, while posting it
            found = self._posted_card(group)
            if found is not None:
                log.info("alert group %s: adopted its card %s, posted before a crash", group.id, found)
                self.repo.card_posted(group.id, found)
                return
        fresh = self.repo.alert_group(group.id) or group
        text, card = self.render(fresh)
        metadata = {"event_type": CARD_EVENT, "event_payload": {"alert_group": group.id}}
        try:
            resp = self.client.chat_postMessage(
                channel=group.channel_id, text=text, blocks=card, metadata=metadata
            )
        except SlackApiError as exc:  # Slack answered: nothing was posted
            log.warning("alert group %s: could not post its card: %s", group.id, slack_error(exc))
            self.repo.card_posted(group.id, None)
            return
        except Exception as exc:  # no answer: it may be there; the claim goes stale, then we look
            log.warning("alert group %s: no answer posting its card: %s", group.id, slack_error(exc))
            return
        self.repo.card_posted(group.id, resp["ts"])

    def _posted_card(self, group: AlertGroup) -> str | None:
        """The ts of this group's card if a previous attempt posted it (our bot, our metadata)."""
        claimed = group.card_updated_at or group.first_received_at
        oldest = f"{(claimed - timedelta(seconds=5)).timestamp():.6f}"
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                resp = self._history(group.channel_id, oldest, cursor)
                for m in resp.get("messages") or []:
                    meta = m.get("metadata") or {}
                    if (
                        m.get("user") == self.bot_user_id
                        and meta.get("event_type") == CARD_EVENT
                        and (meta.get("event_payload") or {}).get("alert_group") == group.id
                    ):
                        return str(m["ts"])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    return None
        except Exception as exc:
            log.warning(
                "alert group %s: could not look for its card (%s); posting it", group.id, slack_error(exc)
            )
        return None

    def _history(self, channel: str, oldest: str, cursor: str | None) -> Any:
        def read() -> Any:
            return self.client.conversations_history(
                channel=channel, oldest=oldest, limit=200, include_all_metadata=True, cursor=cursor
            )

        try:
            return read()
        except SlackApiError as exc:
            if slack_error(exc) != "not_in_channel":
                raise
        self.client.conversations_join(channel=channel)  # cards go out with chat:write.public
        return read()

    def _update(self, group: AlertGroup) -> None:
        assert group.id is not None and group.card_ts is not None
        fresh = self.repo.alert_group(group.id) or group
        text, card = self.render(fresh)
        try:
            self.client.chat_update(channel=group.channel_id, ts=group.card_ts, text=text, blocks=card)
        except Exception as exc:
            log.warning("alert group %s: could not update its card: %s", group.id, slack_error(exc))
            self.repo.card_update_failed(group.id)
