"""Running an incident: status, severity, roles, updates, notes, milestones, resolve, close, reopen, convert.

Every change is a compare-and-set on the stored incident (so a stale button clicked twice or a
Slack retry makes one transition), then the same effects: a timeline event keyed by the Slack
delivery, the summary card updated in place, the channel topic, and one visible line saying who
did what. Slack effects are best-effort: a failure is logged and told to the actor, never fatal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from bot.config import Settings
from bot.incidents import blocks
from bot.incidents.declare import IncidentService
from bot.incidents.metrics import metrics
from bot.incidents.rules import (
    allowed,
    milestones_reached,
    order_conflict,
    permission_text,
    severity_move,
    standing,
    status_move,
)
from bot.incidents.timeparse import FutureTime, When, format_time
from bot.incidents.vocabulary import (
    MILESTONE_ORDER,
    REOPENED_STATUS,
    RESOLVED_STATUS,
    SEVERITIES,
    STATUS_ORDER,
    Milestone,
    status_label,
)
from bot.slack import mrkdwn
from bot.slack.client import slack_error
from bot.slack.directory import Directory
from bot.slack.text import escape, one_line, to_plain
from storage.models import Incident, StatusUpdate, TimelineEvent, utcnow
from storage.repository import DuplicateDelivery, Repository


class GenerateDocument(Protocol):
    """The postmortem service's ``generate`` (close writes the investigation document)."""

    def __call__(
        self, incident_id: int, *, draft: bool, requested_by: str | None, request_key: str | None
    ) -> object: ...


log = logging.getLogger(__name__)

TIMELINE_PAGE_SIZE = 20
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


@dataclass(frozen=True)
class Actor:
    """Who asked, and the Slack delivery that carried the request (the idempotency key)."""

    user_id: str
    dedupe_key: str


@dataclass
class Outcome:
    """What happened; ``note`` is for the actor alone (a no-op, a refusal, failed side effects)."""

    changed: bool
    note: str = ""
    incident: Incident | None = None
    warnings: list[str] = field(default_factory=list)

    def reply_text(self) -> str:
        parts = [self.note] if self.note else []
        if self.warnings:
            parts.append("Some Slack steps failed: " + "; ".join(self.warnings))
        return "\n".join(parts)


def unchanged(note: str) -> Outcome:
    return Outcome(False, note)


def run_now(job: Callable[[], None]) -> bool:
    """``run_later`` without a worker: the job runs on the caller's thread."""
    job()
    return True


class LifecycleService:
    """Receives what it calls: the declare service (topic, furnishing a converted channel), and as
    callables the timeline's backfill of a converted channel and the document generated on close."""

    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        incidents: IncidentService,
        *,
        backfill_channel: Callable[[Incident], object],
        generate_document: GenerateDocument,
        after_close: Callable[[Incident], None] = lambda _incident: None,
        run_later: Callable[[Callable[[], None]], bool] = run_now,
        clock: Callable[[], datetime] = utcnow,
        bot_user_id: str = "",
        changed: Callable[[Incident, str], None] = lambda incident, event: None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.incidents = incidents
        self.backfill_channel = backfill_channel
        self.generate_document = generate_document
        # What other capabilities do on close, before the document (never raises): the
        # duration histograms (bot.analytics), follow-up tickets offered or created (bot.followups).
        self.after_close = after_close
        self.run_later = run_later
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.changed = changed
        """Told each change other systems follow (severity_changed, resolved, closed), once."""

    @property
    def tz(self) -> Any:
        return self.settings.config.tz

    # -- status and severity ------------------------------------------------------------------
    def set_status(self, incident: Incident, status: str, actor: Actor) -> Outcome:
        if status not in STATUS_ORDER:  # a forged option value, say: only the known ones are stored
            return unchanged(f"Unknown status `{escape(one_line(status, 30))}`; nothing changed.")
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        move = status_move(inc.status, status)
        if not move.changed:
            return unchanged(f"The status is already *{status_label(status)}*; nothing changed.")
        updated = self.repo.change_incident_if(inc.id or 0, {"status": inc.status}, status=status)
        if updated is None:
            return self._raced(inc, "status")
        outcome = Outcome(True, incident=updated)
        back = " (back)" if move.direction == "backward" else ""
        line = (
            f"<@{actor.user_id}> changed the status{back} from *{status_label(move.old)}* "
            f"to *{status_label(move.new)}*"
        )
        doc = f"Status changed{back} from {status_label(move.old)} to {status_label(move.new)}"
        self._record(updated, actor, "status", line, outcome, previous_topic=self._topic(inc), doc=doc)
        if status == RESOLVED_STATUS and move.direction == "forward":
            self.changed(updated, "resolved")
        self._reach_milestones(updated, status, actor, outcome)
        return outcome

    def set_severity(self, incident: Incident, severity: str, actor: Actor) -> Outcome:
        if severity not in SEVERITIES:
            return unchanged(f"Unknown severity `{escape(one_line(severity, 30))}`; nothing changed.")
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        refusal = self._permission(inc, actor, "severity", "change the severity")
        if refusal:
            return refusal
        move = severity_move(inc.severity, severity)
        if not move.changed:
            return unchanged(f"The severity is already *{blocks.severity_text(severity)}*; nothing changed.")
        updated = self.repo.change_incident_if(inc.id or 0, {"severity": inc.severity}, severity=severity)
        if updated is None:
            return self._raced(inc, "severity")
        outcome = Outcome(True, incident=updated)
        verb = "escalated" if move.direction == "forward" else "lowered"
        line = (
            f"<@{actor.user_id}> {verb} the severity from *{blocks.severity_text(move.old)}* "
            f"to *{blocks.severity_text(move.new)}*"
        )
        doc = f"Severity {verb} from {blocks.severity_text(move.old)} to {blocks.severity_text(move.new)}"
        self._record(updated, actor, "severity", line, outcome, previous_topic=self._topic(inc), doc=doc)
        self.changed(updated, "severity_changed")
        if move.direction == "forward":
            self._announce(
                updated,
                outcome,
                f":arrow_double_up: *{blocks.incident_ref(updated)}* escalated to "
                f"*{blocks.severity_text(severity)}* by <@{actor.user_id}>: {escape(updated.title)} "
                f"— <#{updated.channel_id}>",
            )
        return outcome

    # -- roles --------------------------------------------------------------------------------
    def assign_role(self, incident: Incident, role: str, user_id: str, actor: Actor) -> Outcome:
        if role not in self.settings.config.roles:
            return unchanged(f"Unknown role `{escape(one_line(role, 30))}`; nothing changed.")
        if not USER_ID.match(user_id):
            return unchanged(f"`{escape(one_line(user_id, 30))}` is not a person; nothing changed.")
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        # Its own permission: taking the lead must not be a way around `close = ["lead"]`.
        denied = self._permission(inc, actor, "roles", f"assign the {escape(role)}")
        if denied:
            return denied
        refusal = self._not_a_person(user_id, role)
        if refusal is not None:
            return unchanged(refusal)
        topic_before = self._topic(inc)
        previous = self.repo.assign_role(inc.id or 0, role, user_id, actor.user_id, at=self.clock())
        if previous is None:
            return unchanged(f"<@{user_id}> is already the {escape(role)}; nothing changed.")
        outcome = Outcome(True, incident=inc)
        channel = inc.channel_id or ""
        if user_id != self.bot_user_id:
            self._attempt(
                outcome,
                "invite them to the channel",
                lambda: self.client.conversations_invite(channel=channel, users=user_id),
                ok_errors=("already_in_channel",),
            )
        was = f" (was <@{previous}>)" if previous else ""
        line = f"<@{actor.user_id}> made <@{user_id}> the *{escape(role)}*{was}"
        took = "took the" if user_id == actor.user_id else "is now the"
        doc = f"<@{user_id}> {took} {escape(role)}{was}"
        self._record(inc, actor, "role", line, outcome, previous_topic=topic_before, doc=doc)
        return outcome

    def _not_a_person(self, user_id: str, role: str) -> str | None:
        """Why ``user_id`` cannot hold a role (unknown, deactivated, a bot), per users.info; None if
        they can, or if Slack could not say (a passing failure does not block the assignment)."""
        try:
            user = self.client.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            if slack_error(exc) in ("user_not_found", "user_not_visible"):
                return f"There is no user `{escape(user_id)}` in this workspace; nothing changed."
            log.info("users.info %s failed: %s", user_id, slack_error(exc))
            return None
        if user.get("deleted"):
            return f"<@{user_id}> is deactivated and cannot be the {escape(role)}; nothing changed."
        if user.get("is_bot") or user_id == self.bot_user_id or user_id == "USLACKBOT":
            return f"<@{user_id}> is a bot and cannot be the {escape(role)}; nothing changed."
        return None

    # -- updates, notes, milestones -----------------------------------------------------------
    def post_update(self, incident: Incident, text: str, actor: Actor) -> Outcome:
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        row = self.repo.add_status_update(
            StatusUpdate(
                incident_id=inc.id or 0,
                text=text,
                author_id=actor.user_id,
                dedupe_key=actor.dedupe_key,
                posted_at=self.clock(),
            )
        )
        if row is None:
            return unchanged("This update was already posted.")
        outcome = Outcome(True, incident=inc)
        ref = blocks.incident_ref(inc)
        heading = f":mega: *Status update* from <@{actor.user_id}> ({status_label(inc.status)})"
        posted = self._attempt(
            outcome,
            "post the update in the channel",
            lambda: self.client.chat_postMessage(
                channel=inc.channel_id or "", text=f"{heading}\n{escape(text)}"
            ),
        )
        announced = self._announce(
            inc,
            outcome,
            f":mega: *{ref}* update from <@{actor.user_id}>: {escape(text)} — <#{inc.channel_id}>",
        )
        self.repo.set_status_update_posts(
            row.id or 0, posted["ts"] if posted else None, announced["ts"] if announced else None
        )
        self._timeline(inc, actor, "update", f"Status update: {escape(text)}", text)
        self._refresh_card(inc, outcome)
        return outcome

    def add_note(self, incident: Incident, text: str, when: When | None, actor: Actor) -> Outcome:
        inc = self._fresh(incident)
        now = self.clock()
        try:
            at = when.resolve(self.tz, now) if when else now
        except FutureTime as exc:
            return unchanged(f"Not added: {exc}")
        outcome = Outcome(True, incident=inc)
        event = self._timeline(inc, actor, "note", escape(text), text, at=at)
        if event is None:
            return unchanged("This note is already on the timeline.")
        stamp = f" at {format_time(at, self.tz)}" if when else ""
        self._say(inc, outcome, f"<@{actor.user_id}> added a note{stamp}: {escape(one_line(text, 300))}")
        return outcome

    def set_time(self, incident: Incident, name: str, when: When, actor: Actor) -> Outcome:
        inc = self._fresh(incident)
        try:
            at = when.resolve(self.tz, self.clock())
        except FutureTime as exc:
            return unchanged(f"`{name}` not changed: {exc}")
        current = self.repo.milestones(inc.id or 0)
        if current.get(name) == at:
            return unchanged(f"`{name}` is already {format_time(at, self.tz)}; nothing changed.")
        others = {k: v for k, v in current.items() if k != name}
        conflict = order_conflict(others, name, at, self.tz)
        if conflict:
            return unchanged(f"`{name}` not changed: {conflict}")
        self.repo.set_milestone(inc.id or 0, name, at, actor.user_id, "command", only_if_unset=False)
        outcome = Outcome(True, incident=inc)
        was = f" (was {format_time(current[name], self.tz)})" if name in current else ""
        text = f"`{name}` set to {format_time(at, self.tz)}{was}"
        self._timeline(inc, actor, "milestone", f"{text} by <@{actor.user_id}>", text, at=at)
        self._say(inc, outcome, f"<@{actor.user_id}> set `{name}` to {format_time(at, self.tz)}{was}")
        return outcome

    def timeline_page(self, incident: Incident, page: int) -> str:
        """The private timeline view: people by name, the message's author, every kind it carries."""
        events = self.repo.timeline(incident.id or 0)
        ref = blocks.incident_ref(incident)
        if not events:
            return f"*{ref}* has nothing on its timeline yet."
        pages = (len(events) + TIMELINE_PAGE_SIZE - 1) // TIMELINE_PAGE_SIZE
        if page > pages:
            return (
                f"Page {page} does not exist: the timeline of *{ref}* has {pages} "
                f"page{'s' if pages != 1 else ''}. Try `/incident timeline {pages}`."
            )
        chunk = events[(page - 1) * TIMELINE_PAGE_SIZE : page * TIMELINE_PAGE_SIZE]
        kinds = self.repo.active_kinds(incident.id or 0)
        names = Directory(self.client)
        names.mentioned_in((e.text for e in chunk), (e.author_id or e.actor_id or "" for e in chunk))
        lines = [f"*Timeline of {ref}* (page {page} of {pages}, times in {self.tz.key}):"]
        for e in chunk:
            author = e.author_id or e.actor_id  # who wrote the message, not who marked it
            who = f" — {escape(names.names.user(author))}" if author else ""
            line = mrkdwn.one_line(e.text or escape(e.plain_text), names.names)
            text = escape(mrkdwn.line_plain(mrkdwn.shorten(line, 200)))
            labels = ", ".join(k.replace("_", " ") for k in (kinds.get(e.id or 0) or [e.kind]))
            lines.append(f"• `{format_time(e.at, self.tz)}` _{escape(labels)}_ {text}{who}")
        if page < pages:
            lines.append(f"More: `/incident timeline {page + 1}`")
        return "\n".join(lines)

    # -- resolve, close, reopen ---------------------------------------------------------------
    def resolve(self, incident: Incident, actor: Actor, fields: dict[str, str | None]) -> Outcome:
        """Mark it Fixed (unless already Fixed or Verified) and store the resolution fields."""
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        changes = {k: v for k, v in fields.items() if v is not None and v != getattr(inc, k)}
        reach_fixed = STATUS_ORDER.index(inc.status) < STATUS_ORDER.index(RESOLVED_STATUS)
        if not reach_fixed and not changes:
            return unchanged(f"*{blocks.incident_ref(inc)}* is already resolved; nothing changed.")
        expected: dict[str, object] = {"status": inc.status}
        new_status = RESOLVED_STATUS if reach_fixed else inc.status
        updated = self.repo.change_incident_if(inc.id or 0, expected, status=new_status, **changes)
        if updated is None:
            return self._raced(inc, "status")
        outcome = Outcome(True, incident=updated)
        summary = updated.resolution_summary
        line = f"<@{actor.user_id}> resolved the incident" + (
            f" (status *{status_label(RESOLVED_STATUS)}*)" if reach_fixed else " (resolution details updated)"
        )
        doc = (
            f"Resolved: status {status_label(RESOLVED_STATUS)}"
            if reach_fixed
            else "Resolution details updated"
        )
        if summary:
            line += f": {escape(one_line(summary, 300))}"
            doc += f". Resolution: {escape(one_line(summary, 300))}"
        self._record(updated, actor, "resolved", line, outcome, previous_topic=self._topic(inc), doc=doc)
        if reach_fixed:
            self._reach_milestones(updated, RESOLVED_STATUS, actor, outcome)
            self.changed(updated, "resolved")
        return outcome

    def close(self, incident: Incident, actor: Actor) -> Outcome:
        inc = self._fresh(incident)
        if inc.is_closed:
            return unchanged(f"*{blocks.incident_ref(inc)}* is already closed; nothing changed.")
        refusal = self._permission(inc, actor, "close", "close the incident")
        if refusal:
            return refusal
        updated = self.repo.change_incident_if(inc.id or 0, {"is_closed": False}, is_closed=True)
        if updated is None:
            return unchanged(f"*{blocks.incident_ref(inc)}* was closed at the same moment; nothing changed.")
        now = self.clock()
        self.repo.set_milestone(
            updated.id or 0, Milestone.CLOSED.value, now, actor.user_id, "command", only_if_unset=False
        )
        outcome = Outcome(True, incident=updated)
        milestones = self.repo.milestones(updated.id or 0)
        self._record(
            updated,
            actor,
            "closed",
            self._closing_summary(updated, actor, milestones),
            outcome,
            previous_topic=self._topic(inc),
            doc=closing_line(updated, milestones),
        )
        self._announce(
            updated,
            outcome,
            f":white_check_mark: *{blocks.incident_ref(updated)}* closed by <@{actor.user_id}>: "
            f"{escape(updated.title)}",
        )
        self.after_close(updated)
        self.changed(updated, "closed")
        if not self.run_later(lambda: self._write_document(updated, actor)):
            self._say(
                updated,
                outcome,
                ":warning: Too many investigation documents are being generated right now; this "
                "one will be written within a few minutes (or run `/incident postmortem`). "
                "The incident stays closed.",
            )
        return outcome

    def _write_document(self, inc: Incident, actor: Actor) -> None:
        """The document of a close, on the document worker (not the listener thread that acks)."""
        try:
            self.generate_document(
                inc.id or 0, draft=False, requested_by=actor.user_id, request_key=actor.dedupe_key
            )
        except Exception as exc:
            log.exception("INC-%s: the investigation document failed", inc.number)
            self._say(
                inc,
                Outcome(False),
                f":warning: The investigation document could not be written ({escape(slack_error(exc))}). "
                "Run `/incident postmortem` to try again; the incident stays closed.",
            )

    def reopen(self, incident: Incident, actor: Actor) -> Outcome:
        inc = self._fresh(incident)
        if not inc.is_closed:
            return unchanged(f"*{blocks.incident_ref(inc)}* is open; nothing to reopen.")
        refusal = self._permission(inc, actor, "close", "reopen the incident")
        if refusal:
            return refusal
        updated = self.repo.change_incident_if(
            inc.id or 0, {"is_closed": True}, is_closed=False, status=REOPENED_STATUS
        )
        if updated is None:
            return unchanged(
                f"*{blocks.incident_ref(inc)}* was reopened at the same moment; nothing changed."
            )
        outcome = Outcome(True, incident=updated)
        line = f"<@{actor.user_id}> reopened the incident (status *{status_label(REOPENED_STATUS)}*)"
        doc = f"Incident reopened (status {status_label(REOPENED_STATUS)})"
        self._record(updated, actor, "reopened", line, outcome, previous_topic=self._topic(inc), doc=doc)
        return outcome

    # -- list and convert ---------------------------------------------------------------------
    def list_open(self, user_id: str) -> str:
        incidents = self.repo.open_incidents()
        if not incidents:
            return "No open incidents. :tada:"
        lines = [f"*Open incidents* ({len(incidents)}):"]
        for inc in incidents:
            head = f"• *{blocks.incident_ref(inc)}* · {blocks.severity_text(inc.severity)} · {status_label(inc.status)}"
            if inc.is_private:
                lines.append(f"{head} · _private_")
            else:
                lines.append(f"{head} · <#{inc.channel_id}> · {escape(one_line(inc.title, 100))}")
        return "\n".join(lines)

    def convert(self, channel_id: str, title: str, severity: str | None, actor: Actor) -> Outcome:
        """Make the existing channel an incident; its earlier messages are backfilled to the record."""
        if self.repo.incident_by_channel(channel_id):
            return unchanged("This channel is already an incident channel.")
        if channel_id == self.settings.announce_channel:
            return unchanged(
                "This is the announcement channel: incidents are announced here, so it cannot be one. "
                "Nothing changed; `/incident declare` opens a channel for it."
            )
        try:
            channel = self.client.conversations_info(channel=channel_id, include_num_members=True)["channel"]
        except Exception as exc:
            if slack_error(exc) == "channel_not_found":
                return unchanged(
                    "I cannot see this channel: for a private channel, invite me first (`/invite @incident-bot`)."
                )
            return unchanged(
                f"Slack would not tell me about this channel ({slack_error(exc)}); nothing changed."
            )
        too_big = self._too_big_to_convert(channel, actor)
        if too_big:
            return unchanged(too_big)
        if not channel.get("is_member"):
            if channel.get("is_private"):
                return unchanged("Invite me to this private channel first (`/invite @incident-bot`).")
            try:
                self.client.conversations_join(channel=channel_id)
            except Exception as exc:
                return unchanged(f"I could not join this channel ({slack_error(exc)}); nothing changed.")
        now = self.clock()
        pending = Incident(
            number=0,
            title=title,
            severity=severity or self.settings.config.default_severity,
            declarer_id=actor.user_id,
            is_private=bool(channel.get("is_private")),
            dedupe_key=actor.dedupe_key,
            created_at=now,
        )
        try:
            created = self.repo.create_pending_incident(pending)
        except DuplicateDelivery:
            return unchanged("This channel was already converted.")
        try:
            incident = self.repo.update_incident(
                created.id or 0, channel_id=channel_id, channel_name=channel.get("name"), state="active"
            )
        except IntegrityError:
            self.repo.delete_incident(created.id or 0)
            return unchanged("This channel became an incident at the same moment; nothing changed.")
        outcome = Outcome(True, incident=incident)
        outcome.warnings += self.incidents.furnish(incident, now, existing_channel=True)
        incident = self.repo.incident(incident.id or 0)
        try:
            self.backfill_channel(incident)
        except Exception as exc:
            log.exception("INC-%s: backfilling the converted channel failed", incident.number)
            outcome.warnings.append(f"could not record the channel's earlier messages ({slack_error(exc)})")
        self._say(
            incident,
            outcome,
            f"<@{actor.user_id}> turned this channel into *{blocks.incident_ref(incident)}* "
            f"({blocks.severity_text(incident.severity)}): {escape(incident.title)}",
        )
        outcome.incident = incident
        return outcome

    def _too_big_to_convert(self, channel: dict[str, Any], actor: Actor) -> str | None:
        """Converting rewrites the topic, posts the card and records the whole history: fine for a
        war room, not for #general or a team channel, unless ``permissions.convert_large`` says so."""
        config = self.settings.config
        rule = config.permissions.convert_large
        if rule == "anyone" or actor.user_id in rule:
            return None
        limit = config.convert_max_members
        members = channel.get("num_members")
        if channel.get("is_general"):
            why = "this is the workspace's general channel"
        elif limit and isinstance(members, int) and members > limit:
            why = f"it has {members} members (more than {limit})"
        else:
            return None
        return (
            f"I will not turn this channel into an incident: {why}. Nothing changed. "
            "Declare one with `/incident declare`, or ask an administrator (`permissions.convert_large`)."
        )

    # -- shared steps -------------------------------------------------------------------------
    def _fresh(self, incident: Incident) -> Incident:
        return self.repo.incident(incident.id or 0)

    def _topic(self, incident: Incident) -> str:
        lead = self.repo.active_roles(incident.id or 0).get("lead")
        return self.incidents.topic(incident, lead)

    def _closed_refusal(self, inc: Incident) -> Outcome:
        return unchanged(
            f"*{blocks.incident_ref(inc)}* is closed. Run `/incident reopen` first to change it."
        )

    def _raced(self, inc: Incident, what: str) -> Outcome:
        now = self._fresh(inc)
        value = status_label(now.status) if what == "status" else blocks.severity_text(now.severity)
        return unchanged(f"Someone changed the {what} at the same moment; it is now *{value}*.")

    def _permission(self, inc: Incident, actor: Actor, action: str, doing: str) -> Outcome | None:
        rule = getattr(self.settings.config.permissions, action)
        held = standing(actor.user_id, self.repo.active_roles(inc.id or 0), inc.declarer_id)
        if allowed(rule, held):
            return None
        return unchanged(f"Only {permission_text(rule)} may {doing} here. Nothing changed.")

    def _reach_milestones(self, inc: Incident, status: str, actor: Actor, outcome: Outcome) -> None:
        """The first time a status is reached, its milestone is set to now (if that keeps the order).

        One rule for ``fixed``: reaching Verified without a fix time sets ``fixed`` to the same
        moment (a fix was verified, so it was applied by then), and says so in the channel."""
        now = self.clock()
        current = self.repo.milestones(inc.id or 0)
        names = list(milestones_reached(status))
        if status == "verified" and Milestone.FIXED not in current:
            names.insert(0, Milestone.FIXED)
        for name in names:
            if name in current:
                continue
            if order_conflict(current, name, now, self.tz):
                log.info("INC-%s: not setting %s automatically: out of order", inc.number, name)
                continue
            self.repo.set_milestone(inc.id or 0, name, now, actor.user_id, "automatic", only_if_unset=True)
            current = {**current, name: now}
            if name == Milestone.FIXED and status == "verified":
                self._say(
                    inc,
                    outcome,
                    f"No fix time was recorded, so `fixed` is set to {format_time(now, self.tz)}, when the "
                    "fix was verified. Correct it with `/incident time fixed <time>`.",
                )

    def _timeline(
        self, inc: Incident, actor: Actor, kind: str, text: str, plain: str, at: datetime | None = None
    ) -> TimelineEvent | None:
        return self.repo.add_timeline_event(
            TimelineEvent(
                incident_id=inc.id or 0,
                at=at or self.clock(),
                source="command",
                kind=kind,
                text=text,
                plain_text=plain,
                actor_id=actor.user_id,
                dedupe_key=f"{actor.dedupe_key}:{kind}",
            )
        )

    def _record(
        self,
        inc: Incident,
        actor: Actor,
        kind: str,
        line: str,
        outcome: Outcome,
        previous_topic: str,
        doc: str | None = None,
    ) -> None:
        """The effects every state change has: timeline, card, topic, a visible line.

        ``doc`` is the timeline's wording (for the document, exports and the timeline view): who
        did it is its own column there, so it does not repeat the actor or Slack's decorations."""
        doc_line = doc or line
        self._timeline(inc, actor, kind, doc_line, to_plain(doc_line))
        self._refresh_card(inc, outcome)
        topic = self._topic(inc)
        if topic != previous_topic:
            self._attempt(
                outcome,
                "update the channel topic",
                lambda: self.client.conversations_setTopic(channel=inc.channel_id or "", topic=topic),
            )
        self._say(inc, outcome, line)

    def _refresh_card(self, inc: Incident, outcome: Outcome) -> None:
        if not inc.card_ts or not inc.channel_id:
            return
        roles = self.repo.active_roles(inc.id or 0)
        ref = blocks.incident_ref(inc)
        self._attempt(
            outcome,
            "update the summary card",
            lambda: self.client.chat_update(
                channel=inc.channel_id or "",
                ts=inc.card_ts or "",
                text=f"{ref}: {escape(inc.title)}",
                blocks=blocks.summary_card(inc, lead=roles.get("lead"), roles=roles),
            ),
        )

    def _say(self, inc: Incident, outcome: Outcome, text: str) -> None:
        self._attempt(
            outcome,
            "post in the channel",
            lambda: self.client.chat_postMessage(channel=inc.channel_id or "", text=text),
        )

    def _announce(self, inc: Incident, outcome: Outcome, text: str) -> Any:
        channel = self.settings.announce_channel
        if not channel or inc.is_private:
            return None
        return self._attempt(
            outcome,
            "post to the announcement channel",
            lambda: self.client.chat_postMessage(channel=channel, text=text),
        )

    def _attempt(
        self, outcome: Outcome, what: str, call: Callable[[], Any], ok_errors: Sequence[str] = ()
    ) -> Any:
        try:
            return call()
        except Exception as exc:
            if slack_error(exc) in ok_errors:
                return None
            log.warning("could not %s: %s", what, slack_error(exc))
            outcome.warnings.append(f"could not {what} ({slack_error(exc)})")
            return None

    def _closing_summary(self, inc: Incident, actor: Actor, milestones: dict[str, datetime]) -> str:
        lines = [
            f":checkered_flag: <@{actor.user_id}> closed *{blocks.incident_ref(inc)}*: {escape(inc.title)}",
            f"Final status *{status_label(inc.status)}* · {blocks.severity_text(inc.severity)}",
        ]
        if inc.resolution_summary:
            lines.append(f"Resolution: {escape(one_line(inc.resolution_summary, 500))}")
        lines.append(" · ".join(f"{m.name}: {m.text}" for m in metrics(milestones)))
        missing = missing_milestones(milestones)
        if missing:
            lines.append(missing)
        return "\n".join(lines)


def missing_milestones(milestones: dict[str, datetime]) -> str:
    """Which milestones a closing incident lacks, with the command that records each."""
    absent = [name for name in MILESTONE_ORDER if name not in milestones]
    if not absent:
        return ""
    how = ", ".join(f"`/incident time {name} <time>`" for name in absent)
    return f"Not recorded: {', '.join(absent)} time. Add them with {how}; the document follows."


def closing_line(inc: Incident, milestones: dict[str, datetime]) -> str:
    """The close, as the timeline tells it (the metrics have their own section in the document)."""
    text = f"Incident closed. Final status {status_label(inc.status)}, {blocks.severity_text(inc.severity)}."
    if inc.resolution_summary:
        text += f" Resolution: {escape(one_line(inc.resolution_summary, 300))}"
    missing = [name for name in MILESTONE_ORDER if name not in milestones]
    if missing:
        text += f" Not recorded: {', '.join(missing)} time."
    return text
