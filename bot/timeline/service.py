"""Timeline capture: messages become timeline events through reactions, pins and the shortcut.

Every change is a mark (kind, reaction, user) on the event of one message; marks are applied in
Slack-time order and unique in the database, so replays, retries and races end in one state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.incidents.vocabulary import imported_from, incident_ref
from bot.ops.failures import job_failed
from bot.ops.metrics import EVENTS_CAPTURED
from bot.slack.permalinks import Permalinks
from bot.slack.text import to_plain
from bot.timeline import capture, coverage
from bot.timeline.confirm import Confirmer
from bot.timeline.reconcile import RECONCILE_COUNTS, Reconciler, recovered
from bot.timeline.recording import Heartbeat, MessageChange, Recorder
from storage.models import ChannelMessage, Incident, TimelineEvent, utcnow
from storage.repository import Repository
from storage.stores.timeline import MarkChange

log = logging.getLogger(__name__)

PIN, SHORTCUT = capture.PIN, capture.SHORTCUT
TIMELINE_KIND = "timeline"


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
        on_new_message: Callable[[Incident, ChannelMessage], None] = lambda _incident, _message: None,
        links: Permalinks | None = None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.bot_user_id = bot_user_id
        # A message newly shown as an action item (bot.followups offers its ticket; never raises).
        self.on_action_item = on_action_item
        # A person's new message in an incident channel (the workflow rules' `message`; never raises).
        self.on_new_message = on_new_message
        self.recorder = Recorder(repo, client, settings.config.history_page_size)
        self.heartbeat: Heartbeat | None = None
        self.incidents = ChannelIncidents(repo.incident_by_channel)
        self.links = links or Permalinks(client)
        config = settings.config
        self.confirmer = Confirmer(
            client, lambda: config.confirm_reaction, lambda: config.confirm_per_minute, self.links
        )
        self.reconciler = Reconciler(self)

    @property
    def reactions(self) -> Mapping[str, str]:
        return self.settings.config.reactions

    def kind_of(self, reaction: str) -> str | None:
        return capture.kind_for(reaction, self.reactions)

    @staticmethod
    def plain(text: str) -> str:
        """The stored plain text of a message (what search indexes): Slack's markup as words, the
        people and channels it mentions by their ids (``@U1``, ``#C1`` unless Slack sent a label).
        Names are looked up where the text is shown (``Directory.readable``), so capturing a
        message asks Slack nothing."""
        return to_plain(text)

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
        elif change.action == "recorded" and change.message is not None:
            msg = change.message
            if msg.user_id and not msg.bot_id and not msg.subtype and msg.user_id != self.bot_user_id:
                self.on_new_message(incident, msg)
        return change

    def record_copy(self, channel_id: str, message: Mapping[str, Any]) -> None:
        """Record a message Slack sent along with a shortcut, if we have not got it yet (a pin's
        copy is not used: it comes without the message's files)."""
        if message.get("ts") and self.repo.channel_message(channel_id, str(message["ts"])) is None:
            self.repo.record_message(capture.message_row(channel_id, message))

    # -- capture ---------------------------------------------------------------------------------
    def _message(self, channel_id: str, ts: str) -> ChannelMessage | None:
        """The recorded message; fetched from Slack (exactly that ts) only if it was never recorded."""
        msg = self.repo.channel_message(channel_id, ts)
        if msg is None and self.recorder.fetch_exact(channel_id, ts) is not None:
            msg = self.repo.channel_message(channel_id, ts)
        return msg

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
                permalink=self.links(incident.channel_id, msg.ts, msg.thread_ts),
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
        confirm: bool = True,
    ) -> Capture | None:
        """Add or remove one mark on a message's event; confirm visibly when it appears/disappears
        (unless ``confirm`` is False: the caller confirms a batch).

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
        if confirm and change.visibility is not None and incident.channel_id and not event.source_deleted:
            self.confirmer.one(incident.channel_id, (ts, event.thread_ts), add=change.visibility == "shown")
        if kind == "action_item" and change.visibility == "shown" and not event.source_deleted:
            self.on_action_item(incident, event)
        return Capture(event, change)

    def post_item(self, incident: Incident, text: str, kind: str) -> TimelineEvent | None:
        """The bot posts ``text`` in the incident channel and puts it on the timeline as ``kind``
        (an ``action_item`` is offered its ticket like any other). None without a channel."""
        assert incident.id is not None
        channel = incident.channel_id
        if not channel:
            return None
        posted = self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        self.repo.record_message(capture.message_row(channel, posted["message"]))
        ts = str(posted["ts"])
        done = self.mark(
            incident,
            ts,
            kind,
            "workflow",
            self.bot_user_id or "USLACKBOT",
            active=True,
            changed_ts=ts,
            source="automatic",
            confirm=False,
        )
        return done.event if done is not None else None

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
        count = self.reconciler.backfill(incident, now)
        self.repo.add_recorded_window(
            incident.channel_id, datetime.fromtimestamp(0, now.tzinfo), now, "backfill"
        )
        return count

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
        if imported_from(incident.dedupe_key, incident.channel_name):
            return counts  # recorded from an export: no live channel to read back
        now = utcnow()
        gaps = [(recheck_since, now)] if recheck_since is not None else self.gaps(incident, now)
        if not gaps:
            return counts
        # A gap (nobody recorded) is read thoroughly; a periodic recheck of a recorded period only
        # looks for what Slack dropped: no re-read of every known thread or timeline message.
        read = self.reconciler.reconcile(incident, gaps, recheck_since is None, now)
        for start, end in gaps:
            self.repo.add_recorded_window(incident.channel_id, start, end, "reconcile")
        why = "While I was away" if recheck_since is None else "Found on re-reading the channel"
        self.confirmer.many(incident.channel_id, read.shown, read.hidden, why)
        counts = read.counts
        log.info(
            "INC-%s: read %d unrecorded period(s) back; %s", incident.number, len(gaps), recovered(counts)
        )
        return counts

    # -- background ------------------------------------------------------------------------------
    def start_background(self, alive: Callable[[], bool]) -> None:
        """Heartbeats while ``alive()``, then (in the background) catch up on the incidents."""
        if self.heartbeat is not None:
            return
        self.heartbeat = Heartbeat(self.repo, alive, on_recovered=self._after_outage)
        threading.Thread(target=lambda: self.links.base, name="workspace-url", daemon=True).start()
        self.heartbeat.start()
        threading.Thread(target=self.catch_up, name="timeline-catch-up", daemon=True).start()

    def catch_up(self, sleep: Callable[[float], object] = time.sleep) -> None:
        """Reconcile every open or recently closed incident, then apply retention. Failures are
        logged, never raised.

        A predecessor killed just before this start still looks alive (its last beat is recent),
        so it hides the gap it left; once its beat is older than ALIVE_GRACE it is known to be
        gone, and the incidents are reconciled again (a live replica's beat stays fresh, so
        that second pass finds no gap and reads nothing).
        """
        self.repair("start-up")
        wait = self._predecessor_wait()
        if wait is not None:
            sleep(wait)
            self.repair("start-up, once the previous process was known gone")
        try:
            purged = self.purge_expired()
            if purged:
                log.info("retention: purged %d recorded messages", purged)
        except Exception:
            job_failed("retention-purge")

    def _after_outage(self, down_since: datetime, back_at: datetime) -> None:
        """The heartbeat is written again after a database outage: read its gap back, off the
        heartbeat's thread."""
        seconds = (back_at - down_since).total_seconds()
        why = f"the database was unreachable for about {seconds:.0f} s"
        threading.Thread(target=self.repair, args=(why,), name="timeline-repair", daemon=True).start()

    def repair(self, why: str) -> dict[str, int]:
        """Read back from Slack the gaps of every open incident and of those closed within
        ``[documents] repair_closed_days`` (what no process recorded: downtime, database outages);
        logs what was recovered from history. A closed incident whose timeline changed gets its
        document regenerated by the scheduler (``PostmortemService.catch_up``)."""
        days = self.settings.config.documents.repair_closed_days
        total = dict.fromkeys(RECONCILE_COUNTS, 0)
        try:
            incidents = list(self.repo.incidents_to_repair(utcnow() - timedelta(days=days) if days else None))
        except Exception as exc:
            log.warning("catch-up skipped (%s): %s", why, type(exc).__name__)
            return total
        for incident in incidents:
            try:
                counts = self.reconcile(incident)
            except Exception:
                job_failed("timeline-catch-up", f"INC-{incident.number}")
                continue
            for key, n in counts.items():
                total[key] += n
        if total["history_calls"]:
            log.info("catch-up after %s: %d incident(s) checked; %s", why, len(incidents), recovered(total))
        return total

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

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete recorded messages of incidents closed more than ``retention_days`` ago."""
        days = self.settings.config.retention_days
        if days is None:
            return 0
        cutoff = (now or utcnow()) - timedelta(days=days)
        return self.repo.purge_channel_messages(self.repo.channels_closed_before(cutoff))
