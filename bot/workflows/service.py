"""The live engine: lifecycle events in, runs recorded once, each step an outbox row.

- ``on_event`` (called by the lifecycle after a change, never raising): record the event with the
  incident's snapshot (the history ``workflows try`` replays), evaluate the rules (pure), and start
  each run that matches.
- ``sweep`` (on the reminder scheduler, APScheduler): timers due for open incidents are started the
  same way; whichever replica records a run key first runs it, the others and later sweeps (also
  after a restart) find it taken.
- Starting a run enqueues its first step (``not_before`` = after the rule's delay) under a key unique
  to the run and the step; each step, when it is done (or failed with ``continue_on_error``),
  enqueues the next. A step that fails is retried with back-off up to its ``retries``; the last
  failure posts one line in the incident channel. The lifecycle never waits for a step.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.followups.outbox import Outbox, OutboxWorker, Refused, Retry, backoff
from bot.incidents.vocabulary import incident_ref
from bot.ops.failures import job_failed
from bot.slack.text import escape, one_line
from bot.workflows.evaluate import Event, Planned, Rules, Snapshot, TimerFacts, conditions_hold, due_timers
from bot.workflows.model import On, Since, Workflow
from bot.workflows.runs import KEY_PREFIX, RunView, incident_runs
from bot.workflows.step_kinds import parse_duration
from bot.workflows.steps import StepFailed, StepRunner, chain_depth
from storage.models import AlertGroup, Incident, OutboxMessage, WorkflowRun, utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)

STEP = "workflow_step"
MAX_CHAIN = 5  # a change made by a run made by a run ... at most this deep starts more runs
TIMER_HORIZON = timedelta(hours=1)  # a timer found later than this (the bot was down) is not run late
FAILURE_TIMEOUT = 5.0


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def step_key(run_key: str, index: int) -> str:
    return f"{KEY_PREFIX}{run_key}:{index}"


class WorkflowService:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        steps: StepRunner,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.steps = steps
        self.clock = clock
        self.rules = Rules(settings.config.workflows)
        self._on_milestones = any(r.trigger.since != Since.DECLARED for r in self.rules.timers)
        outgoing = settings.config.outgoing
        self.outbox = Outbox(
            repo,
            {STEP: self._run_step},
            owner=_owner(),
            clock=clock,
            base_delay=outgoing.retry_base_seconds,
            max_delay=outgoing.retry_max_seconds,
            max_attempts=100,  # each step's own `retries` decide
        )
        self.worker = OutboxWorker(
            self.outbox, "workflows-outbox", (STEP,), outgoing.sweep_every_seconds, workers=2
        )

    @property
    def enabled(self) -> bool:
        return bool(self.rules.rules)

    # -- what the incident looks like to a rule ------------------------------------------------------
    def snapshot(self, incident: Incident) -> Snapshot:
        assert incident.id is not None
        return Snapshot(
            incident_id=incident.id,
            number=incident.number,
            title=incident.title,
            type=incident.incident_type,
            severity=incident.severity,
            status="closed" if incident.is_closed else incident.status,
            private=incident.is_private,
            channel_id=incident.channel_id,
            fields=self.repo.field_values(incident.id),
            alert_labels=alert_labels(self.repo.alert_groups_of_incident(incident.id)),
        )

    # -- events in ---------------------------------------------------------------------------------------
    def on_event(self, incident: Incident, kind: str, detail: dict[str, Any] | None = None) -> None:
        """Record and evaluate one lifecycle event; a failure is logged, never raised to the lifecycle."""
        try:
            self._on_event(incident, On(kind), detail or {})
        except Exception:
            job_failed("workflows-event", f"{kind} of {incident_ref(incident)}")

    def on_message(self, incident: Incident, text: str, ts: str) -> None:
        """A person's message in the channel: evaluated only when a rule listens for messages, and
        recorded only when one matches (`workflows try` reads the recorded channel messages)."""
        if not self.rules.hears(text):  # most messages: no database read at all
            return
        try:
            fresh = self.repo.incident(incident.id or 0)
            event = Event(On.MESSAGE, self.clock(), f"{fresh.id}:message:{ts}", text=text)
            snap = self.snapshot(fresh)
            taken = _local_keys(fresh.id or 0, self.repo.workflow_run_keys(fresh.id or 0))
            for planned in self.rules.plan(snap, event, self.settings.config.tz, taken):
                self.start(fresh.id or 0, planned)
        except Exception:
            job_failed("workflows-message", incident_ref(incident))

    def _on_event(self, incident: Incident, kind: On, detail: dict[str, Any]) -> None:
        fresh = self.repo.incident(incident.id or 0)
        snap = self.snapshot(fresh)
        at = self.clock()
        key = f"{fresh.id}:{kind.value}:{detail.get('key') or at.isoformat()}"
        if self.repo.add_workflow_event(key, fresh.id or 0, kind.value, at, detail, snap.to_json()) is None:
            return  # recorded (and evaluated) already: a redelivery
        if not self.enabled:
            return
        depth = chain_depth(detail.get("key"))
        if depth >= MAX_CHAIN:
            log.warning("%s: a change made %s workflow runs deep starts no more", incident_ref(fresh), depth)
            return
        event = Event(kind, at, key, field=detail.get("field"), detail=detail)
        taken = _local_keys(fresh.id or 0, self.repo.workflow_run_keys(fresh.id or 0))
        for planned in self.rules.plan(snap, event, self.settings.config.tz, taken):
            self.start(fresh.id or 0, planned, depth + 1)

    def sweep(self, now: datetime | None = None) -> list[str]:
        """Start the timers due now (on every replica: the run key decides who runs them); the run
        keys this call started."""
        if not self.rules.timers:
            return []
        now = now or self.clock()
        started = []
        for incident in self.repo.open_incidents():
            try:
                started += self._timers(incident, now)
            except Exception:
                job_failed("workflows-timer", incident_ref(incident))
        return started

    def _timers(self, incident: Incident, now: datetime) -> list[str]:
        assert incident.id is not None
        facts = TimerFacts(
            declared_at=incident.created_at,
            status_updates=self.repo.status_update_times([incident.id]).get(incident.id, []),
            status_changes=[
                e.at for e in self.repo.workflow_events_of(incident.id) if e.kind == On.STATUS_CHANGED.value
            ],
            milestones=self.repo.milestones(incident.id) if self._on_milestones else {},
        )
        taken = _local_keys(incident.id, self.repo.workflow_run_keys(incident.id))
        planned = due_timers(
            self.rules, self.snapshot(incident), facts, now, self.settings.config.tz, taken, TIMER_HORIZON
        )
        return [p.run_key for p in planned if self.start(incident.id, p)]

    # -- runs ----------------------------------------------------------------------------------------------
    def start(self, incident_id: int, planned: Planned, depth: int = 1) -> bool:
        """Enqueue the run's first step (idempotent), then record the run; False when it was taken.
        Its steps start after the rule's delay from now (a timer found late runs now)."""
        key = f"{incident_id}:{planned.run_key}"
        rule = planned.rule
        not_before = self.clock() + rule.wait
        first = step_key(key, 0)
        payload = self._payload(incident_id, rule, key, 0, depth, recheck=rule.delay is not None)
        _, created = self.outbox.enqueue(STEP, first, payload, not_before=not_before)
        run = WorkflowRun(
            run_key=key,
            incident_id=incident_id,
            rule=rule.name,
            trigger=planned.event.kind.value,
            event_at=planned.event.at,
            not_before=not_before,
            steps=[step_key(key, i) for i in range(len(rule.steps))],
        )
        recorded = self.repo.add_workflow_run(run) is not None
        if created and not rule.delay:
            self.worker.soon(first)
        if recorded:
            log.info(
                "workflow %s started for incident %s (%s)", rule.name, incident_id, planned.event.kind.value
            )
        return recorded

    @staticmethod
    def _payload(
        incident_id: int, rule: Workflow, run_key: str, index: int, depth: int, recheck: bool = False
    ) -> dict[str, Any]:
        return {
            "incident_id": incident_id,
            "rule": rule.name,
            "run_key": run_key,
            "step": index,
            "depth": depth,
            "recheck": recheck,
        }

    def _run_step(self, row: OutboxMessage) -> dict[str, Any]:
        """The outbox handler of one step."""
        p = row.payload
        rule = self.rules.named(p["rule"])
        if rule is None:
            raise Refused(f"the workflow {p['rule']!r} is no longer configured")
        index: int = p["step"]
        if index >= len(rule.steps):
            raise Refused("the workflow no longer has this step")
        step = rule.steps[index]
        incident = self.repo.incident(p["incident_id"])
        if p.get("recheck"):
            local = self.clock().astimezone(self.settings.config.tz).time()
            if not conditions_hold(rule.conditions, self.snapshot(incident), local):
                return {"skipped": "the conditions no longer held after the delay"}
        try:
            result = self.steps.run(
                step, incident, rule, self.snapshot(incident), f"{p['run_key']}:{index}", p.get("depth", 1)
            )
        except StepFailed as exc:
            if exc.passing and row.attempts <= step.retries:
                wait = backoff(
                    row.attempts, None, parse_duration(step.backoff).total_seconds() or 0.0, 3600.0
                )
                raise Retry(exc.reason, after=wait) from exc
            self._failed(incident, rule, index, exc.reason, row.attempts)
            if step.continue_on_error:
                self._next(p, rule, index)
            raise Refused(exc.reason) from exc
        self._next(p, rule, index)
        return result

    def _next(self, payload: dict[str, Any], rule: Workflow, index: int) -> None:
        if index + 1 >= len(rule.steps):
            return
        key = step_key(payload["run_key"], index + 1)
        _, created = self.outbox.enqueue(
            STEP,
            key,
            self._payload(
                payload["incident_id"], rule, payload["run_key"], index + 1, payload.get("depth", 1)
            ),
        )
        if created:
            self.worker.soon(key)

    def _failed(self, incident: Incident, rule: Workflow, index: int, reason: str, attempts: int) -> None:
        """One line in the channel for a step that failed for good."""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        text = (
            f":warning: Workflow *{rule.name}*: step {index + 1} (`{rule.steps[index].kind}`) failed{tries}: "
            f"{escape(one_line(reason, 300))}"
        )
        with contextlib.suppress(Exception):
            if incident.channel_id:
                self.client.chat_postMessage(channel=incident.channel_id, text=text)

    # -- what ran ---------------------------------------------------------------------------------------
    def run_views(self, incident_id: int) -> list[RunView]:
        return incident_runs(self.repo, self.settings.config.workflows, incident_id)

    # -- running the outbox ---------------------------------------------------------------------------
    def start_background(self) -> None:
        if self.enabled:
            self.worker.start()

    def stop(self) -> None:
        self.worker.stop()


def alert_labels(groups: list[AlertGroup]) -> dict[str, str]:
    """The labels of the incident's alert groups (their grouping and common labels; a later group's
    value wins)."""
    out: dict[str, str] = {}
    for g in groups:
        out.update(g.group_labels)
        out.update(g.common_labels)
    return out


def _local_keys(incident_id: int, keys: list[str]) -> list[str]:
    """Run keys as the rules name them (without the incident prefix)."""
    prefix = f"{incident_id}:"
    return [k.removeprefix(prefix) for k in keys]
