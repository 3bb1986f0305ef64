"""FollowupService: action items become tickets, exactly once, without ever blocking the incident.

Every request is a ``ticket_links`` row (unique per item) plus an outbox row (unique key per
item). The tracker is called from the outbox — right after the request in the background, then by
the scheduler's sweep with back-off — never from a lifecycle change or the document.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.followups import messages
from bot.followups.config import FollowupsConfig, Target
from bot.followups.outbox import Outbox, Outcome, Refused, Retry
from bot.followups.trackers import (
    MARKER_RE,
    NewTicket,
    NotAllowed,
    Ticket,
    Tracker,
    TrackerError,
    marker_for,
    marker_key,
)
from bot.incidents.vocabulary import incident_ref
from bot.ops.failures import job_failed
from bot.slack.directory import Directory, Lookups
from bot.slack.text import one_line
from bot.timeline.capture import message_row
from storage.models import Incident, OutboxMessage, TicketLink, TimelineEvent, utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)

CREATE_KIND = "followups.create"
HORIZONS = {"immediate", "now", "short", "short-term", "long", "long-term"}
SYNC_KEEP = timedelta(days=90)  # closed incidents' tickets keep being synced this long


def build_tracker(settings: Settings) -> Tracker | None:
    """The configured tracker, or None when follow-ups are off or their secrets are missing."""
    cfg = settings.config.followups
    if cfg.tracker == "github" and settings.github_token is not None:
        from bot.followups.github import GitHubTracker

        return GitHubTracker(
            settings.github_token.get_secret_value(), settings.github_api_url, cfg.tracking_label
        )
    if cfg.tracker == "jira" and settings.jira_url and settings.jira_email and settings.jira_api_token:
        from bot.followups.jira import JiraTracker

        return JiraTracker(
            settings.jira_url,
            settings.jira_email,
            settings.jira_api_token.get_secret_value(),
            cfg.tracking_label,
        )
    return None


def check_followups(settings: Settings, error: Callable[[str], Exception]) -> None:
    """Start-up: a configured tracker must accept its credentials and know every project.

    Raises ``error(line)``; an unconfigured integration is simply off.
    """
    cfg = settings.config.followups
    if cfg.tracker is None:
        return
    missing = {
        "github": [] if settings.github_token else ["GITHUB_TOKEN"],
        "jira": [
            n
            for n, v in (
                ("JIRA_URL", settings.jira_url),
                ("JIRA_EMAIL", settings.jira_email),
                ("JIRA_API_TOKEN", settings.jira_api_token),
            )
            if not v
        ],
    }[cfg.tracker]
    if missing:
        raise error(f"[followups] tracker = {cfg.tracker} needs {', '.join(missing)} in the environment")
    if cfg.claim_lease < 30:
        log.warning(
            "[followups] claim_lease = %s s: shorter than a slow tracker call can take, so a second "
            "replica may create a duplicate ticket while the first still waits",
            cfg.claim_lease,
        )
    tracker = build_tracker(settings)
    assert tracker is not None
    try:
        tracker.check(cfg.all_places())
    except TrackerError as exc:
        raise error(f"follow-up tracker check failed: {exc.message}") from None
    finally:
        tracker.close()


def item_text(event: TimelineEvent, names: Directory | None = None) -> tuple[str, str]:
    """(horizon, text) of an action item, as the document files it: a captured message with the
    people and channels it mentions by name (``names``; the ids without it)."""
    if names is not None and event.message_ts and event.text:
        text = names.readable(event.text).strip()
    else:
        text = (event.plain_text or event.text or "").strip()
    head, sep, rest = text.partition(":")
    key = head.strip().lower()
    if sep and key in HORIZONS:
        horizon = {"now": "immediate", "short-term": "short", "long-term": "long"}.get(key, key)
        return horizon, rest.strip()
    return "short", text


@dataclass(frozen=True)
class Request:
    """The answer to a person asking for a ticket."""

    state: str  # queued | exists | needs_confirmation | refused | off
    message: str = ""
    link: TicketLink | None = None
    key: str | None = None  # the outbox key to run


class FollowupService:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        installation: str = "",
        lookups: Lookups | None = None,
    ) -> None:
        self.repo = repo
        self.lookups = lookups or Lookups()  # names Slack gave, shared with the document when wired
        self.installation = installation  # the bot's Slack user ID: scopes the ticket markers
        secret = settings.slack_signing_secret
        self.marker_key = marker_key(secret.get_secret_value()) if secret else b""  # signs them
        self.client = client
        self.settings = settings
        self.clock = clock
        self._tracker: Tracker | None = None
        self._tracker_built = False
        self._lock = threading.Lock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.outbox = Outbox(
            self.repo,
            {CREATE_KIND: self._handle_create},
            self.owner,
            clock=lambda: self.clock(),
            lease=timedelta(seconds=self.config.claim_lease),
        )
        self._pool: ThreadPoolExecutor | None = None

    # -- set-up ----------------------------------------------------------------------------------
    def _names(self) -> Directory:
        """Names for an item's text (a ticket's title, the thread's messages): asked where shown."""
        return Directory(self.client, self.lookups)

    @property
    def config(self) -> FollowupsConfig:
        return self.settings.config.followups

    @property
    def tracker(self) -> Tracker | None:
        with self._lock:
            if not self._tracker_built:
                self._tracker = build_tracker(self.settings)
                self._tracker_built = True
            return self._tracker

    def use_tracker(self, tracker: Tracker | None) -> None:
        """Tests and the bench: a tracker built elsewhere."""
        with self._lock:
            self._tracker, self._tracker_built = tracker, True

    @property
    def enabled(self) -> bool:
        return self.tracker is not None

    def _background(self, fn: Callable[[], Any]) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="followups")
            pool = self._pool

        def safe() -> None:
            try:
                fn()
            except Exception:
                job_failed("followups-background")

        pool.submit(safe)

    # -- items -----------------------------------------------------------------------------------
    def items(self, incident: Incident) -> list[tuple[int, TimelineEvent, TicketLink | None]]:
        """The incident's action items, numbered from 1, with their tickets."""
        assert incident.id is not None
        links = {link.event_id: link for link in self.repo.ticket_links(incident.id)}
        events = self.repo.action_item_events(incident.id)
        return [(n, e, links.get(e.id or 0)) for n, e in enumerate(events, start=1)]

    def counts(self, incident_ids: list[int]) -> dict[int, tuple[int, int]]:
        """For the reminders: (action items, of which done) per incident; empty when off."""
        if self.tracker is None or not incident_ids:
            return {}
        return self.repo.followup_counts(incident_ids)

    def tickets_by_message(self, incident_id: int) -> dict[str, TicketLink]:
        """For the document: each item's ticket keyed by the item's message ts."""
        return {link.source_ts: link for link in self.repo.ticket_links(incident_id) if link.source_ts}

    # -- creating --------------------------------------------------------------------------------
    def unattended_refusal(self, incident: Incident) -> str | None:
        """Why a ticket nobody is there to confirm (a workflow rule's) cannot be made, or None."""
        if self.tracker is None:
            return "follow-up tickets are not set up (`[followups]` and its tracker's token)"
        if self.config.target(incident.severity, incident.is_private) is None:
            return "the incident is private and no private repository or project is configured"
        return None

    def request(
        self,
        incident: Incident,
        event_id: int,
        user_id: str | None,
        confirmed: bool = False,
        body: str | None = None,
    ) -> Request:
        """Ask for a ticket for one item. Database only: the tracker is called later. ``body``:
        the ticket's text instead of the item's (a workflow's template; not for private content)."""
        tracker = self.tracker
        if tracker is None:
            return Request("off", "Follow-up tickets are not set up (see `[followups]` in the README).")
        assert incident.id is not None
        event = next((e for e in self.repo.action_item_events(incident.id) if e.id == event_id), None)
        if event is None:
            return Request("refused", "That message is no longer an action item of this incident.")
        existing = self.repo.ticket_link(event_id)
        if existing is not None:
            if existing.state == "error":
                return self._retry_refused(existing)
            return Request("exists", "", existing, f"followups:create:{event_id}")
        target = self.config.target(incident.severity, incident.is_private)
        if target is None:
            if self.config.private == "never":
                return Request(
                    "refused",
                    "This incident is private and no private repository or project is configured, "
                    "so no ticket is created.",
                )
            if not confirmed:
                return Request(
                    "needs_confirmation", self._place(self.config.target(incident.severity, False))
                )
            target = self.config.target(incident.severity, False)
            assert target is not None
        place = self._place(target)
        link = self.repo.add_ticket_link(
            TicketLink(
                incident_id=incident.id,
                event_id=event_id,
                source_ts=event.message_ts,
                tracker=tracker.name,
                project=place,
                requested_by=user_id,
            )
        )
        if link is None:  # a concurrent request won
            link = self.repo.ticket_link(event_id)
            return Request("exists", "", link, f"followups:create:{event_id}")
        key = f"followups:create:{event_id}"
        self.outbox.enqueue(
            CREATE_KIND,
            key,
            {
                "event_id": event_id,
                "incident_id": incident.id,
                "project": place,
                "issue_type": target.issue_type or "Task",
                "labels": list(target.labels or []),
                "confirmed_private": bool(incident.is_private and confirmed),
                **({"body": body} if body else {}),
            },
        )
        return Request("queued", "", link, key)

    def _retry_refused(self, link: TicketLink) -> Request:
        key = f"followups:create:{link.event_id}"
        assert link.id is not None
        self.repo.update_ticket_link(link.id, state="pending", error=None)
        self.repo.outbox_requeue(key, self.clock())
        return Request("queued", "", self.repo.ticket_link(link.event_id), key)

    def request_all(self, incident: Incident, user_id: str | None) -> list[Request]:
        return [
            self.request(incident, e.id or 0, user_id) for _n, e, link in self.items(incident) if link is None
        ]

    def create_now(self, requests: list[Request]) -> None:
        """Try the tracker for these requests (call it after the Slack ack; it never raises)."""
        for r in requests:
            if r.key is None:
                continue
            try:
                if r.state == "queued":
                    self.outbox.run(r.key)
                if r.link is not None:
                    self.show(r.link.event_id)
            except Exception:
                job_failed("followups-create", r.key)

    def create_later(self, requests: list[Request]) -> None:
        if any(r.key for r in requests):
            self._background(lambda: self.create_now(requests))

    def _place(self, target: Target | None) -> str:
        if target is None:
            return ""
        return (target.repository if self.config.tracker == "github" else target.project) or ""

    def _handle_create(self, row: OutboxMessage) -> dict[str, Any]:
        """The outbox handler: find the ticket a previous attempt made, or create it."""
        tracker = self.tracker
        if tracker is None:
            raise Retry("the tracker is not configured in this process")
        p = row.payload
        link = self.repo.ticket_link(int(p["event_id"]))
        if link is None or link.id is None:
            raise Refused("the item's ticket request is gone")
        if link.key:  # linked by hand meanwhile
            return {"key": link.key, "url": link.url}
        incident = self.repo.incident(int(p["incident_id"]))
        event = (
            self.repo.event_for_message(incident.id or 0, link.source_ts or "") if link.source_ts else None
        )
        if event is None or event.id != link.event_id:
            raise Refused("the action item's message is gone")
        marker = marker_for(incident.number, link.event_id, self.installation, self.marker_key)
        assert MARKER_RE.match(marker)
        # A retry also looks for the unsigned markers earlier versions wrote (during a rolling
        # upgrade an older replica may have made the first attempt); like every marker search, it
        # adopts only a ticket the bot's own account opened.
        older = [
            marker_for(incident.number, link.event_id, self.installation),
            marker_for(incident.number, link.event_id),
        ]
        markers = list(dict.fromkeys([marker, *older])) if row.attempts > 1 else [marker]
        creating = False
        try:
            ticket = None
            for searched in markers:
                ticket = tracker.find_by_marker(p["project"], searched)
                if ticket is not None:
                    break
            if ticket is None:
                creating = True
                ticket = tracker.create(self._new_ticket(incident, event, p, marker))
        except TrackerError as exc:
            # Recorded on the link only while this worker still holds the claim: when its call
            # outlived the lease, another worker has taken over and may have linked the ticket
            # already (found by its marker); a late timeout must not turn it back into "pending".
            assert row.id is not None
            state = "pending" if exc.retryable else "error"
            if not self.repo.update_ticket_link_while_claimed(
                link.id, row.id, self.owner, state=state, error=exc.message
            ):
                log.info("item %s: %s, heard after another worker took over", link.event_id, exc.message)
            if exc.retryable:
                after = exc.retry_after
                if creating and not exc.rate_limited:  # it may exist: let the search index catch up
                    after = max(after or 0.0, self.config.claim_lease)
                raise Retry(exc.message, after) from None
            raise Refused(exc.message) from None
        self._store(link.id, ticket)
        return {"key": ticket.key, "url": ticket.url}

    def _store(self, link_id: int, ticket: Ticket, **extra: Any) -> None:
        self.repo.update_ticket_link(
            link_id,
            key=ticket.key,
            url=ticket.url,
            state=ticket.state,
            raw_state=ticket.raw_state,
            assignee=ticket.assignee,
            error=None,
            synced_at=self.clock(),
            **extra,
        )

    def _new_ticket(
        self, incident: Incident, event: TimelineEvent, p: dict[str, Any], marker: str
    ) -> NewTicket:
        ref = incident_ref(incident)
        _horizon, text = item_text(event, self._names())
        show_content = not incident.is_private or self.config.private_content
        links: list[tuple[str, str]] = []
        channel = _channel_link(event.permalink)
        if channel:
            links.append((f"Incident channel ({ref})", channel))
        if event.permalink:
            links.append(("The action item in Slack", event.permalink))
        doc = next(
            (
                d
                for d in reversed(self.repo.documents(incident.id or 0))
                if d.file_permalink and d.state == "published"
            ),
            None,
        )
        if doc is not None and doc.file_permalink:
            links.append(("Investigation document", doc.file_permalink))
        if show_content:
            title = one_line(text, 200) or f"Follow-up from {ref}"
            body = p.get("body") or (
                f"Follow-up from {ref}: {one_line(incident.title, 200)} ({incident.severity}).\n\n{text}"
            )
        else:
            title = f"Follow-up from {ref} (private incident)"
            body = f"A follow-up of the private incident {ref}. The details are in its Slack channel."
        return NewTicket(
            project=p["project"],
            title=title,
            body=body,
            links=tuple(links),
            marker=marker,
            labels=tuple(p.get("labels") or ()),
            assignee=self.config.users.get(event.author_id or "") if event.author_id else None,
            issue_type=p.get("issue_type") or "Task",
        )

    # -- linking ---------------------------------------------------------------------------------
    def link_existing(self, incident: Incident, number: int, ref: str, user_id: str) -> str:
        """`/incident followup link <n> <url|key>`: a human answer either way."""
        tracker = self.tracker
        if tracker is None:
            return "Follow-up tickets are not set up (see `[followups]` in the README)."
        rows = self.items(incident)
        if not 1 <= number <= len(rows):
            return f"There is no action item {number}; `/incident followup list` shows them."
        _n, event, link = rows[number - 1]
        if link is not None and link.key:
            return f"Item {number} already has a ticket: <{link.url}|{link.key}>."
        if link is not None and link.state == "pending":
            return f"A ticket for item {number} is being created already."
        default = self._place(self.config.target(incident.severity, incident.is_private)) or self._place(
            self.config.target(incident.severity, False)
        )
        try:
            parsed = tracker.parse_ref(ref, default)
        except NotAllowed as exc:
            return str(exc)
        if parsed is None:
            example = (
                "https://github.com/owner/repo/issues/12 or owner/repo#12"
                if tracker.name == "github"
                else "OPS-12 or https://your-site.atlassian.net/browse/OPS-12"
            )
            return f"`{one_line(ref, 80)}` is not a ticket URL or key (e.g. {example})."
        project, key = parsed
        places = self._link_places(incident)
        if project.lower() not in {p.lower() for p in places}:
            where = ", ".join(f"`{p}`" for p in places)
            return (
                f"`{one_line(key, 80)}` is not in {where}: follow-ups link only to tickets there; "
                "nothing changed."
            )
        try:
            ticket = tracker.fetch(key)
        except TrackerError as exc:
            return f"Could not find {key} in {messages.TRACKER_NAMES[tracker.name]}: {exc.message}"
        assert incident.id is not None
        if link is None:
            added = self.repo.add_ticket_link(
                TicketLink(
                    incident_id=incident.id,
                    event_id=event.id or 0,
                    source_ts=event.message_ts,
                    tracker=tracker.name,
                    project=project,
                    requested_by=user_id,
                    linked=True,
                )
            )
            link = added or self.repo.ticket_link(event.id or 0)
        assert link is not None and link.id is not None
        self._store(link.id, ticket, linked=True, project=project)
        try:
            tracker.track(key)
            tracker.comment(
                key, f"Linked as a follow-up of {incident_ref(incident)}.", self._backlinks(event)
            )
        except TrackerError as exc:
            log.info("could not comment on %s: %s", key, exc.message)
        self.show(event.id or 0)
        return f"Item {number} is now linked to <{ticket.url}|{ticket.key}>."

    def _link_places(self, incident: Incident) -> list[str]:
        """Where an item of this incident may be linked: the configured repositories/projects;
        for a private incident, its private one when there is one."""
        private = self._place(self.config.target(incident.severity, True)) if incident.is_private else ""
        return [private] if private else self.config.all_places()

    def _backlinks(self, event: TimelineEvent) -> tuple[tuple[str, str], ...]:
        out = []
        channel = _channel_link(event.permalink)
        if channel:
            out.append(("Incident channel", channel))
        if event.permalink:
            out.append(("The action item in Slack", event.permalink))
        return tuple(out)

    # -- Slack -----------------------------------------------------------------------------------
    def offer(self, incident: Incident, event: TimelineEvent) -> None:
        """A new action item: a "Create ticket" button in its thread (never raises)."""
        tracker = self.tracker
        if tracker is None or not incident.channel_id or not event.message_ts or event.id is None:
            return
        try:
            _h, text = item_text(event, self._names())
            fallback, blocks = messages.offer(event.id, text, tracker.name)
            posted = self.client.chat_postMessage(
                channel=incident.channel_id,
                thread_ts=event.thread_ts or event.message_ts,
                text=fallback,
                blocks=blocks,
            )
            # In the channel's record at once (its message event may come later): _offer_ts finds it.
            self.repo.record_message(message_row(incident.channel_id, posted["message"]))
        except Exception as exc:
            log.warning("could not offer a ticket for item %s: %s", event.id, exc)

    def show(self, event_id: int, status_ts: str | None = None) -> None:
        """Render an item's ticket status in its thread: update the status message, or post it.

        Replicas may render one item at once: a render that read the link just before another
        replica changed it is followed by another (until what is shown is what is stored), and of
        two status messages posted at once, the one not remembered is deleted."""
        shown: tuple[Any, ...] | None = None
        for _ in range(3):
            link = self.repo.ticket_link(event_id)
            if link is None or link.id is None:
                return
            content = (link.state, link.key, link.url, link.assignee, link.error)
            if content == shown or not self._render(link, status_ts):
                return
            shown = content

    def _render(self, link: TicketLink, status_ts: str | None) -> bool:
        """One render of ``link`` in its item's thread; False when there is nowhere to show it."""
        assert link.id is not None
        incident = self.repo.incident(link.incident_id)
        channel = incident.channel_id
        if not channel or not link.source_ts:
            return False
        event = self.repo.event_for_message(link.incident_id, link.source_ts)
        item = item_text(event, self._names())[1] if event is not None else ""
        fallback, blocks = messages.status(link, item)
        thread = event.thread_ts if event is not None and event.thread_ts else link.source_ts
        if link.status_ts is None and status_ts is None:
            status_ts = self._offer_ts(link, channel, thread, item)
        if status_ts and link.status_ts is None:
            remembered = self.repo.set_status_ts(link.id, status_ts)  # else another replica's won
            link.status_ts = (
                status_ts if remembered else (self.repo.ticket_link(link.event_id) or link).status_ts
            )
        try:
            if link.status_ts is None:
                posted = self.client.chat_postMessage(
                    channel=channel, thread_ts=thread, text=fallback, blocks=blocks
                )
                if self.repo.set_status_ts(link.id, str(posted["ts"])):
                    return True
                self.client.chat_delete(channel=channel, ts=str(posted["ts"]))  # another replica's won
                link.status_ts = (self.repo.ticket_link(link.event_id) or link).status_ts
            if link.status_ts:
                self.client.chat_update(channel=channel, ts=link.status_ts, text=fallback, blocks=blocks)
            return True
        except Exception as exc:
            log.warning("could not show the ticket of item %s: %s", link.event_id, exc)
            return False

    def _offer_ts(self, link: TicketLink, channel: str, thread: str, item: str) -> str | None:
        """The item's "Create ticket" reply, found in the channel's record: it becomes the ticket's
        status (its button goes), whichever way the ticket was asked for. Several offers in one
        thread (items that are replies): the one with this item's text, not shown as a status."""
        taken = {x.status_ts for x in self.repo.ticket_links(link.incident_id) if x.status_ts}
        offers = [
            m
            for m in self.repo.thread_replies(channel, thread)
            if m.user_id == self.installation
            and not m.deleted
            and m.text.startswith(messages.OFFER_PREFIX)
            and m.ts not in taken
        ]
        mine = [m.ts for m in offers if m.text == messages.offer_text(item)]
        if mine:
            return mine[0]
        return offers[0].ts if len(offers) == 1 else None

    def after_close(self, incident: Incident) -> None:
        """On close: create every item's ticket (``create_on_close``) or offer to. Never raises."""
        try:
            if self.tracker is None or not incident.channel_id:
                return
            if self.config.create_on_close and not (
                incident.is_private and self.config.target(incident.severity, True) is None
            ):
                self.create_later(self.request_all(incident, None))
                return
            missing = [e for _n, e, link in self.items(incident) if link is None]
            if missing:
                fallback, blocks = messages.create_all(
                    incident.id or 0, len(missing), f"*{incident_ref(incident)}*"
                )
                self.client.chat_postMessage(channel=incident.channel_id, text=fallback, blocks=blocks)
        except Exception:
            log.exception("INC-%s: follow-ups after close failed", incident.number)

    # -- the scheduler ---------------------------------------------------------------------------
    def sweep(self, now: datetime | None = None) -> None:
        """Retry due creations, then sync ticket states once per ``sync_every`` (never raises)."""
        if self.tracker is None:
            return
        try:
            for outcome in self.outbox.run_due(kind=CREATE_KIND):
                self._after(outcome)
        except Exception:
            job_failed("followups-retry")
        try:
            self.sync(now or self.clock())
        except Exception:
            job_failed("followups-sync")

    def _after(self, outcome: Outcome) -> None:
        if outcome.state in ("done", "failed", "pending"):
            event_id = int(outcome.key.rsplit(":", 1)[1])
            self.show(event_id)

    def sync(self, now: datetime, force: bool = False) -> int:
        """Fetch the states of every tracked ticket: one batched call (per 100) per project.

        One replica per period does it (a claim on the period's slot). Returns the calls made.
        """
        tracker = self.tracker
        if tracker is None:
            return 0
        slot = int(now.timestamp() // self.config.sync_every)
        claim = f"followups:sync:{slot}"
        if not force and not self.repo.claim(claim, kind="followups-sync"):
            return 0
        before = tracker.counter.total
        links = self.repo.tickets_to_sync(now - SYNC_KEEP)
        by_project: dict[str, list[TicketLink]] = defaultdict(list)
        for link in links:
            by_project[link.project].append(link)
        states: dict[int, tuple[str, str | None, str | None]] = {}
        changed: list[int] = []
        for project, group in by_project.items():
            try:
                found = tracker.states(project, [link.key for link in group if link.key])
            except TrackerError as exc:
                log.warning("sync of %s failed: %s", project, exc.message)
                continue
            for link in group:
                ticket = found.get(link.key or "")
                if ticket is not None and link.id is not None:
                    states[link.id] = (ticket.state, ticket.raw_state, ticket.assignee)
                    if (ticket.state, ticket.assignee) != (link.state, link.assignee):
                        changed.append(link.event_id)
        if states:
            self.repo.set_ticket_states(states, now)
        if not force:
            self.repo.finish_claim(claim)
        calls = tracker.counter.total - before
        if changed:  # each item's thread shows its ticket as it now stands, off the sweep's thread
            self._background(lambda: self._show_all(changed))
        return calls

    def _show_all(self, event_ids: list[int]) -> None:
        for event_id in event_ids:
            self.show(event_id)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _channel_link(permalink: str | None) -> str | None:
    if not permalink or "/archives/" not in permalink:
        return None
    base, _, rest = permalink.partition("/archives/")
    return f"{base}/archives/{rest.split('/')[0]}"
