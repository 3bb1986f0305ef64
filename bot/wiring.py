"""The one module that knows every service: it builds each with its collaborators, once per process.

No service imports this module or one another's container: each receives the repository, the
Slack client, the settings, the clock and the one or two callables it needs from the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.alerts.service import AlertService
from bot.analytics import command as stats
from bot.analytics.command import StatsReporter
from bot.analytics.observe import observe_closed
from bot.commands import listeners as commands
from bot.config import Settings
from bot.followups import commands as followups
from bot.followups.service import FollowupService
from bot.home.service import HomeTab
from bot.incidents import declare_listeners
from bot.incidents import listeners as incidents
from bot.incidents.access import Access, ChannelMembers
from bot.incidents.declare import IncidentService
from bot.incidents.lifecycle import LifecycleService
from bot.incidents.vocabulary import incident_ref
from bot.paging import listeners as paging_commands
from bot.paging.service import PagingService
from bot.postmortem import PostmortemService
from bot.postmortem import listeners as postmortem
from bot.postmortem.worker import DocumentWorker
from bot.reminders.scheduler import ReminderSweeper
from bot.slack.commands import CommandTable
from bot.timeline.service import TimelineService
from storage.models import Document, Incident, TimelineEvent, utcnow
from storage.repository import Repository
from storage.stores.reminders import REMINDER_CLAIM_STALE_AFTER

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The services of one process, wired together; listeners reach them through Bolt's context."""

    settings: Settings
    engine: Engine
    repo: Repository
    client: WebClient
    bot_user_id: str = ""
    clock: Callable[[], datetime] = utcnow
    """What "now" is for the domain; the demo replays a past incident on the emulator's clock."""
    incidents: IncidentService = field(init=False)
    lifecycle: LifecycleService = field(init=False)
    timeline: TimelineService = field(init=False)
    postmortem: PostmortemService = field(init=False)
    followups: FollowupService = field(init=False)
    home: HomeTab = field(init=False)
    stats: StatsReporter = field(init=False)
    alerts: AlertService = field(init=False)
    paging: PagingService = field(init=False)

    access: Access = field(init=False)
    documents: DocumentWorker = field(init=False)
    """Document generation, off the listener threads (see bot.postmortem.worker)."""

    def __post_init__(self) -> None:
        repo, client, settings, who = self.repo, self.client, self.settings, self.bot_user_id
        self.access = Access(ChannelMembers(client))
        self.documents = DocumentWorker()
        self.incidents = IncidentService(
            repo, client, settings, clock=self.now, bot_user_id=who, changed=self.incident_changed
        )
        self.followups = FollowupService(repo, client, settings, clock=self.now, installation=who)
        self.timeline = TimelineService(
            repo, client, settings, bot_user_id=who, on_action_item=self.offer_followup
        )
        self.postmortem = PostmortemService(
            repo, client, settings, reconcile=self.reconcile, clock=self.now, bot_user_id=who
        )
        self.lifecycle = LifecycleService(
            repo,
            client,
            settings,
            self.incidents,
            backfill_channel=self.backfill_channel,
            generate_document=self.generate_document,
            after_close=self.after_close,
            run_later=self.documents.submit,
            clock=self.now,
            bot_user_id=who,
            changed=self.incident_changed,
        )
        self.paging = PagingService(repo, settings, clock=self.now)
        self.alerts = AlertService(
            repo, client, settings, self.incidents, clock=self.now, bot_user_id=who, can_page=self.can_page
        )
        self.home = HomeTab(repo, client, settings, clock=self.now)
        self.stats = StatsReporter(repo, client, clock=self.now)

    # The callables services receive look their target up when called, so a service replaced
    # or patched after wiring (the demo's clock, a test's failing backfill) is the one called.
    def now(self) -> datetime:
        return self.clock()

    def reconcile(self, incident: Incident, recheck_since: datetime | None = None) -> dict[str, int]:
        return self.timeline.reconcile(incident, recheck_since=recheck_since)

    def incident_changed(self, incident: Incident, event: str) -> None:
        self.paging.incident_changed(incident, event)

    def can_page(self) -> bool:
        return self.paging.can_page

    def backfill_channel(self, incident: Incident) -> int:
        return self.timeline.backfill_channel(incident)

    def generate_document(
        self, incident_id: int, *, draft: bool, requested_by: str | None, request_key: str | None
    ) -> Document:
        return self.postmortem.generate(
            incident_id, draft=draft, requested_by=requested_by, request_key=request_key
        )

    def catch_up_documents(self, now: datetime) -> list[int]:
        return self.postmortem.catch_up(now, self.documents.has_room, self.documents.submit)

    def offer_followup(self, incident: Incident, event: TimelineEvent) -> None:
        self.followups.offer(incident, event)

    def after_close(self, incident: Incident) -> None:
        """On close, before the document: the duration histograms (a metric never stops a close),
        then the follow-up tickets (which never raise)."""
        try:
            observe_closed(self.repo.milestones(incident.id or 0), incident.severity)
        except Exception:
            log.exception("%s: the duration metrics were not observed", incident_ref(incident))
        self.followups.after_close(incident)

    def reminder_sweeper(
        self,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        stale_after: timedelta = REMINDER_CLAIM_STALE_AFTER,
    ) -> ReminderSweeper:
        return ReminderSweeper(
            self.repo,
            self.client,
            self.settings,
            reconcile=self.reconcile,
            followup_counts=self.followups.counts,
            sweep_followups=self.followups.sweep,
            sweep_documents=self.catch_up_documents,
            owner=owner,
            clock=clock,
            stale_after=stale_after,
        )

    def context(self) -> dict[str, Any]:
        """What a listener may ask Bolt's context for, by name."""
        return {
            "services": self,
            "settings": self.settings,
            "repo": self.repo,
            "incidents": self.incidents,
            "lifecycle": self.lifecycle,
            "timeline": self.timeline,
            "postmortem": self.postmortem,
            "followups": self.followups,
            "home": self.home,
            "stats": self.stats,
            "alerts": self.alerts,
            "paging": self.paging,
            "access": self.access,
            "documents": self.documents,
            "own_user_id": self.bot_user_id,  # (Bolt's own "bot_user_id" key comes from its authorize)
            "commands": COMMANDS,
        }


# `/incident help` lists them in this order.
COMMANDS = CommandTable(
    [
        *commands.COMMANDS,
        *declare_listeners.COMMANDS,
        *incidents.COMMANDS,
        *postmortem.COMMANDS,
        *followups.COMMANDS,
        *stats.COMMANDS,
        *paging_commands.COMMANDS,
    ]
)


def build_services(settings: Settings, engine: Engine, client: WebClient, bot_user_id: str = "") -> Services:
    return Services(
        settings=settings, engine=engine, repo=Repository(engine), client=client, bot_user_id=bot_user_id
    )
