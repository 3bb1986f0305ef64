"""Publishing an incident's public updates: recorded once per Slack delivery, on the incident's
timeline and in its channel; resolving the incident asks (never silently) to resolve the public
incident too."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.reminders.scheduler import TRANSIENT_ERRORS
from bot.slack.client import slack_error
from bot.slack.text import escape
from bot.statuspage import subscribers
from bot.statuspage.blocks import RESOLVED_MESSAGE, Draft, PublicForm, resolve_prompt
from bot.statuspage.config import IMPACT_LABELS, OPERATIONAL, STATE_LABELS
from bot.statuspage.mail import Mailer
from bot.statuspage.maintenance import reminder_text
from bot.statuspage.preview import preview_text, private_text, with_draft
from bot.statuspage.sync import StatuspageSync
from bot.statuspage.web import PublicStatus
from storage.models import Incident, PublicIncident, PublicUpdate, TimelineEvent
from storage.repository import Repository
from storage.stores.reminders import REMINDER_CLAIM_STALE_AFTER

log = logging.getLogger(__name__)


class StatuspageService:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        clock: Callable[[], datetime],
        send_event: Callable[[str, dict[str, Any]], None] | None = None,
        installation: str = "",
        sync: StatuspageSync | None = None,
    ) -> None:
        self.repo = repo
        self.send_event = send_event
        self.client = client
        self.settings = settings
        self.config = settings.config.statuspage
        self.clock = clock
        self.public = PublicStatus(settings, repo, clock)
        self.sync = sync or StatuspageSync(repo, settings, clock, installation=installation)
        self.mailer = Mailer(repo, settings, clock)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def publish(self, incident: Incident, form: PublicForm, user_id: str, dedupe_key: str) -> str:
        """Record the update (once per delivery), note it on the timeline, say so in the channel."""
        now = self.clock()
        update = PublicUpdate(
            state=form.state,
            message=form.message,
            impacts=form.impacts,
            author_id=user_id,
            dedupe_key=dedupe_key,
            posted_at=now,
            public_incident_id=0,
        )
        before = self.repo.public_incident(incident.id or 0)
        recorded = self.repo.publish_update(incident.id or 0, form.title, update)
        if recorded is None:
            return "This public update was already published."
        self.public.forget()
        if not incident.is_private:
            self._tell_subscribers(incident, *recorded, before.impacts if before else {})
            try:
                self.sync.mirror(incident.id or 0, recorded[1])
            except Exception:
                log.exception("%s: public update not queued for Statuspage", incident_ref(incident))
        state = STATE_LABELS[form.state]
        affected = [
            f"{c.name} ({IMPACT_LABELS[form.impacts[c.id]].lower()})"
            for c in self.config.components
            if form.impacts.get(c.id, OPERATIONAL) != OPERATIONAL
        ]
        plain = f"Public update ({state}): {form.title}: {form.message}"
        self.repo.add_timeline_event(
            TimelineEvent(
                incident_id=incident.id or 0,
                at=now,
                source="command",
                kind="update",
                text=escape(plain),
                plain_text=plain,
                actor_id=user_id,
                dedupe_key=f"{dedupe_key}:public_update",
            )
        )
        where = "the internal record only (private incident)" if incident.is_private else "the status page"
        lines = [
            f":globe_with_meridians: <@{user_id}> published to {where}: *{escape(form.title)}* — {state}",
            f"> {escape(form.message)}",
        ]
        if affected:
            lines.append(f"Affected: {escape(', '.join(affected))}")
        try:
            self.client.chat_postMessage(channel=incident.channel_id or "", text="\n".join(lines))
        except Exception as exc:
            log.warning("%s: public update not announced: %s", incident_ref(incident), slack_error(exc))
            return f"Published; I could not say so in the channel ({slack_error(exc)})."
        return ""

    def _tell_subscribers(
        self, incident: Incident, story: PublicIncident, update: PublicUpdate, before: dict[str, str]
    ) -> None:
        """The webhooks and the emails (through the outbox: once, retried, never blocking) and the
        components' Slack channels."""
        if self.config.webhooks and self.send_event is not None:
            try:
                self.send_event(
                    subscribers.event_id(update), subscribers.webhook_body(self.config, story, update)
                )
            except Exception:
                log.exception("%s: public update not queued for the webhooks", incident_ref(incident))
        try:
            page_url = f"{self.settings.web_url}/status" if self.settings.web_url else None
            self.mailer.enqueue(story, update, before, page_url)
        except Exception:
            log.exception("%s: public update not queued for the email subscribers", incident_ref(incident))
        for channel, text in subscribers.channel_messages(self.config, story, update, before).items():
            try:
                self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
            except Exception as exc:
                log.warning(
                    "%s: public update not posted to a component channel: %s",
                    incident_ref(incident),
                    slack_error(exc),
                )

    def preview(self, incident: Incident, draft: Draft) -> str:
        """The public page once ``draft`` is published (the form's preview), as Block Kit text."""
        if incident.is_private:
            return private_text()
        now = self.clock()
        incidents = self.repo.public_incidents_since(now - timedelta(days=self.config.history_days))
        updates = self.repo.public_updates([i.id or 0 for i in incidents])
        page, story_id = with_draft(
            self.config, incidents, updates, incident.id or 0, draft, now, self.repo.maintenance_after(now)
        )
        return preview_text(page, story_id)

    def remind_maintenance(self, now: datetime) -> int:
        """The scheduler's sweep: a reminder for each window starting within
        ``maintenance_reminder_minutes``, to the announce channel and its components' channels,
        each claimed first (once across replicas; a crashed claim is taken over once stale).
        How many went out."""
        lead = self.config.maintenance_reminder_minutes
        if not self.enabled or not lead:
            return 0
        sent = 0
        for w in self.repo.maintenance_starting(now, timedelta(minutes=lead)):
            channels = [self.settings.announce_channel or ""] + [
                c.slack_channel or "" for c in self.config.components if c.id in w.components
            ]
            text = reminder_text(self.config, w, now)
            for channel in dict.fromkeys(c for c in channels if c):
                claim = self.repo.claim_maintenance_reminder(
                    w.id or 0, f"{lead}m:{channel}", self.owner, now, REMINDER_CLAIM_STALE_AFTER
                )
                if claim is None or claim.id is None:
                    continue
                try:
                    self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
                except SlackApiError as exc:
                    error = slack_error(exc)
                    if error in TRANSIENT_ERRORS:
                        self.repo.release_maintenance_reminder(claim.id)
                    else:
                        log.warning("maintenance #%s reminder refused in %s: %s", w.id, channel, error)
                        self.repo.finish_maintenance_reminder(claim.id, now, error=error)
                    continue
                except Exception:
                    self.repo.release_maintenance_reminder(claim.id)
                    raise
                self.repo.finish_maintenance_reminder(claim.id, now)
                sent += 1
        return sent

    def resolve_public(self, incident: Incident, user_id: str, dedupe_key: str) -> str:
        """The prompt's button: a Resolved update clearing every impact, if still open."""
        current = self.repo.public_incident(incident.id or 0)
        if current is None or current.resolved_at is not None:
            return "The public incident is already resolved; nothing changed."
        form = PublicForm(
            title=current.title,
            state="resolved",
            message=RESOLVED_MESSAGE,
            impacts={c.id: OPERATIONAL for c in self.config.components},
        )
        return self.publish(incident, form, user_id, dedupe_key)

    def incident_changed(self, incident: Incident, event: str) -> None:
        """On resolve or close: when the public incident is still open, ask in the channel."""
        if event not in ("resolved", "closed") or not self.enabled:
            return
        current = self.repo.public_incident(incident.id or 0)
        if current is None or current.resolved_at is not None:
            return
        try:
            self.client.chat_postMessage(
                channel=incident.channel_id or "",
                text=f"The public status page still shows {escape(current.title)} as open. Resolve it there too?",
                blocks=resolve_prompt(current),
            )
        except Exception as exc:
            log.warning(
                "%s: the status page prompt was not posted: %s", incident_ref(incident), slack_error(exc)
            )
