"""The one module that knows every service: it builds each with its collaborators, once per process.

No service imports this module or one another's container: each receives the repository, the
Slack client, the settings, the clock and the one or two callables it needs from the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.alerts.service import AlertService
from bot.analytics import command as stats
from bot.analytics.command import StatsReporter
from bot.analytics.observe import observe_closed
from bot.assist import listeners as assist_commands
from bot.assist.service import AssistService
from bot.commands import listeners as commands
from bot.config import Settings
from bot.followups import commands as followups
from bot.followups.service import FollowupService, Request
from bot.home.service import HomeTab
from bot.incidents import declare_listeners
from bot.incidents import listeners as incidents
from bot.incidents.access import Access, ChannelMembers, People
from bot.incidents.checklist_service import ChecklistService, Started
from bot.incidents.declare import IncidentService
from bot.incidents.lifecycle import LifecycleService
from bot.incidents.role_defaults import Filled, RoleDefaults
from bot.incidents.vocabulary import incident_ref
from bot.paging import listeners as paging_commands
from bot.paging.service import PagingService
from bot.postmortem import PostmortemService
from bot.postmortem import listeners as postmortem
from bot.postmortem.worker import DocumentWorker
from bot.recall import listeners as recall
from bot.recall.declared import post_similar
from bot.reminders.scheduler import ReminderSweeper
from bot.slack.commands import CommandTable
from bot.slack.directory import Lookups
from bot.slack.permalinks import Permalinks
from bot.statuspage import listeners as statuspage_commands
from bot.statuspage.service import StatuspageService
from bot.timeline.service import TimelineService
from bot.workflows import listeners as workflow_commands
from bot.workflows.service import WorkflowService
from bot.workflows.steps import StepRunner
from storage.models import ChannelMessage, Document, Incident, TimelineEvent, utcnow
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
    workspace_url: str | None = None
    """The workspace URL ``auth.test`` gave at start-up (None: asked when a permalink is first needed)."""
    slack_auth: Mapping[str, Any] | None = None
    """The start-up's ``auth.test`` answer: Bolt's authorize step uses it, so no request waits on
    one more ``auth.test`` before its ack (None: asked on the first request)."""
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
    statuspage: StatuspageService = field(init=False)
    checklists: ChecklistService = field(init=False)
    role_defaults: RoleDefaults = field(init=False)
    assist: AssistService = field(init=False)
    """The optional model (``[assist]``): drafts on request, embeddings for similar incidents."""
    workflows: WorkflowService = field(init=False)

    access: Access = field(init=False)
    links: Permalinks = field(init=False)
    """Message permalinks, composed from the workspace URL (the start-up's auth.test, else one more)."""
    lookups: Lookups = field(init=False)
    """Names Slack gave (users.info / conversations.info), shared by what shows text: the document,
    the catch-up, follow-up tickets."""
    documents: DocumentWorker = field(init=False)
    """Document generation, off the listener threads (see bot.postmortem.worker)."""

    def __post_init__(self) -> None:
        repo, client, settings, who = self.repo, self.client, self.settings, self.bot_user_id
        self.access = Access(
            ChannelMembers(client),
            People(client),
            page_rule=settings.config.permissions.page,
            statuspage_rule=settings.config.permissions.statuspage,
            roles_of=repo.active_roles,
        )
        self.documents = DocumentWorker()
        self.links = Permalinks(client, self.workspace_url)
        self.lookups = Lookups()
        self.incidents = IncidentService(
            repo, client, settings, clock=self.now, bot_user_id=who, changed=self.incident_changed
        )
        self.followups = FollowupService(
            repo, client, settings, clock=self.now, installation=who, lookups=self.lookups
        )
        self.timeline = TimelineService(
            repo,
            client,
            settings,
            bot_user_id=who,
            on_action_item=self.offer_followup,
            on_new_message=self.workflow_message,
            links=self.links,
        )
        self.postmortem = PostmortemService(
            repo,
            client,
            settings,
            reconcile=self.reconcile,
            clock=self.now,
            bot_user_id=who,
            links=self.links,
            lookups=self.lookups,
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
            happened=self.workflow_event,
        )
        self.paging = PagingService(repo, settings, clock=self.now)
        self.checklists = ChecklistService(
            repo, client, settings, clock=self.now, happened=self.workflow_event
        )
        self.role_defaults = RoleDefaults(
            repo,
            client,
            settings,
            self.incidents,
            clock=self.now,
            bot_user_id=who,
            oncall_email=self.oncall_email if self.paging.can_tell_oncall else None,
        )
        self.workflows = WorkflowService(
            repo,
            client,
            settings,
            StepRunner(
                client,
                settings,
                set_severity=self.lifecycle.set_severity,
                set_field=self.lifecycle.set_field,
                page=self.paging.page,
                send_webhook=self.paging.send_to,
                start_checklist=self.start_checklist,
                resolve_filler=self.resolve_filler,
                assign_role=self.lifecycle.assign_role,
                add_timeline_event=repo.add_timeline_event,
                topic_of=self.topic_of,
                clock=self.now,
                ticket_refusal=self.ticket_refusal,
                post_item=self.post_item,
                request_ticket=self.request_ticket,
                bot_user_id=who,
            ),
            clock=self.now,
        )
        self.statuspage = StatuspageService(
            repo, client, settings, clock=self.now, send_event=self.send_event, installation=who
        )
        self.alerts = AlertService(
            repo,
            client,
            settings,
            self.incidents,
            clock=self.now,
            bot_user_id=who,
            can_page=self.can_page,
            happened=self.workflow_event,
        )
        self.home = HomeTab(repo, client, settings, clock=self.now)
        self.stats = StatsReporter(
            repo, types=settings.config.types, fields=settings.config.fields, clock=self.now
        )
        self.assist = AssistService(repo, settings, clock=self.now)
        self._embedding = threading.Lock()

    # The callables services receive look their target up when called, so a service replaced
    # or patched after wiring (the demo's clock, a test's failing backfill) is the one called.
    def now(self) -> datetime:
        return self.clock()

    def reconcile(self, incident: Incident, recheck_since: datetime | None = None) -> dict[str, int]:
        return self.timeline.reconcile(incident, recheck_since=recheck_since)

    def send_event(self, event_id: str, body: dict[str, Any]) -> None:
        self.paging.send_event(event_id, body)

    def incident_changed(self, incident: Incident, event: str) -> None:
        self.paging.incident_changed(incident, event)
        self.statuspage.incident_changed(incident, event)
        if event == "declared":
            self._never_raises("fill the default roles", lambda: self.role_defaults.fill(incident), incident)
            post_similar(self.repo, self.client, incident)
            self.workflow_event(incident, "declared", {"key": "declared"})
        if event == "type_changed":
            self._never_raises(
                "fill the new type's default roles",
                lambda: self.role_defaults.fill(incident, keep_held=True),
                incident,
            )
        if event in ("declared", "type_changed"):
            self._never_raises(
                "post the checklists", lambda: self.checklists.post_for_type(incident), incident
            )

    def _never_raises(self, what: str, call: Callable[[], object], incident: Incident) -> None:
        """A declare or a type change does not depend on it."""
        try:
            call()
        except Exception:
            log.exception("%s: could not %s", incident_ref(incident), what)

    def oncall_email(self, schedule_id: str) -> str | None:
        return self.paging.pagerduty.schedule_oncall_email(schedule_id)

    def workflow_event(self, incident: Incident, event: str, detail: dict[str, Any]) -> None:
        self.workflows.on_event(incident, event, detail)

    def start_checklist(self, incident: Incident, name: str) -> Started:
        return self.checklists.start_checklist(incident, name)

    def resolve_filler(self, role: str, filler: str, declarer: str) -> Filled:
        return self.role_defaults.resolve(role, filler, declarer)

    def topic_of(self, incident: Incident) -> str:
        """The channel topic the incident has now (its lead and topic links included)."""
        fresh = self.repo.incident(incident.id or 0)
        return self.incidents.topic(fresh, self.repo.active_roles(fresh.id or 0).get("lead"))

    def ticket_refusal(self, incident: Incident) -> str | None:
        return self.followups.unattended_refusal(incident)

    def post_item(self, incident: Incident, text: str, kind: str) -> TimelineEvent | None:
        return self.timeline.post_item(incident, text, kind)

    def request_ticket(self, incident: Incident, event_id: int, body: str | None) -> Request:
        """A workflow's ticket: asked like a person's, created off the step's thread."""
        request = self.followups.request(incident, event_id, None, body=body)
        self.followups.create_later([request])
        return request

    def workflow_message(self, incident: Incident, message: ChannelMessage) -> None:
        self.workflows.on_message(incident, message.text, message.ts)

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

    def remind_maintenance(self, now: datetime) -> int:
        return self.statuspage.remind_maintenance(now)

    def sweep_embeddings(self, now: datetime) -> None:
        """The reminder sweep's turn: embed new and changed incidents off its thread, one run at a time."""
        if not self.settings.config.assist.embeddings or not self._embedding.acquire(blocking=False):
            return

        def run() -> None:
            try:
                self.assist.sweep_embeddings()
            except Exception:
                log.exception("embeddings sweep failed")
            finally:
                self._embedding.release()

        threading.Thread(target=run, name="assist-embeddings", daemon=True).start()

    def neighbours(self, incident: Incident, ids: Sequence[int]) -> dict[int, float]:
        return self.assist.neighbours(incident, ids)

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

    def sweep_followups_and_workflows(self, now: datetime) -> None:
        """On the reminder scheduler: follow-up tickets' retries and sync, then workflow timers."""
        self.followups.sweep(now)
        try:
            self.workflows.sweep(now)
        except Exception:
            log.exception("the workflow timers were not swept")

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
            sweep_followups=self.sweep_followups_and_workflows,
            sweep_documents=self.catch_up_documents,
            sweep_maintenance=self.remind_maintenance,
            sweep_embeddings=self.sweep_embeddings,
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
            "statuspage": self.statuspage,
            "checklists": self.checklists,
            "workflows": self.workflows,
            "access": self.access,
            "documents": self.documents,
            "assist": self.assist,
            "own_user_id": self.bot_user_id,  # (Bolt's own "bot_user_id" key comes from its authorize)
            "commands": COMMANDS,
        }


# `/incident help` lists them in this order.
COMMANDS = CommandTable(
    [
        *commands.COMMANDS,
        *declare_listeners.COMMANDS,
        *incidents.COMMANDS,
        *recall.COMMANDS,
        *assist_commands.COMMANDS,
        *postmortem.COMMANDS,
        *followups.COMMANDS,
        *stats.COMMANDS,
        *paging_commands.COMMANDS,
        *statuspage_commands.COMMANDS,
        *workflow_commands.COMMANDS,
    ]
)


def build_services(
    settings: Settings,
    engine: Engine,
    client: WebClient,
    bot_user_id: str = "",
    workspace_url: str | None = None,
    slack_auth: Mapping[str, Any] | None = None,
) -> Services:
    return Services(
        settings=settings,
        engine=engine,
        repo=Repository(engine),
        client=client,
        bot_user_id=bot_user_id,
        workspace_url=workspace_url,
        slack_auth=slack_auth,
    )
