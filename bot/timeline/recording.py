"""Recording incident channels: message events in, ``channel_messages`` rows out; reading
Slack's history back only for what was not recorded; heartbeats that say when we recorded."""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.client import slack_error
from bot.timeline.capture import IGNORED_SUBTYPES, message_row, ts_to_datetime
from bot.timeline.coverage import CRASH_MARGIN, HEARTBEAT_EVERY
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
    found: bool = True  # False: the thread's parent is gone


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
        kept = [m for m in messages if m.get("ts")]
        added, updated = self.repo.record_copies([message_row(channel, m, source="backfill") for m in kept])
        stats.added += added
        stats.updated += updated
        stats.messages.extend(kept)

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
            stats.found = False
        return stats


# Beats failing this many times in a row (a database outage, not one busy moment) make the time
# since the last beat written a gap.
OUTAGE_AFTER_FAILURES = 2


class Heartbeat:
    """Writes this process's heartbeat while ``alive()`` says it is processing events.

    ``alive`` is checked often; a stop is recorded at the last time it was seen alive, so the
    period after it counts as a gap to reconcile. A database outage is a gap too: while beats
    fail (``OUTAGE_AFTER_FAILURES`` in a row) this process records nothing it is sent, so the
    first beat after the outage ends the heartbeat (at the last beat before it, less
    ``CRASH_MARGIN`` for events still queued then) and starts a new one, and
    ``on_recovered(down_since, back_at)`` is called (on this thread).
    """

    CHECK_EVERY = 0.5

    def __init__(
        self,
        repo: Repository,
        alive: Callable[[], bool],
        on_recovered: Callable[[datetime, datetime], None] = lambda _since, _back: None,
    ) -> None:
        self.repo = repo
        self.alive = alive
        self.on_recovered = on_recovered
        self.instance_id = self._new_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _new_id() -> str:
        return f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"

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
        last_alive = last_written = last_try = utcnow()
        failed = 0  # beats failed in a row
        every = HEARTBEAT_EVERY.total_seconds()
        while not self._stop.wait(self.CHECK_EVERY):
            if not self.alive():
                break
            last_alive = utcnow()
            if (last_alive - last_try).total_seconds() < every:
                continue
            last_try = last_alive
            outage = failed >= OUTAGE_AFTER_FAILURES
            try:
                if outage:
                    self._resume(last_written, last_alive)
                else:
                    self.repo.beat(self.instance_id, last_alive)
            except Exception as exc:
                failed += 1
                if failed == OUTAGE_AFTER_FAILURES:
                    log.warning(
                        "heartbeat not written: %s; nothing is recorded until it is", type(exc).__name__
                    )
                continue
            since, last_written, failed = last_written, last_alive, 0
            if outage:
                try:
                    self.on_recovered(since, last_alive)
                except Exception:
                    log.exception("the repair after the outage failed; the next start reads the gap")
        try:
            self.repo.beat(self.instance_id, last_alive, stopped=True)
        except Exception as exc:
            log.info("final heartbeat not written: %s", type(exc).__name__)

    def _resume(self, down_since: datetime, now: datetime) -> None:
        new_id = self._new_id()
        self.repo.restart_heartbeat(self.instance_id, down_since - CRASH_MARGIN, new_id, now)
        self.instance_id = new_id
