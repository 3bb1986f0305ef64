"""Alerts in: record a notification, keep its group's triage card current, and turn a group into
an incident (declare, attach, auto-declare) whose record the alerts then feed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.alerts import blocks, floods
from bot.alerts.cards import CardWorker
from bot.alerts.payloads import AlertNotification
from bot.alerts.routing import route
from bot.config import Settings
from bot.errors import IncidentBotError
from bot.incidents.commands import clean_title
from bot.incidents.declare import DeclareResult, IncidentService
from bot.incidents.vocabulary import Milestone, incident_ref
from bot.ops.failures import job_failed
from bot.present import formats
from bot.slack.client import slack_error
from bot.slack.text import escape, one_line
from bot.statuspage.maintenance import covering
from storage.models import AlertGroup, AlertRecord, Incident, TimelineEvent, utcnow
from storage.repository import Repository
from storage.stores.alerts import OVERFLOW, Ingested

log = logging.getLogger(__name__)
EXPIRE_EVERY = 3600.0  # seconds between two retention sweeps of one process


class NoTriageChannel(Exception):
    """No routing rule and no ``[alerts] triage_channel`` says where this group goes."""


class AlertService:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        incidents: IncidentService,
        clock: Callable[[], datetime] = utcnow,
        bot_user_id: str = "",
        can_page: Callable[[], bool] = lambda: False,
        happened: Callable[[Incident, str, dict[str, Any]], None] = lambda incident, event, detail: None,
    ) -> None:
        self.repo, self.client, self.settings, self.incidents = repo, client, settings, incidents
        self.happened = happened
        """Told each alert group attached to an incident (the workflow rules' ``alert_attached``)."""
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.can_page = can_page
        self.cards = CardWorker(
            repo,
            client,
            self.render,
            clock,
            every=settings.config.alerts.card_update_every,
            bot_user_id=bot_user_id,
        )
        # Declares (a channel, a card, invitations) and channel lines run here, after the ack.
        self.background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alerts")
        self._auto_declaring = threading.Lock()  # the auto-declare limit's check and claim, together
        self._next_expiry = 0.0

    def start(self) -> None:
        self.cards.start()

    def stop(self) -> None:
        self.cards.stop()
        self.background.shutdown(wait=True)

    def problems(self, intake_on: bool) -> list[str]:
        """Reasons not to start: intake is on but no channel would receive its cards."""
        cfg = self.settings.config.alerts
        if (
            intake_on
            and cfg.triage_channel is None
            and not any(r.channel and not r.match for r in cfg.routes)
        ):
            return [
                "alert intake is on (ALERTS_BEARER_TOKEN / ALERTS_HMAC_SECRET) but [alerts] triage_channel is not set"
            ]
        return []

    # -- intake ---------------------------------------------------------------------------------
    def receive(self, source: str, n: AlertNotification) -> Ingested | None:
        """Record one notification (fast: the sender waits); Slack work happens after. None: its
        group is new and its sender over the new-group limit, so it is counted on a summary card."""
        now = self.clock()
        cfg = self.settings.config.alerts
        if time.monotonic() >= self._next_expiry:
            self._next_expiry = time.monotonic() + EXPIRE_EVERY
            self.background.submit(self._expire)
        labels = {**n.groupLabels, **n.commonLabels}
        where = route(self.settings.config, labels)
        if where.channel is None:
            raise NoTriageChannel("no triage channel: set [alerts] triage_channel in the config")
        template = AlertGroup(
            group_key=n.groupKey,
            source=source,
            status=n.status,
            receiver=n.receiver,
            title=clean_title(n.title),  # plain text, as a typed title: no mentions, no links
            group_labels=n.groupLabels,
            common_labels=n.commonLabels,
            common_annotations=n.commonAnnotations,
            external_url=n.externalURL,
            truncated=n.truncatedAlerts,
            channel_id=where.channel,
            severity=where.severity,
            auto_declare=where.auto_declare,
        )
        if self.repo.alert_group_by_key(n.groupKey) is None and floods.over_new_group_limit(
            self.repo, cfg, source, now
        ):
            floods.summarise(self.repo, template, now)
            self.cards.wake()
            return None
        records = [
            AlertRecord(
                group_id=0,
                fingerprint=a.fingerprint,
                status=a.status,
                labels=a.labels,
                annotations=a.annotations,
                starts_at=a.startsAt,
                ends_at=a.endsAt,
                generator_url=a.generatorURL,
                dashboard_url=a.dashboardURL,
                panel_url=a.panelURL,
                silence_url=a.silenceURL,
            )
            for a in n.alerts
        ]
        got = self.repo.ingest_alerts(template, records, n.status, now)
        group = got.group
        if group.incident_id is not None and (got.fired or got.resolved):
            incident = self.repo.incident(group.incident_id)
            self._record_alerts(incident, got.fired, got.resolved)
            if got.resolved:
                self.background.submit(self._say_resolved, incident, group, got.resolved)
        if (
            group.auto_declare
            and group.triage == "open"
            and group.status == "firing"
            and any(a.status == "firing" for a in records)
        ):
            self.background.submit(self._auto_declare, group.id or 0)
        self.cards.wake()
        return got

    # -- triage -----------------------------------------------------------------------------------
    def declare(self, group_id: int, user_id: str | None, dedupe_key: str | None = None) -> DeclareResult:
        """Declare an incident from the group (once: the first click or auto-declare wins)."""
        group = self._group(group_id)
        claimed = self.repo.triage_alert_group(group_id, "declared", user_id)
        if claimed is None:
            raise IncidentBotError(self._already(group))
        alerts = self.repo.alerts_of(group_id)
        try:
            result = self.incidents.declare(
                title=group.title,
                severity=group.severity,
                declarer=user_id or self.bot_user_id,
                summary=_summary(group, alerts),
                dedupe_key=f"alert-group:{group_id}",
            )
        except Exception:
            self.repo.reopen_alert_group(group_id)
            self.cards.wake()
            raise
        incident = result.incident
        assert incident.id is not None
        self.repo.link_alert_group(group_id, incident.id)
        self._set_milestones(incident, group, alerts)
        self._record_alerts(incident, [a for a in alerts if a.status == "firing"], [])
        self.cards.wake()
        if not result.duplicate:
            self.happened(incident, "alert_attached", {"key": f"alert-group:{group_id}", "group": group_id})
        return result

    def attach(self, group_id: int, incident: Incident, user_id: str) -> Incident:
        group = self._group(group_id)
        if incident.is_closed:
            raise IncidentBotError(f"*{incident_ref(incident)}* is closed; reopen it first.")
        if self.repo.triage_alert_group(group_id, "attached", user_id, incident.id) is None:
            raise IncidentBotError(self._already(group))
        alerts = self.repo.alerts_of(group_id)
        self._record_alerts(incident, [a for a in alerts if a.status == "firing"], [])
        self._post(
            incident,
            f":link: <@{user_id}> attached alert *{escape(group.title)}* "
            f"({sum(a.status == 'firing' for a in alerts)} firing)",
        )
        self.cards.wake()
        self.happened(incident, "alert_attached", {"key": f"alert-group:{group_id}", "group": group_id})
        return incident

    def ignore(self, group_id: int, user_id: str) -> None:
        group = self._group(group_id)
        if self.repo.triage_alert_group(group_id, "ignored", user_id) is None:
            raise IncidentBotError(self._already(group))
        self.cards.wake()

    def _auto_declare(self, group_id: int) -> None:
        try:
            with self._auto_declaring:
                if not floods.auto_declare_allowed(self.repo, self.settings.config.alerts, self.clock()):
                    log.warning(
                        "alert group %s: not auto-declared, [alerts] auto_declare_max reached; "
                        "its card waits for a person",
                        group_id,
                    )
                    return
                result = self.declare(group_id, None)
        except IncidentBotError:
            return  # another replica (or a person) got there first
        except Exception:
            log.exception("alert group %s: auto-declare failed", group_id)
            return
        log.info("alert group %s auto-declared %s", group_id, incident_ref(result.incident))

    def _expire(self) -> None:
        try:
            gone = floods.expire(self.repo, self.settings.config.alerts, self.clock())
        except Exception:
            job_failed("alert-retention")
            return
        if gone:
            log.info("alert groups: %s resolved groups past [alerts] retention_days deleted", gone)

    # -- the record ---------------------------------------------------------------------------------
    def _set_milestones(self, incident: Incident, group: AlertGroup, alerts: list[AlertRecord]) -> None:
        """Started: the earliest alert start; detected: when the first notification reached us."""
        assert incident.id is not None
        if alerts:
            started = min(a.starts_at for a in alerts)
            self.repo.set_milestone(
                incident.id, Milestone.STARTED.value, started, None, "alert", only_if_unset=False
            )
        self.repo.set_milestone(
            incident.id, Milestone.DETECTED.value, group.first_received_at, None, "alert", only_if_unset=False
        )

    def _record_alerts(
        self, incident: Incident, fired: list[AlertRecord], resolved: list[AlertRecord]
    ) -> None:
        assert incident.id is not None
        for a in fired:
            self.repo.add_timeline_event(
                TimelineEvent(
                    incident_id=incident.id,
                    at=a.starts_at,
                    source="automatic",
                    kind="alert",
                    text=f":rotating_light: Alert firing: {escape(_alert_name(a))}",
                    plain_text=f"Alert firing: {_alert_name(a)}",
                    dedupe_key=f"alert:{a.id}:firing:{a.starts_at.isoformat()}",
                )
            )
        for a in resolved:
            at = a.ends_at or a.resolved_at or self.clock()
            self.repo.add_timeline_event(
                TimelineEvent(
                    incident_id=incident.id,
                    at=at,
                    source="automatic",
                    kind="alert",
                    text=f":white_check_mark: Alert resolved: {escape(_alert_name(a))}",
                    plain_text=f"Alert resolved: {_alert_name(a)}",
                    dedupe_key=f"alert:{a.id}:resolved:{a.starts_at.isoformat()}",
                )
            )

    def _say_resolved(self, incident: Incident, group: AlertGroup, resolved: list[AlertRecord]) -> None:
        names = ", ".join(escape(_alert_name(a)) for a in resolved[:5])
        more = f" and {len(resolved) - 5} more" if len(resolved) > 5 else ""
        self._post(
            incident,
            f":white_check_mark: Alert resolved: {names}{more} (the incident's status is unchanged)",
        )

    def _post(self, incident: Incident, text: str) -> None:
        if not incident.channel_id:
            return
        try:
            self.client.chat_postMessage(channel=incident.channel_id, text=one_line(text, 3000))
        except Exception as exc:
            log.warning("INC-%s: could not post an alert line: %s", incident.number, slack_error(exc))

    # -- reading --------------------------------------------------------------------------------
    def render(self, group: AlertGroup) -> tuple[str, list[Block]]:
        assert group.id is not None
        if group.triage == OVERFLOW:
            return floods.summary_card(group, self.settings.config.alerts.new_groups_per_minute)
        alerts = self.repo.alerts_of(group.id)
        incident = self.repo.incident(group.incident_id) if group.incident_id else None
        during = self.during_maintenance(group)
        text = blocks.card_text(group, alerts) + (" (during maintenance)" if during else "")
        return escape(text), blocks.card(group, alerts, incident, self.can_page(), during)

    def during_maintenance(self, group: AlertGroup) -> str | None:
        """The maintenance window(s) covering the group's components when it first arrived, as
        the card says it, or None."""
        config = self.settings.config.statuspage
        if not any(c.alert_labels for c in config.components):
            return None
        labels = {**group.group_labels, **group.common_labels}
        found = covering(config, self.repo.maintenance_covering(group.first_received_at), labels)
        return (
            "; ".join(
                f"{escape(w.title)} ({escape(', '.join(names))}), until {formats.when(w.ends_at, zone=True)}"
                for w, names in found
            )
            or None
        )

    def _group(self, group_id: int) -> AlertGroup:
        group = self.repo.alert_group(group_id)
        if group is None:
            raise IncidentBotError("This alert is no longer known to the bot.")
        return group

    def _already(self, group: AlertGroup) -> str:
        fresh = self.repo.alert_group(group.id or 0) or group
        who = f" by <@{fresh.triaged_by}>" if fresh.triaged_by else ""
        return f"This alert was already {fresh.triage}{who}; nothing changed."


def _alert_name(a: AlertRecord) -> str:
    name = a.labels.get("alertname", a.fingerprint)
    summary = a.annotations.get("summary")
    return one_line(f"{name}: {summary}" if summary else name, 300)


def _summary(group: AlertGroup, alerts: list[AlertRecord]) -> str:
    ann = group.common_annotations or (alerts[0].annotations if alerts else {})
    return one_line(ann.get("description") or ann.get("summary") or "", 2000)
