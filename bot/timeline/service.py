"""Timeline capture: messages become timeline events through reactions, pins and the shortcut.

Every change is a mark (kind, reaction, user) on the event of one message; marks are applied in
Slack-time order and unique in the database, so replays, retries and races end in one state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.ops.metrics import EVENTS_CAPTURED
from bot.slack.client import slack_error
from bot.slack.text import to_plain
from bot.timeline import capture, coverage
from bot.timeline.recording import Heartbeat, MessageChange, Recorder
from storage.models import ChannelMessage, Incident, TimelineEvent, utcnow
from storage.repository import Repository
from storage.stores.timeline import MarkChange

log = logging.getLogger(__name__)

PIN = "pin"  # the `reaction` of a mark made by Slack's native pin
SHORTCUT = "shortcut"  # … and by the "Add to timeline" message shortcut
TIMELINE_KIND = "timeline"
# Catch-up asks Slack for the reactions of this many recorded messages before each gap (the gap
# itself is read whole); a periodic recheck for this many before its window.
RECENT_MESSAGES = 50
RECHECK_RECENT_MESSAGES = 20
NAME_TTL = 600.0


class NameCache:
    """User and channel names for plain-text renderings, via users.info / conversations.info."""

    def __init__(self, lookup_user: Callable[[str], str | None], lookup_channel: Callable[[str], str | None]):
        self._lookups = {"user": lookup_user, "channel": lookup_channel}
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def _get(self, what: str, key: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get((what, key))
        if hit is not None and now - hit[0] < NAME_TTL:
            return hit[1]
        value = self._lookups[what](key)
        with self._lock:
            if len(self._cache) > 2000:
                self._cache.clear()
            self._cache[(what, key)] = (now, value)
        return value

    def user(self, user_id: str) -> str | None:
        return self._get("user", user_id)

    def channel(self, channel_id: str) -> str | None:
        return self._get("channel", channel_id)


class ChannelIncidents:
    """channel id → its active incident, remembered for a while: the capture hot path asks for
    every event. An incident channel stays one, so a hit is kept ``ttl`` seconds; a miss is only
    reused within ``negative_ttl`` given by the caller (a channel may become an incident's)."""

    def __init__(self, lookup: Callable[[str], Incident | None], ttl: float = 30.0) -> None:
        self.lookup = lookup
        self.ttl = ttl
        self._known: dict[str, tuple[float, Incident | None]] = {}
        self._lock = threading.Lock()

    def get(self, channel_id: str, negative_ttl: float = 0.0) -> Incident | None:
        now = time.monotonic()
        with self._lock:
            hit = self._known.get(channel_id)
        if hit is not None and now - hit[0] < (self.ttl if hit[1] is not None else negative_ttl):
            return hit[1]
        incident = self.lookup(channel_id)
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[channel_id] = (now, incident)
        return incident


RECONCILE_COUNTS = (
    "history_calls",
    "replies_calls",
    "messages_added",
    "messages_updated",
    "events_added",
    "events_hidden",
)


@dataclass
class _Reading:
    """One reconcile pass: the gaps it reads, its counts, and the messages read so far (by ts)."""

    channel: str
    gaps: list[coverage.Interval]
    thorough: bool
    counts: dict[str, int]
    fresh: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Capture:
    event: TimelineEvent
    change: MarkChange


class TimelineService:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        bot_user_id: str = "",
        *,
        on_action_item: Callable[[Incident, TimelineEvent], None] = lambda _incident, _event: None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.bot_user_id = bot_user_id
        # A message newly shown as an action item (bot.followups offers its ticket; never raises).
        self.on_action_item = on_action_item
        self.recorder = Recorder(repo, client, settings.config.history_page_size)
        self.names = NameCache(self._user_name, self._channel_name)
        self.heartbeat: Heartbeat | None = None
        self.incidents = ChannelIncidents(repo.incident_by_channel)

    @property
    def reactions(self) -> Mapping[str, str]:
        return self.settings.config.reactions

    def kind_of(self, reaction: str) -> str | None:
        return capture.kind_for(reaction, self.reactions)

    # -- names -------------------------------------------------------------------------------
    def _user_name(self, user_id: str) -> str | None:
        try:
            user = self.client.users_info(user=user_id)["user"]
        except Exception as exc:
            log.info("users.info %s failed: %s", user_id, slack_error(exc))
            return None
        profile = user.get("profile") or {}
        return profile.get("display_name") or user.get("real_name") or user.get("name")

    def _channel_name(self, channel_id: str) -> str | None:
        try:
            return str(self.client.conversations_info(channel=channel_id)["channel"]["name"])
        except Exception as exc:
            log.info("conversations.info %s failed: %s", channel_id, slack_error(exc))
            return None

    def plain(self, text: str) -> str:
        return to_plain(text, self.names.user, self.names.channel)

    # -- recording -------------------------------------------------------------------------------
    def on_message(
        self, incident: Incident, event: Mapping[str, Any], claim_key: str | None = None
    ) -> MessageChange:
        """Record a message event; a captured message's edit or deletion follows on the timeline."""
        change = self.recorder.on_message_event(event, claim_key)
        assert incident.id is not None
        if change.action == "edited" and change.message is not None:
            msg = change.message
            if self.repo.event_for_message(incident.id, msg.ts) is not None:
                self.repo.update_event_text(
                    incident.id, msg.ts, msg.text, self.plain(msg.text), msg.edited_at
                )
        elif change.action == "deleted":
            self.repo.hide_deleted_source(incident.id, change.ts)
        return change

    def record_copy(self, channel_id: str, message: Mapping[str, Any]) -> None:
        """Record a message Slack sent along with a pin or shortcut, if we have not got it yet."""
        if message.get("ts") and self.repo.channel_message(channel_id, str(message["ts"])) is None:
            self.repo.record_message(capture.message_row(channel_id, message))

    # -- capture ---------------------------------------------------------------------------------
    def _message(self, channel_id: str, ts: str) -> ChannelMessage | None:
        """The recorded message; fetched from Slack (exactly that ts) only if it was never recorded."""
        msg = self.repo.channel_message(channel_id, ts)
        if msg is None and self.recorder.fetch_exact(channel_id, ts) is not None:
            msg = self.repo.channel_message(channel_id, ts)
        return msg

    def _permalink(self, channel_id: str, ts: str) -> str | None:
        try:
            return str(self.client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"])
        except Exception as exc:
            log.info("chat.getPermalink %s failed: %s", ts, slack_error(exc))
            return None

    def _event(self, incident: Incident, ts: str, kind: str, actor: str, source: str) -> TimelineEvent | None:
        """The message's event, created (hidden until marked) from the recorded message."""
        assert incident.id is not None and incident.channel_id is not None
        msg = self._message(incident.channel_id, ts)
        if msg is None or msg.deleted:
            log.info("INC-%s: message %s not found; not captured", incident.number, ts)
            return None
        return self.repo.ensure_message_event(
            TimelineEvent(
                incident_id=incident.id,
                at=capture.ts_to_datetime(msg.ts),
                source=source,
                kind=kind,
                text=msg.text,
                plain_text=self.plain(msg.text),
                author_id=msg.user_id,
                actor_id=actor,
                message_ts=msg.ts,
                thread_ts=msg.thread_ts if msg.thread_ts and msg.thread_ts != msg.ts else None,
                permalink=self._permalink(incident.channel_id, msg.ts),
                files=msg.files,
                edited_at=msg.edited_at,
            )
        )

    def mark(
        self,
        incident: Incident,
        ts: str,
        kind: str,
        reaction: str,
        user_id: str,
        *,
        active: bool,
        changed_ts: str,
        source: str = "reaction",
        claim_key: str | None = None,
    ) -> Capture | None:
        """Add or remove one mark on a message's event; confirm visibly when it appears/disappears.

        With ``claim_key`` (the delivery), claiming it and applying the mark are one unit of work;
        None when the delivery was already handled or the message cannot be found.
        """
        assert incident.id is not None
        event, change = self.repo.mark_message(
            incident.id, ts, kind, reaction, user_id, active, changed_ts, claim_key
        )
        if event is None:
            if self._event(incident, ts, kind, user_id, source) is None:
                return None
            event, change = self.repo.mark_message(
                incident.id, ts, kind, reaction, user_id, active, changed_ts, claim_key
            )
        if event is None or change.duplicate:
            return None
        if change.visibility == "shown":
            EVENTS_CAPTURED.labels(source).inc()
        if change.visibility is not None and incident.channel_id and not event.source_deleted:
            self._confirm(incident.channel_id, ts, add=change.visibility == "shown")
        if kind == "action_item" and change.visibility == "shown" and not event.source_deleted:
            self.on_action_item(incident, event)
        return Capture(event, change)

    def add_from_shortcut(
        self, incident: Incident, channel_id: str, message: Mapping[str, Any], user_id: str, action_ts: Any
    ) -> str:
        """The "Add to timeline" message shortcut; the answer for the person who ran it."""
        self.record_copy(channel_id, message)
        ts = str(message["ts"])
        done = self.mark(
            incident,
            ts,
            TIMELINE_KIND,
            SHORTCUT,
            user_id,
            active=True,
            changed_ts=str(action_ts or ts),
            source="shortcut",
        )
        ref = incident_ref(incident)
        if done is None:
            return "That message could not be found."
        if done.change.visibility == "shown":
            return f"Added to the {ref} timeline."
        return f"That message is already on the {ref} timeline."

    def _confirm(self, channel_id: str, ts: str, add: bool) -> None:
        name = self.settings.config.confirm_reaction
        try:
            if add:
                self.client.reactions_add(channel=channel_id, timestamp=ts, name=name)
            else:
                self.client.reactions_remove(channel=channel_id, timestamp=ts, name=name)
        except SlackApiError as exc:
            if slack_error(exc) not in ("already_reacted", "no_reaction", "message_not_found"):
                log.warning(
                    "could not %s the confirm reaction: %s", "add" if add else "remove", slack_error(exc)
                )

    def on_reaction(
        self,
        incident: Incident,
        ts: str,
        reaction: str,
        user_id: str,
        added: bool,
        event_ts: str,
        claim_key: str | None = None,
    ) -> None:
        kind = self.kind_of(reaction)
        if kind is None:
            return
        name = capture.reaction_name(reaction)
        self.mark(incident, ts, kind, name, user_id, active=added, changed_ts=event_ts, claim_key=claim_key)

    # -- catch-up --------------------------------------------------------------------------------
    def backfill_channel(self, incident: Incident) -> int:
        """Record an existing channel's history (threads too) and capture its reactions."""
        assert incident.channel_id is not None
        now = utcnow()
        channel = incident.channel_id
        stats = self.recorder.read_history(channel)
        messages = list(stats.messages)
        for m in stats.messages:
            if m.get("reply_count"):
                messages += self.recorder.read_thread(channel, str(m["ts"])).messages
        observed_ts = capture.datetime_to_ts(now)
        for m in messages:
            self._sync_message(incident, m, observed_ts)
        self.repo.add_recorded_window(channel, datetime.fromtimestamp(0, now.tzinfo), now, "backfill")
        return len(messages)

    def gaps(self, incident: Incident, now: datetime | None = None) -> list[coverage.Interval]:
        """Periods of the incident's channel that no bot process recorded and nothing reconciled."""
        assert incident.channel_id is not None
        now = now or utcnow()
        covered = [
            i
            for hb in self.repo.heartbeats(since=incident.created_at - coverage.ALIVE_GRACE)
            if (i := coverage.heartbeat_interval(hb, now))
        ]
        covered += [(w.start, w.end) for w in self.repo.recorded_windows(incident.channel_id)]
        return coverage.gaps((incident.created_at, now), covered)

    def reconcile(self, incident: Incident, recheck_since: datetime | None = None) -> dict[str, int]:
        """Fill only the gaps: messages, replies, edits and reactions made while no bot recorded.

        ``recheck_since`` treats everything since then as a gap: deliveries Slack dropped while a
        bot was up leave no gap in the heartbeats, only a re-read finds them.
        """
        counts = dict.fromkeys(RECONCILE_COUNTS, 0)
        if incident.channel_id is None or incident.id is None:
            return counts
        now = utcnow()
        gaps = [(recheck_since, now)] if recheck_since is not None else self.gaps(incident, now)
        if not gaps:
            return counts
        # A gap (nobody recorded) is read thoroughly; a periodic recheck of a recorded period only
        # looks for what Slack dropped, within a bounded number of calls: no re-read of every
        # known thread, and the current state of the messages just before its window only.
        thorough = recheck_since is None
        known_roots = set(self.repo.thread_roots(incident.channel_id)) if thorough else set()
        read = _Reading(incident.channel_id, gaps, thorough, counts)
        self._read_gaps(read, known_roots)
        current = self._read_candidates(incident, read)
        self._read_revealed_threads(read, current, known_roots)
        observed_ts = capture.datetime_to_ts(now)
        for msg in read.fresh.values():
            self._sync_message(incident, msg, observed_ts, counts)
        for start, end in gaps:
            self.repo.add_recorded_window(incident.channel_id, start, end, "reconcile")
        log.info("INC-%s reconciled %d gap(s): %s", incident.number, len(gaps), counts)
        return counts

    def _read_threads(self, read: _Reading, roots: set[str], start: datetime, end: datetime) -> None:
        """The replies posted within one gap, of each thread whose parent is older than its end."""
        oldest, latest = capture.datetime_to_ts(start), capture.datetime_to_ts(end)
        for root in sorted(r for r in roots if capture.ts_to_datetime(r) <= end):
            thread = self.recorder.read_thread(read.channel, root, oldest, latest)
            read.counts["replies_calls"] += thread.calls
            self._count(read.counts, thread.added, thread.updated)
            read.fresh.update({str(m["ts"]): m for m in thread.messages})

    def _read_gaps(self, read: _Reading, known_roots: set[str]) -> None:
        """Each gap's history, and the replies of known threads and of threads listed in it."""
        for start, end in read.gaps:
            stats = self.recorder.read_history(
                read.channel, capture.datetime_to_ts(start), capture.datetime_to_ts(end)
            )
            read.counts["history_calls"] += stats.calls
            self._count(read.counts, stats.added, stats.updated)
            read.fresh.update({str(m["ts"]): m for m in stats.messages})
            listed = {str(m["ts"]) for m in stats.messages if m.get("reply_count")}
            self._read_threads(read, known_roots | listed, start, end)

    def _read_candidates(self, incident: Incident, read: _Reading) -> list[dict[str, Any]]:
        """The current state (reactions.get) of recorded messages a gap's history does not show but
        that may have changed during it: the ones shown on the timeline (unreacted, edited,
        deleted) and the ones just before each gap (reacted to). A message read in this pass, or
        hidden from the timeline and older than those, is not asked for."""
        assert incident.id is not None
        candidates: set[str] = set()
        if read.thorough:
            candidates = {
                e.message_ts for e in self.repo.message_events(incident.id) if e.message_ts and not e.hidden
            }
        limit = RECENT_MESSAGES if read.thorough else RECHECK_RECENT_MESSAGES
        for start, _end in read.gaps:
            recent = self.repo.recent_messages(read.channel, capture.datetime_to_ts(start), limit)
            candidates |= {m.ts for m in recent}
        current: list[dict[str, Any]] = []
        for ts in sorted(candidates - read.fresh.keys()):
            msg = self._current(incident, ts, read.counts)
            if msg is not None:
                read.fresh[ts] = msg
                current.append(msg)
        return current

    def _read_revealed_threads(
        self, read: _Reading, current: list[dict[str, Any]], known_roots: set[str]
    ) -> None:
        """A message from before a gap that got its first replies during it: its current state
        (latest_reply) is the only sign of them, as history lists threads by their parent's ts."""
        for start, end in read.gaps:
            revealed = {
                str(m["ts"])
                for m in current
                if m.get("reply_count") and capture.ts_to_datetime(str(m.get("latest_reply") or "0")) >= start
            }
            self._read_threads(read, revealed - known_roots, start, end)

    @staticmethod
    def _count(counts: dict[str, int], added: int, updated: int) -> None:
        counts["messages_added"] += added
        counts["messages_updated"] += updated

    def _current(self, incident: Incident, ts: str, counts: dict[str, int]) -> dict[str, Any] | None:
        """A recorded message as Slack has it now (reactions, edits), via reactions.get."""
        assert incident.channel_id is not None and incident.id is not None
        channel = incident.channel_id
        try:
            msg = dict(self.client.reactions_get(channel=channel, timestamp=ts, full=True)["message"])
        except SlackApiError as exc:
            if slack_error(exc) == "message_not_found":
                self.repo.mark_message_deleted(channel, ts)
                if self.repo.hide_deleted_source(incident.id, ts):
                    counts["events_hidden"] += 1
            else:
                log.info("reactions.get %s failed: %s", ts, slack_error(exc))
            return None
        row = capture.message_row(channel, msg, source="backfill")
        result = self.repo.record_message(row, overwrite=True)
        self._count(counts, result.added, result.updated)
        return msg

    def _sync_message(
        self,
        incident: Incident,
        msg: Mapping[str, Any],
        observed_ts: str,
        counts: dict[str, int] | None = None,
    ) -> None:
        """Make the timeline event of one message match what Slack shows: its text (edited while
        no bot recorded) and its reaction marks."""
        assert incident.id is not None
        ts = str(msg["ts"])
        bot = self.bot_user_id
        observed = {r for r in capture.reactors(msg.get("reactions") or [], self.reactions) if r[2] != bot}
        event = self.repo.event_for_message(incident.id, ts)
        marked: set[tuple[str, str, str]] = set()
        if event is not None and event.text != str(msg.get("text") or ""):
            row = capture.message_row(incident.channel_id or "", msg)
            self.repo.update_event_text(incident.id, ts, row.text, self.plain(row.text), row.edited_at)
        if event is not None and event.id is not None:
            marked = {
                (m.kind, m.reaction, m.user_id)
                for m in self.repo.marks([event.id])
                if m.reaction not in (PIN, SHORTCUT)
            }
        changes = [(r, True) for r in sorted(observed - marked)] + [
            (r, False) for r in sorted(marked - observed)
        ]
        for (kind, reaction, user), active in changes:
            done = self.mark(incident, ts, kind, reaction, user, active=active, changed_ts=observed_ts)
            if counts is not None and done is not None and done.change.visibility is not None:
                counts["events_added" if done.change.visibility == "shown" else "events_hidden"] += 1

    # -- background ------------------------------------------------------------------------------
    def start_background(self, alive: Callable[[], bool]) -> None:
        """Heartbeats while ``alive()``, then (in the background) catch up on open incidents."""
        if self.heartbeat is not None:
            return
        self.heartbeat = Heartbeat(self.repo, alive)
        self.heartbeat.start()
        threading.Thread(target=self.catch_up, name="timeline-catch-up", daemon=True).start()

    def catch_up(self, sleep: Callable[[float], object] = time.sleep) -> None:
        """Reconcile every open incident, then apply retention. Failures are logged, never raised.

        A predecessor killed just before this start still looks alive (its last beat is recent),
        so it hides the gap it left; once its beat is older than ALIVE_GRACE it is known to be
        gone, and every open incident is reconciled again (a live replica's beat stays fresh, so
        that second pass finds no gap and reads nothing).
        """
        self._reconcile_open()
        wait = self._predecessor_wait()
        if wait is not None:
            sleep(wait)
            self._reconcile_open()
        try:
            purged = self.purge_expired()
            if purged:
                log.info("retention: purged %d recorded messages", purged)
        except Exception:
            log.exception("retention purge failed")

    def _predecessor_wait(self, now: datetime | None = None) -> float | None:
        """Seconds until every other process that looks alive now would be known gone, if any."""
        mine = self.heartbeat.instance_id if self.heartbeat is not None else None
        now = now or utcnow()
        try:
            others = [
                hb.last_seen
                for hb in self.repo.heartbeats(since=now - coverage.ALIVE_GRACE)
                if hb.instance_id != mine and hb.stopped_at is None
            ]
        except Exception as exc:
            log.warning("heartbeats not read: %s", type(exc).__name__)
            return None
        if not others:
            return None
        until = max(others) + coverage.ALIVE_GRACE + coverage.HEARTBEAT_EVERY / 6
        return max(0.0, (until - now).total_seconds())

    def _reconcile_open(self) -> None:
        try:
            incidents = list(self.repo.open_incidents())
        except Exception as exc:
            log.warning("catch-up skipped: %s", type(exc).__name__)
            return
        for incident in incidents:
            try:
                self.reconcile(incident)
            except Exception:
                log.exception("INC-%s: catch-up failed", incident.number)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete recorded messages of incidents closed more than ``retention_days`` ago."""
        days = self.settings.config.retention_days
        if days is None:
            return 0
        cutoff = (now or utcnow()) - timedelta(days=days)
        return self.repo.purge_channel_messages(self.repo.channels_closed_before(cutoff))
