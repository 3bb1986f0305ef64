"""Recording incident channels: message events in, ``channel_messages`` rows out; reading
Slack's history back only for what was not recorded; heartbeats that say when we recorded."""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.client import slack_error
from bot.timeline.capture import IGNORED_SUBTYPES, message_row, ts_to_datetime
from bot.timeline.coverage import HEARTBEAT_EVERY
from storage.models import ChannelMessage, utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessageChange:
    """What a message event did to the record, for the timeline to follow."""

    action: str  # recorded | edited | deleted | ignored | duplicate
    ts: str = ""
    message: ChannelMessage | None = None


@dataclass
class ReadStats:
    calls: int = 0
    added: int = 0
    updated: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)


class Recorder:
    def __init__(self, repo: Repository, client: WebClient, page_size: int) -> None:
        self.repo = repo
        self.client = client
        self.page_size = page_size

    def on_message_event(self, event: Mapping[str, Any], claim_key: str | None = None) -> MessageChange:
        """Store one ``message`` event of an incident channel (any subtype that changes the record).

        ``claim_key`` claims the delivery with the new or edited message (not with a deletion).
        """
        channel = str(event.get("channel") or "")
        subtype = event.get("subtype")
        if subtype == "message_changed":
            msg = event.get("message") or {}
            if not msg.get("ts"):
                return MessageChange("ignored")
            row = message_row(channel, msg)
            if self.repo.record_message(row, claim_key=claim_key).duplicate:
                return MessageChange("duplicate", row.ts)
            return MessageChange("edited", row.ts, row)
        if subtype == "message_deleted":
            ts = str(event.get("deleted_ts") or "")
            if not ts:
                return MessageChange("ignored")
            self.repo.mark_message_deleted(channel, ts, ts_to_datetime(str(event.get("event_ts") or ts)))
            return MessageChange("deleted", ts)
        if subtype in IGNORED_SUBTYPES or not event.get("ts"):
            return MessageChange("ignored")
        row = message_row(channel, event)
        if self.repo.record_message(row, claim_key=claim_key).duplicate:
            return MessageChange("duplicate", row.ts)
        return MessageChange("recorded", row.ts, row)

    # -- reading Slack back ---------------------------------------------------------------------
    def fetch_exact(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message whose ts is exactly ``ts``, top-level or thread reply, recorded; else None."""
        try:
            resp = self.client.conversations_history(
                channel=channel, oldest=ts, latest=ts, inclusive=True, limit=1
            )
            found = next((m for m in resp.get("messages") or [] if m.get("ts") == ts), None)
            if found is None:
                resp = self.client.conversations_replies(
                    channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=2
                )
                found = next((m for m in resp.get("messages") or [] if m.get("ts") == ts), None)
        except SlackApiError as exc:
            log.info("could not fetch message %s in %s: %s", ts, channel, slack_error(exc))
            return None
        if found is not None:
            self.repo.record_message(message_row(channel, found, source="backfill"), overwrite=True)
        return found

    def _pages(self, call: Callable[..., Any], **args: Any) -> Iterator[dict[str, Any]]:
        """Every page of a cursor-paginated method (the client's retry handlers wait out 429s)."""
        cursor = ""
        while True:
            extra = {"cursor": cursor} if cursor else {}
            page = call(limit=self.page_size, **args, **extra).data
            assert isinstance(page, dict)
            yield page
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return

    def _store(self, channel: str, messages: list[dict[str, Any]], stats: ReadStats) -> None:
        for m in messages:
            if not m.get("ts"):
                continue
            result = self.repo.record_message(message_row(channel, m, source="backfill"), overwrite=True)
            stats.added += result.added
            stats.updated += result.updated
            stats.messages.append(m)

    def read_history(self, channel: str, oldest: str | None = None, latest: str | None = None) -> ReadStats:
        """conversations.history between two ts (inclusive), every page, every message recorded."""
        stats = ReadStats()
        bounds: dict[str, Any] = {"inclusive": True}
        if oldest:
            bounds["oldest"] = oldest
        if latest:
            bounds["latest"] = latest
        for page in self._pages(self.client.conversations_history, channel=channel, **bounds):
            stats.calls += 1
            self._store(channel, page.get("messages") or [], stats)
        return stats

    def read_thread(
        self, channel: str, thread_ts: str, oldest: str | None = None, latest: str | None = None
    ) -> ReadStats:
        """conversations.replies of one thread (the parent is skipped), every page."""
        stats = ReadStats()
        bounds: dict[str, Any] = {"inclusive": True}
        if oldest:
            bounds["oldest"] = oldest
        if latest:
            bounds["latest"] = latest
        try:
            for page in self._pages(
                self.client.conversations_replies, channel=channel, ts=thread_ts, **bounds
            ):
                stats.calls += 1
                replies = [m for m in page.get("messages") or [] if m.get("ts") != thread_ts]
                self._store(channel, replies, stats)
        except SlackApiError as exc:
            if slack_error(exc) != "thread_not_found":
                raise
            stats.calls += 1
        return stats


class Heartbeat:
    """Writes this process's heartbeat while ``alive()`` says it is processing events.

    ``alive`` is checked often; a stop is recorded at the last time it was seen alive, so the
    period after it counts as a gap to reconcile.
    """

    CHECK_EVERY = 0.5

    def __init__(self, repo: Repository, alive: Callable[[], bool]) -> None:
        self.repo = repo
        self.alive = alive
        self.instance_id = f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Beat once now (so this process covers its whole run), then keep beating in a thread."""
        try:
            self.repo.beat(self.instance_id, utcnow())
        except Exception as exc:
            log.warning("heartbeat not written: %s", type(exc).__name__)
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        last_alive = last_written = utcnow()
        every = HEARTBEAT_EVERY.total_seconds()
        while not self._stop.wait(self.CHECK_EVERY):
            if not self.alive():
                break
            last_alive = utcnow()
            if (last_alive - last_written).total_seconds() >= every:
                try:
                    self.repo.beat(self.instance_id, last_alive)
                    last_written = last_alive
                except Exception as exc:
                    log.warning("heartbeat not written: %s", type(exc).__name__)
        try:
            self.repo.beat(self.instance_id, last_alive, stopped=True)
        except Exception as exc:
            log.info("final heartbeat not written: %s", type(exc).__name__)
