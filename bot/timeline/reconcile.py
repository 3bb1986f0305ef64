"""Catch-up: read back from Slack what no bot process recorded, at the fewest Web API calls.

State is re-read from ``conversations.history`` pages (each message carries its reactions, edits,
``reply_count`` and ``latest_reply``) over a window per gap: the gap itself, reaching back over
the recorded messages whose state matters (the ones on the timeline, the recent ones before the
gap, thread parents) as long as that costs fewer pages than asking for them one by one.
``conversations.replies`` reads only threads whose ``latest_reply`` falls in a gap, threads too
old for the window, and threads holding replies on the timeline. ``reactions.get`` asks only for
what history cannot tell: a message that matters, older than the window it would cost more pages
to reach. A message that matters and is in a range read but not returned was deleted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack.client import slack_error
from bot.timeline import capture, coverage
from bot.timeline.confirm import Confirmer, Message
from bot.timeline.recording import Recorder
from storage.models import Incident, TimelineEvent, TimelineMark
from storage.repository import Repository
from storage.stores.timeline import MarkChange, ts_key


class Marks(Protocol):
    """The timeline service as the catch-up uses it (its recorder, repository and marks)."""

    repo: Repository
    client: WebClient
    settings: Settings
    recorder: Recorder
    confirmer: Confirmer
    bot_user_id: str

    @property
    def reactions(self) -> Mapping[str, str]: ...

    def plain(self, text: str) -> str: ...

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
        confirm: bool = True,
    ) -> Captured | None: ...


class Captured(Protocol):
    @property
    def event(self) -> TimelineEvent: ...

    @property
    def change(self) -> MarkChange: ...


log = logging.getLogger(__name__)

# A gap's window reaches back over at least this many recorded messages before it (reactions made
# while nobody recorded land mostly on recent messages); a periodic recheck over this many.
RECENT_MESSAGES = 50
RECHECK_RECENT_MESSAGES = 20
REACTIONS_GET_PER_MINUTE = 50  # Tier 3
PIN, SHORTCUT = capture.PIN, capture.SHORTCUT

RECONCILE_COUNTS = (
    "history_calls",
    "replies_calls",
    "messages_added",
    "messages_updated",
    "events_added",
    "events_hidden",
)


def recovered(counts: Mapping[str, int]) -> str:
    """What a reconcile found in Slack's history that the live record lacked, for the log."""
    added, hidden = counts["events_added"], counts["events_hidden"]
    return (
        f"recovered from Slack history {counts['messages_added']} message(s) "
        f"({counts['messages_updated']} updated) and {added + hidden} timeline change(s) "
        f"({added} added, {hidden} removed)"
    )


def window_start(
    gap_start: str, older: Sequence[str], recorded: Sequence[str], page: int, page_cost: float = 1.0
) -> str:
    """How far back a gap's history read reaches: the ts minimising the pages added to read the
    recorded messages (``recorded``, oldest first) from there to the gap, each weighing
    ``page_cost`` ``reactions.get`` (Slack's rate of one against the other), plus the messages
    that matter (``older``, before the gap) left for one ``reactions.get`` each. A tie reaches
    further."""
    options: list[tuple[float, tuple[int, int], str]] = [(len(older), ts_key(gap_start), gap_start)]
    for i, ts in enumerate(sorted(older, key=ts_key)):
        between = len(recorded) - _bisect(recorded, ts)
        options.append((math.ceil(between / page) * page_cost + i, ts_key(ts), ts))
    return min(options)[2]


def _bisect(sorted_ts: Sequence[str], ts: str) -> int:
    lo, hi, key = 0, len(sorted_ts), ts_key(ts)
    while lo < hi:
        mid = (lo + hi) // 2
        if ts_key(sorted_ts[mid]) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _within(ts: str, start: str, end: str) -> bool:
    return ts_key(start) <= ts_key(ts) <= ts_key(end)


@dataclass
class Reading:
    """One reconcile pass: what it read (by ts), the ranges it read completely, its counts."""

    channel: str
    counts: dict[str, int]
    fresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_ranges: list[tuple[str, str]] = field(default_factory=list)  # history, top-level messages
    thread_ranges: dict[str, tuple[str, str]] = field(default_factory=dict)  # root -> replies read
    shown: list[Message] = field(default_factory=list)
    hidden: list[Message] = field(default_factory=list)


class Reconciler:
    """The catch-up of one timeline service (its recorder, repository and marks)."""

    def __init__(self, timeline: Marks) -> None:
        self.t = timeline

    @property
    def page(self) -> int:
        return self.t.recorder.page_size

    @property
    def page_cost(self) -> float:
        """A history page in ``reactions.get`` calls (Tier 3: 50 a minute) by Slack's rates."""
        return REACTIONS_GET_PER_MINUTE / self.t.settings.config.history_calls_per_minute

    # -- backfill ------------------------------------------------------------------------------
    def backfill(self, incident: Incident, now: datetime) -> int:
        """Record an existing channel's history (threads too) and capture its reactions."""
        assert incident.channel_id is not None
        channel = incident.channel_id
        stats = self.t.recorder.read_history(channel)
        messages = list(stats.messages)
        for m in stats.messages:
            if m.get("reply_count"):
                messages += self.t.recorder.read_thread(channel, str(m["ts"])).messages
        read = self.apply(incident, messages, capture.datetime_to_ts(now))
        self.t.confirmer.many(channel, read.shown, read.hidden, "Recorded the channel's history")
        return len(messages)

    def apply(self, incident: Incident, messages: Sequence[Mapping[str, Any]], observed_ts: str) -> Reading:
        """Make the timeline match what ``messages`` (recorded already, as Slack shows them, thread
        replies included) say: their reactions become marks as live capture makes them, edits
        reach their events. The caller confirms what the reading ``shown`` and ``hidden``."""
        assert incident.channel_id is not None
        read = Reading(incident.channel_id, dict.fromkeys(RECONCILE_COUNTS, 0))
        read.fresh = {str(m["ts"]): dict(m) for m in messages}
        self._sync_all(incident, read, observed_ts)
        return read

    # -- reconcile -----------------------------------------------------------------------------
    def reconcile(
        self, incident: Incident, gaps: list[coverage.Interval], thorough: bool, now: datetime
    ) -> Reading:
        """Read the gaps back; the caller confirms what the reading ``shown`` and ``hidden``.
        ``thorough`` (a gap nobody recorded, not a periodic recheck) also re-reads the messages
        on the timeline and the known threads."""
        assert incident.channel_id is not None and incident.id is not None
        channel = incident.channel_id
        read = Reading(channel, dict.fromkeys(RECONCILE_COUNTS, 0))
        events = list(self.t.repo.message_events(incident.id)) if thorough else []
        shown = [e for e in events if not e.hidden and e.message_ts]
        top = {str(e.message_ts) for e in shown if not e.thread_ts}
        replies = {str(e.message_ts): str(e.thread_ts) for e in shown if e.thread_ts}
        roots = set(self.t.repo.thread_roots(channel)) if thorough else set()
        recent = RECENT_MESSAGES if thorough else RECHECK_RECENT_MESSAGES
        spans = [(capture.datetime_to_ts(s), capture.datetime_to_ts(e)) for s, e in gaps]
        last_end = spans[-1][1]
        prev_end = "0"
        for start, end in spans:
            near = self.t.repo.recent_messages(channel, start, recent)
            for m in near:
                if m.thread_ts and m.thread_ts != m.ts:
                    replies.setdefault(m.ts, m.thread_ts)
                else:
                    top.add(m.ts)
            older = [ts for ts in top | roots if ts_key(prev_end) < ts_key(ts) < ts_key(start)]
            recorded = self.t.repo.top_level_ts(channel, prev_end, start) if older else []
            first = window_start(start, older, recorded, self.page, self.page_cost)
            self._read_history(read, first, end)
            prev_end = end
        # Messages after the last gap were recorded live since.
        top = {ts for ts in top if ts_key(ts) <= ts_key(last_end)}
        replies = {ts: root for ts, root in replies.items() if ts_key(ts) <= ts_key(last_end)}
        self._read_threads(read, spans, roots, replies)
        missing = sorted(
            (
                ts
                for ts in top | set(replies)
                if ts not in read.fresh and not self._read_over(read, ts, replies)
            ),
            key=ts_key,
        )
        for ts in missing:
            self._current(incident, ts, read)
        self._hide_deleted(incident, read, top, replies)
        self._sync_all(incident, read, capture.datetime_to_ts(now))
        return read

    def _read_history(self, read: Reading, oldest: str, latest: str) -> None:
        stats = self.t.recorder.read_history(read.channel, oldest, latest)
        read.counts["history_calls"] += stats.calls
        self._count(read.counts, stats.added, stats.updated)
        read.fresh.update({str(m["ts"]): m for m in stats.messages})
        read.top_ranges.append((oldest, latest))

    def _read_threads(
        self, read: Reading, spans: list[tuple[str, str]], roots: set[str], replies: Mapping[str, str]
    ) -> None:
        """Threads touched in a gap (by their parent's latest_reply), known threads whose parent
        no window read, and threads holding replies that matter: each once, over the range that
        covers all of that."""
        first_start, last_end = spans[0][0], spans[-1][1]
        wanted: dict[str, str] = {}
        for ts, m in list(read.fresh.items()):
            latest = str(m.get("latest_reply") or "")
            if m.get("reply_count") and latest and any(_within(latest, s, e) for s, e in spans):
                wanted[ts] = first_start
        for root in roots:
            if root not in read.fresh and ts_key(root) <= ts_key(last_end):
                wanted[root] = first_start
        for ts, root in replies.items():
            wanted[root] = min(wanted.get(root, ts), ts, key=ts_key)
        for root, oldest in sorted(wanted.items(), key=lambda kv: ts_key(kv[0])):
            thread = self.t.recorder.read_thread(read.channel, root, oldest, last_end)
            read.counts["replies_calls"] += thread.calls
            self._count(read.counts, thread.added, thread.updated)
            read.fresh.update({str(m["ts"]): m for m in thread.messages})
            if thread.found:
                read.thread_ranges[root] = (oldest, last_end)

    @staticmethod
    def _read_over(read: Reading, ts: str, replies: Mapping[str, str]) -> bool:
        """Whether a range read completely covers the message (so its absence means deletion)."""
        root = replies.get(ts)
        if root is not None:
            span = read.thread_ranges.get(root)
            return span is not None and _within(ts, *span)
        return any(_within(ts, s, e) for s, e in read.top_ranges)

    def _hide_deleted(
        self, incident: Incident, read: Reading, top: set[str], replies: Mapping[str, str]
    ) -> None:
        assert incident.id is not None
        for ts in sorted(top | set(replies), key=ts_key):
            if ts not in read.fresh and self._read_over(read, ts, replies):
                self._deleted(incident, ts, read)

    def _deleted(self, incident: Incident, ts: str, read: Reading) -> None:
        assert incident.id is not None
        self.t.repo.mark_message_deleted(read.channel, ts)
        if self.t.repo.hide_deleted_source(incident.id, ts):
            read.counts["events_hidden"] += 1

    def _current(self, incident: Incident, ts: str, read: Reading) -> None:
        """A message that matters, out of every range read, as Slack has it now (reactions.get)."""
        try:
            msg = dict(self.t.client.reactions_get(channel=read.channel, timestamp=ts, full=True)["message"])
        except SlackApiError as exc:
            if slack_error(exc) == "message_not_found":
                self._deleted(incident, ts, read)
            else:
                log.info("reactions.get %s failed: %s", ts, slack_error(exc))
            return
        row = capture.message_row(read.channel, msg, source="backfill")
        result = self.t.repo.record_message(row, overwrite=True)
        self._count(read.counts, result.added, result.updated)
        read.fresh[ts] = msg

    @staticmethod
    def _count(counts: dict[str, int], added: int, updated: int) -> None:
        counts["messages_added"] += added
        counts["messages_updated"] += updated

    # -- applying what was read ------------------------------------------------------------------
    def _sync_all(self, incident: Incident, read: Reading, observed_ts: str) -> None:
        assert incident.id is not None
        events = {str(e.message_ts): e for e in self.t.repo.message_events(incident.id) if e.message_ts}
        marks: dict[int, list[TimelineMark]] = {}
        for m in self.t.repo.marks([e.id for e in events.values() if e.id is not None]):
            marks.setdefault(m.event_id, []).append(m)
        for ts, msg in read.fresh.items():
            event = events.get(ts)
            self._sync_message(
                incident, msg, event, marks.get(event.id or 0, []) if event else [], read, observed_ts
            )

    def _sync_message(
        self,
        incident: Incident,
        msg: Mapping[str, Any],
        event: TimelineEvent | None,
        marks: Iterable[TimelineMark],
        read: Reading,
        observed_ts: str,
    ) -> None:
        """Make the timeline event of one message match what Slack shows: its text (edited while
        no bot recorded) and its reaction marks; note what to confirm."""
        assert incident.id is not None
        ts = str(msg["ts"])
        bot = self.t.bot_user_id
        reactions = msg.get("reactions") or []
        observed = {r for r in capture.reactors(reactions, self.t.reactions) if r[2] != bot}
        if event is not None and event.text != str(msg.get("text") or ""):
            row = capture.message_row(incident.channel_id or "", msg)
            self.t.repo.update_event_text(incident.id, ts, row.text, self.t.plain(row.text), row.edited_at)
        marked = {(m.kind, m.reaction, m.user_id) for m in marks if m.reaction not in (PIN, SHORTCUT)}
        changes = [(r, True) for r in sorted(observed - marked)] + [
            (r, False) for r in sorted(marked - observed)
        ]
        confirmed = _confirmed(reactions, self.t.settings.config.confirm_reaction, bot)
        for (kind, reaction, user), active in changes:
            done = self.t.mark(
                incident, ts, kind, reaction, user, active=active, changed_ts=observed_ts, confirm=False
            )
            if done is None or done.change.visibility is None:
                continue
            where = (ts, capture.thread_parent(msg))
            if done.change.visibility == "shown":
                read.counts["events_added"] += 1
                if not confirmed and not done.event.source_deleted:
                    read.shown.append(where)
            else:
                read.counts["events_hidden"] += 1
                if confirmed:
                    read.hidden.append(where)


def _confirmed(reactions: Iterable[Mapping[str, Any]], emoji: str, bot: str) -> bool:
    """Whether the message already carries the bot's confirm reaction."""
    return any(r.get("name") == emoji and bot in (r.get("users") or []) for r in reactions)
