"""Paging out: PagerDuty (page, resolve with the same ``dedup_key``, who is on call) and the
generic outgoing webhooks. Every delivery goes through the outbox (``bot.followups.outbox``):
enqueued under a key unique to the event and endpoint, so replicas and retries deliver it once;
retried with back-off while the other side fails.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from bot.config import Settings
from bot.errors import IncidentBotError
from bot.followups.outbox import Outbox, OutboxWorker, Refused, Retry
from bot.incidents.vocabulary import incident_ref, severity_text
from bot.ops.outbound import http_client
from bot.paging import webhooks
from bot.paging.pagerduty import PagerDuty, PagerDutyError
from bot.slack.text import escape, one_line
from storage.models import Incident, OutboxMessage, utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)

PAGERDUTY = "pagerduty"
WEBHOOK = "webhook"
TIMEOUT = 10.0


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PagingService:
    def __init__(
        self,
        repo: Repository,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        http: httpx.Client | None = None,
        pagerduty: PagerDuty | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.clock = clock
        self.http = http or http_client(timeout=TIMEOUT)
        cfg = settings.config.pagerduty
        token = settings.pagerduty_api_token.get_secret_value() if settings.pagerduty_api_token else None
        self.pagerduty = pagerduty or PagerDuty(
            settings.pagerduty_events_url,
            settings.pagerduty_api_url,
            token,
            http=self.http,
            cache_seconds=cfg.oncall_cache_seconds,
        )
        outgoing = settings.config.outgoing
        self.outbox = Outbox(
            repo,
            {PAGERDUTY: self._deliver_pagerduty, WEBHOOK: self._deliver_webhook},
            owner=_owner(),
            clock=clock,
            base_delay=outgoing.retry_base_seconds,
            max_delay=outgoing.retry_max_seconds,
        )
        self.worker = OutboxWorker(
            self.outbox, "paging-outbox", (PAGERDUTY, WEBHOOK), outgoing.sweep_every_seconds, workers=2
        )

    # -- what people ask for --------------------------------------------------------------------
    @property
    def targets(self) -> dict[str, str]:
        return self.settings.pagerduty_routing_keys()

    @property
    def can_page(self) -> bool:
        return bool(self.targets)

    def page(self, incident: Incident, target: str | None, user_id: str, request_key: str) -> str:
        """Trigger PagerDuty for the incident (``dedup_key`` = its id); what to tell the person."""
        targets = self.targets
        if not targets:
            raise IncidentBotError(
                "PagerDuty is not configured: add `[pagerduty] routing_keys` to the config."
            )
        name = (target or self.settings.config.pagerduty.default or "").lower()
        if not name and len(targets) == 1:
            name = next(iter(targets))
        if name not in targets:
            known = ", ".join(f"`{t}`" for t in sorted(targets))
            raise IncidentBotError(
                f"No PagerDuty service or escalation policy called `{one_line(name, 60)}`: use {known}."
            )
        if incident.is_closed:
            raise IncidentBotError(f"*{incident_ref(incident)}* is closed; reopen it to page.")
        key = f"pd:trigger:{incident.id}:{name}:{request_key}"
        payload = {
            "action": "trigger",
            "target": name,
            "dedup_key": incident_ref(incident),
            "summary": f"{incident_ref(incident)}: {incident.title}",
            "severity": incident.severity,
            "link": webhooks.channel_link(incident),
            "paged_by": user_id,
            "incident_id": incident.id,
        }
        _, created = self.outbox.enqueue(PAGERDUTY, key, payload)
        if created:
            self.worker.soon(key)
        return f"Paging `{name}` on PagerDuty for *{incident_ref(incident)}* ({severity_text(incident.severity)})."

    @property
    def can_tell_oncall(self) -> bool:
        return self.pagerduty.api_token is not None

    def oncall_text(self) -> str:
        if not self.can_tell_oncall:
            raise IncidentBotError("PagerDuty is not configured: set PAGERDUTY_API_TOKEN.")
        try:
            rows = self.pagerduty.oncalls(self.settings.config.pagerduty.escalation_policy_ids)
        except PagerDutyError as exc:
            raise IncidentBotError(f"PagerDuty did not answer who is on call ({exc.reason}).") from exc
        if not rows:
            return "Nobody is on call in PagerDuty right now."
        lines = ["*On call now* (PagerDuty):"]
        for o in sorted(rows, key=lambda o: (o.policy, o.level, o.user)):
            until = f" until {o.until}" if o.until else ""
            sched = f" ({escape(o.schedule)})" if o.schedule else ""
            lines.append(f"• {escape(o.policy)} · level {o.level}: *{escape(o.user)}*{sched}{until}")
        return "\n".join(lines)

    # -- what other systems follow ------------------------------------------------------------------
    def incident_changed(self, incident: Incident, event: str) -> None:
        """Enqueue the webhooks (and PagerDuty resolves) for one change, made once by one replica;
        the key names the change (the incident's ``updated_at`` at that change)."""
        stamp = incident.updated_at.isoformat()
        event_id = f"{event}:{incident.id}:{stamp}"
        at = self.clock()
        keys = []
        for i, hook in enumerate(self.settings.config.webhooks):
            body = webhooks.for_endpoint(hook, incident, event, event_id, at)
            if body is not None:
                key = f"webhook:{i}:{event_id}"
                _, created = self.outbox.enqueue(WEBHOOK, key, {"url": hook.url, "body": body})
                if created:
                    keys.append(key)
        if event in ("resolved", "closed") and self.can_page:
            # Each page is resolved once (by whichever of resolve and close comes first).
            for trigger in self.repo.outbox_like(f"pd:trigger:{incident.id}:"):
                payload = {
                    "action": "resolve",
                    "target": trigger.payload["target"],
                    "dedup_key": incident_ref(incident),
                }
                key = f"pd:resolve:{trigger.key.removeprefix('pd:trigger:')}"
                _, created = self.outbox.enqueue(PAGERDUTY, key, payload)
                if created:
                    keys.append(key)
        for key in keys:
            self.worker.soon(key)

    def send_event(self, event_id: str, body: dict[str, Any]) -> None:
        """Enqueue an event that is not about one incident (``body`` as sent, its ``event`` named)
        to every endpoint whose ``events`` list it, once per ``event_id`` across replicas and
        retries."""
        keys = []
        for i, hook in enumerate(self.settings.config.webhooks):
            if body.get("event") not in hook.events:
                continue
            key = f"webhook:{i}:{event_id}"
            _, created = self.outbox.enqueue(WEBHOOK, key, {"url": hook.url, "body": body})
            if created:
                keys.append(key)
        for key in keys:
            self.worker.soon(key)

    def send_to(self, url: str, event_id: str, body: dict[str, Any]) -> None:
        """Enqueue one signed POST of ``body`` to ``url`` (a workflow's webhook step), once per
        ``event_id`` across replicas and retries."""
        key = f"webhook:workflow:{event_id}"
        _, created = self.outbox.enqueue(WEBHOOK, key, {"url": url, "body": body})
        if created:
            self.worker.soon(key)
        self.worker.start()

    # -- delivery ---------------------------------------------------------------------------------
    def _deliver_pagerduty(self, row: OutboxMessage) -> dict[str, Any]:
        p = row.payload
        routing_key = self.targets.get(p["target"])
        if routing_key is None:
            raise Refused(f"no routing key for {p['target']!r} any more")
        try:
            if p["action"] == "trigger":
                answer = self.pagerduty.trigger(
                    routing_key,
                    p["dedup_key"],
                    p["summary"],
                    p["severity"],
                    source="incident-bot",
                    link=p.get("link"),
                    details={"paged_by": p.get("paged_by")},
                )
            else:
                answer = self.pagerduty.resolve(routing_key, p["dedup_key"])
        except PagerDutyError as exc:
            if exc.retry:
                raise Retry(exc.reason, exc.after) from exc
            raise Refused(exc.reason) from exc
        return {"dedup_key": answer.get("dedup_key"), "status": answer.get("status")}

    def _deliver_webhook(self, row: OutboxMessage) -> dict[str, Any]:
        secret = self.settings.outgoing_webhook_secret
        if secret is None:
            raise Refused("OUTGOING_WEBHOOK_SECRET is not set")
        body = webhooks.encode(row.payload["body"])
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "incident-bot",
            webhooks.TIMESTAMP: timestamp,
            webhooks.SIGNATURE: webhooks.signature(secret.get_secret_value(), timestamp, body),
            webhooks.EVENT_ID: row.payload["body"]["event_id"],
        }
        try:
            response = self.http.post(row.payload["url"], content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Retry(f"no answer ({type(exc).__name__})") from exc
        if response.status_code == 429 or response.status_code >= 500:
            after = response.headers.get("retry-after", "")
            raise Retry(f"HTTP {response.status_code}", float(after) if after.isdigit() else None)
        if response.status_code >= 300:
            raise Refused(f"HTTP {response.status_code}")
        return {"status": response.status_code}

    # -- start-up -------------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Reasons not to start, one line each: webhooks without a secret, a token PagerDuty refuses."""
        found = []
        if self.settings.config.webhooks and self.settings.outgoing_webhook_secret is None:
            found.append("[[webhooks]] are configured but OUTGOING_WEBHOOK_SECRET is not set")
        if self.pagerduty.api_token is None:
            found += [
                f"types.{name}.roles.{role}: filled_by = {r.filled_by!r} needs PAGERDUTY_API_TOKEN"
                for name, spec in self.settings.config.types.items()
                for role, r in spec.roles.items()
                if r.filled_by and r.filled_by.startswith("oncall:")
            ]
        if self.pagerduty.api_token is not None:
            try:
                self.pagerduty.check()
            except PagerDutyError as exc:
                found.append(exc.reason)
        return found

    # -- running the outbox ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.config.webhooks or self.can_page or _has_webhook_steps(self.settings):
            self.worker.start()

    def stop(self) -> None:
        self.worker.stop()


def _has_webhook_steps(settings: Settings) -> bool:
    return any(step.kind == "webhook" for rule in settings.config.workflows for step in rule.steps)
