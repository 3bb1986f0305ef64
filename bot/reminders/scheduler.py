"""The scheduler: one APScheduler interval job that sweeps the database for due reminders.

The durable truth is our own tables, not per-incident jobs: every sweep works out from the
incidents, updates, roles, milestones and documents what is due (``bot.reminders.rules``, pure), claims
each occurrence in ``reminder_claims`` (unique key) and only then sends it. So a restart (even
``kill -9``) loses nothing, an occurrence missed while down is sent once on start, and several
replicas or overlapping sweeps never post twice. The job store is APScheduler's in-memory one on
purpose: the job is re-added at every start and holds no state worth persisting.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import ReminderConfig, Settings
from bot.incidents.vocabulary import Milestone
from bot.ops.failures import job_failed
from bot.ops.metrics import JOBS_FIRED
from bot.reminders.rules import (
    ARCHIVE,
    ARCHIVE_NOTICE,
    RECHECK,
    STATUS,
    Due,
    IncidentState,
    due_reminders,
    slot_time,
)
from bot.slack.client import slack_error
from bot.timeline.service import recovered
from storage.models import Incident, utcnow
from storage.repository import Repository
from storage.stores.reminders import DONE_STATES, REMINDER_CLAIM_STALE_AFTER, ReminderInputs


class Reconcile(Protocol):
    """The timeline's ``reconcile``: a recheck reads back a period for events the record lacks."""

    def __call__(self, incident: Incident, recheck_since: datetime | None = None) -> Mapping[str, int]: ...


class FollowupCounts(Protocol):
    """Follow-ups' ``counts``: (action items, of which with a done ticket) per incident id."""

    def __call__(self, incident_ids: list[int]) -> Mapping[int, tuple[int, int]]: ...


log = logging.getLogger(__name__)

JOB_ID = "reminder-sweep"
# Slack errors worth retrying on the next sweep; any other error is final for that occurrence.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# A recheck reads back a little more than its period: events of the last moments of the previous
# one may still have been in flight when it ran.
RECHECK_OVERLAP = timedelta(minutes=2)
# Slack answers that mean the work is already done.
ALREADY_DONE = frozenset({"already_archived"})


@dataclass(frozen=True)
class Sent:
    """One reminder occurrence this process delivered (or tried to, when ``error`` is set)."""

    incident_id: int
    kind: str
    slot: str
    ts: str | None = None
    error: str | None = None


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class ReminderSweeper:
    """One pass over the database: what is due, claimed once, then sent."""

    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        *,
        reconcile: Reconcile,
        followup_counts: FollowupCounts | None = None,
        sweep_followups: Callable[[datetime], None] | None = None,
        sweep_documents: Callable[[datetime], object] | None = None,
        sweep_maintenance: Callable[[datetime], object] | None = None,
        sweep_embeddings: Callable[[datetime], object] | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        stale_after: timedelta = REMINDER_CLAIM_STALE_AFTER,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.reconcile = reconcile
        # Follow-up tickets (bot.followups): their retries and sync run at the start of a sweep;
        # their counts feed the follow-up reminder. Both absent: follow-ups are not wired.
        self.followup_counts = followup_counts
        self.sweep_followups = sweep_followups
        # The final documents closes never got (bot.postmortem.catch_up), queued off this thread.
        self.sweep_documents = sweep_documents
        # The status page's maintenance reminders (bot.statuspage), each claimed once across replicas.
        self.sweep_maintenance = sweep_maintenance
        # Incidents' embeddings for similar incidents (bot.assist), handed off this thread.
        self.sweep_embeddings = sweep_embeddings
        self.owner = owner or instance_name()
        self.clock = clock
        self.stale_after = stale_after
        # (incident, anchor/every) → when its latest status reminder went out
        self._last_status: dict[tuple[int, str], datetime] = {}

    @property
    def config(self) -> ReminderConfig:
        return self.settings.config.reminders

    def states(self, now: datetime) -> list[IncidentState]:
        self._last_status = {}
        cfg = self.config
        window = timedelta(seconds=cfg.postmortem_every * cfg.postmortem_days)
        inputs = self.repo.reminder_inputs(
            closed_since=now - window, archive_pending=cfg.archive_after is not None
        )
        ids = [i.id or 0 for i in inputs.incidents]
        followups = self.followup_counts(ids) if self.followup_counts is not None else {}
        return [self._state(inputs, inc, now, followups) for inc in inputs.incidents]

    def _state(
        self,
        inputs: ReminderInputs,
        incident: Incident,
        now: datetime,
        followups: Mapping[int, tuple[int, int]],
    ) -> IncidentState:
        assert incident.id is not None
        incident_id = incident.id
        closed_at = inputs.closed_at.get(incident_id)
        claims = inputs.claims.get(incident_id, [])
        stale_before = now - self.stale_after
        claimed: dict[str, set[str]] = {}
        notice_at: datetime | None = None
        for c in claims:
            if c.state in DONE_STATES or c.claimed_at >= stale_before:
                claimed.setdefault(c.kind, set()).add(c.slot)
                if c.kind == STATUS:  # slot: anchor/every/period
                    key, at = (incident_id, c.slot.rsplit("/", 1)[0]), c.sent_at or c.claimed_at
                    self._last_status[key] = max(at, self._last_status.get(key, at))
            if (
                c.kind == ARCHIVE_NOTICE
                and closed_at is not None
                and c.slot == slot_time(closed_at)
                and c.state in DONE_STATES
            ):
                notice_at = c.sent_at or c.claimed_at
        return IncidentState(
            incident=incident,
            lead_id=inputs.lead.get(incident_id),
            last_update_at=inputs.last_update_at.get(incident_id),
            closed_at=closed_at,
            missing_sections=inputs.missing_sections.get(incident_id),
            archive_notice_at=notice_at,
            claimed={k: frozenset(v) for k, v in claimed.items()},
            followups=followups.get(incident_id),
        )

    def due(self, now: datetime | None = None) -> list[Due]:
        now = now or self.clock()
        return [
            d
            for state in self.states(now)
            for d in due_reminders(state, self.config, now)
            if not self._too_soon(state, d, now)
        ]

    def _too_soon(self, state: IncidentState, due: Due, now: datetime) -> bool:
        """A status reminder less than a period (give or take a sweep) after the previous one since
        the same update or declare: the
        periods missed while no bot ran coalesce into one reminder whose period then runs in full,
        instead of the next period's reminder following seconds later."""
        last = self._last_status.get((due.incident_id, due.slot.rsplit("/", 1)[0]))
        if due.kind != STATUS or last is None:
            return False
        every = self.config.status_every(state.incident.severity)
        return (now - last).total_seconds() < every - self.config.sweep_every

    def sweep(self, now: datetime | None = None) -> list[Sent]:
        """Send everything due now; one incident's failure never stops the others."""
        now = now or self.clock()
        if self.sweep_followups is not None:
            self.sweep_followups(now)
        if self.sweep_documents is not None:
            try:
                self.sweep_documents(now)
            except Exception:
                job_failed("documents-catch-up")
        if self.sweep_maintenance is not None:
            try:
                self.sweep_maintenance(now)
            except Exception:
                job_failed("maintenance-reminders")
        if self.sweep_embeddings is not None:
            try:
                self.sweep_embeddings(now)
            except Exception:
                job_failed("embeddings")
        done: list[Sent] = []
        try:  # deliveries past Slack's retries (real time: ``now`` may be a test's clock)
            self.repo.prune_deliveries()
        except Exception:
            job_failed("deliveries-prune")
        for due in self.due(now):
            try:
                sent = self.deliver(due, now)
            except Exception:
                job_failed("reminder", f"{due.kind} {due.slot} for incident {due.incident_id}")
                continue
            if sent is not None:
                done.append(sent)
        return done

    def deliver(self, due: Due, now: datetime) -> Sent | None:
        """Claim the occurrence, then send it; None when somebody else has it."""
        repo = self.repo
        claim = repo.claim_reminder(due.incident_id, due.kind, due.slot, self.owner, now, self.stale_after)
        if claim is None or claim.id is None:
            return None
        if due.action == ARCHIVE and not self._still_closed(due):
            repo.release_reminder(claim.id)
            return None
        try:
            ts = self._send(due, now)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in ALREADY_DONE:
                repo.finish_reminder(claim.id, now)
                return Sent(due.incident_id, due.kind, due.slot)
            if error in TRANSIENT_ERRORS:
                repo.release_reminder(claim.id)
                raise
            log.warning("reminder %s for incident %s refused by Slack: %s", due.kind, due.incident_id, error)
            repo.finish_reminder(claim.id, now, error=error)
            return Sent(due.incident_id, due.kind, due.slot, error=error)
        except Exception:
            repo.release_reminder(claim.id)
            raise
        repo.finish_reminder(claim.id, now, sent_ts=ts)
        JOBS_FIRED.labels(due.kind).inc()
        done = "rechecked" if due.action == RECHECK else "sent reminder"
        log.info("%s %s %s for incident %s", done, due.kind, due.slot, due.incident_id)
        return Sent(due.incident_id, due.kind, due.slot, ts=ts)

    def _still_closed(self, due: Due) -> bool:
        """Archiving is destructive: re-read that the incident is still closed by the same close."""
        incident = self.repo.incident(due.incident_id)
        closed = self.repo.milestones(due.incident_id).get(Milestone.CLOSED)
        return incident.is_closed and closed is not None and slot_time(closed) == due.slot

    def _send(self, due: Due, now: datetime) -> str | None:
        client = self.client
        if due.action == RECHECK:
            self._recheck(due, now)
            return None
        if due.action == ARCHIVE:
            client.conversations_archive(channel=due.channel_id)
            return None
        resp = client.chat_postMessage(channel=due.channel_id, text=due.text, unfurl_links=False)
        return str(resp["ts"])

    def _recheck(self, due: Due, now: datetime) -> None:
        """Read back the period since the previous recheck (with overlap) for missing events."""
        incident = self.repo.incident(due.incident_id)
        since = max(incident.created_at, now - timedelta(seconds=self.config.recheck_every) - RECHECK_OVERLAP)
        counts = self.reconcile(incident, recheck_since=since)
        if counts["messages_added"] or counts["events_added"] or counts["events_hidden"]:
            log.warning(
                "INC-%s: the periodic re-read found what the live record lacked (not delivered, or "
                "delivered and not stored): %s",
                incident.number,
                recovered(counts),
            )


class Scheduler:
    """APScheduler's BackgroundScheduler running the sweep every ``reminders.sweep_every`` seconds."""

    def __init__(self, sweeper: ReminderSweeper) -> None:
        self.sweeper = sweeper
        self.every = sweeper.config.sweep_every
        self._scheduler = BackgroundScheduler(timezone=UTC)
        # APScheduler logs every run at INFO; a sweep every few seconds would drown the log.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._last_ok: float | None = None
        self._last_error: str | None = None

    def start(self) -> Scheduler:
        self._scheduler.add_job(
            self.run_once,
            "interval",
            seconds=self.every,
            id=JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        self._started_at = time.monotonic()
        self._scheduler.start()
        log.info("scheduler started: sweeping for reminders every %ss", self.every)
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Stop; with ``wait`` a sweep in progress finishes first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            log.info("scheduler stopped")

    def run_once(self) -> None:
        try:
            self.sweeper.sweep()
        except Exception as exc:
            with self._lock:
                self._last_error = type(exc).__name__
            job_failed(JOB_ID, error=exc)
            return
        with self._lock:
            self._last_ok, self._last_error = time.monotonic(), None

    def health(self) -> str:
        """ "ok", or why not: not running, the last sweep failed, or sweeps stopped happening."""
        if not self._scheduler.running:
            return "stopped"
        with self._lock:
            last_ok, error = self._last_ok, self._last_error
        if error:
            return f"failing ({error})"
        late_after = max(3 * self.every, 60.0)
        since = last_ok if last_ok is not None else self._started_at
        if since is not None and time.monotonic() - since > late_after:
            return f"stalled (no sweep for {int(time.monotonic() - since)} s)"
        return "ok"
