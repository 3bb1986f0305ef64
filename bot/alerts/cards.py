"""Keeping triage cards current without flooding Slack.

Intake only records and bumps the group's version; this worker posts missing cards and updates
stale ones: at most one ``chat.update`` per group per ``every`` seconds (a database claim, so
replicas share the budget), and within this process's share of Slack's limits (posts about one
per second per channel with short bursts, ``chat.update`` Tier 3).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.slack.client import slack_error
from storage.models import AlertGroup
from storage.repository import Repository

log = logging.getLogger(__name__)

# 10% under Slack's figures: our clock starts a call before Slack counts it, and jitter between the
# two made the 51st call of a busy minute land inside Slack's window (one 429 in bench/alerts.py).
POST_PER_MINUTE_PER_CHANNEL = 54  # chat.postMessage: ~1/s per channel, bursts allowed
UPDATES_PER_MINUTE = 45  # chat.update: Tier 3 (50+/min)
POST_CLAIM_STALE = timedelta(seconds=60)


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
    ) -> None:
        self.repo, self.client, self.render, self.clock = repo, client, render, clock
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
                log.exception("alert cards: a pass failed; trying again")
                self._stop.wait(1.0)

    def flush(self) -> int:
        """One pass over the groups whose card is missing or behind; returns the Slack calls made."""
        calls = 0
        due = self.repo.cards_due()
        # Missing cards first: a group nobody has seen matters more than a count.
        for group in sorted(due, key=lambda g: g.card_ts is not None):
            assert group.id is not None
            now = self.clock()
            if group.card_ts is None or group.card_ts == "posting":
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
        fresh = self.repo.alert_group(group.id) or group
        text, card = self.render(fresh)
        try:
            resp = self.client.chat_postMessage(channel=group.channel_id, text=text, blocks=card)
        except Exception as exc:
            log.warning("alert group %s: could not post its card: %s", group.id, slack_error(exc))
            self.repo.card_posted(group.id, None)
            return
        self.repo.card_posted(group.id, resp["ts"])

    def _update(self, group: AlertGroup) -> None:
        assert group.id is not None and group.card_ts is not None
        fresh = self.repo.alert_group(group.id) or group
        text, card = self.render(fresh)
        try:
            self.client.chat_update(channel=group.channel_id, ts=group.card_ts, text=text, blocks=card)
        except Exception as exc:
            log.warning("alert group %s: could not update its card: %s", group.id, slack_error(exc))
            self.repo.card_update_failed(group.id)
