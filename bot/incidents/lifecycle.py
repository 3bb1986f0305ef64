"""Running an incident: status, severity, roles, updates, notes, milestones, resolve, close, reopen, convert.

Every change is a compare-and-set on the stored incident (so a stale button clicked twice or a
Slack retry makes one transition), then the same effects: a timeline event keyed by the Slack
delivery, the summary card updated in place, the channel topic, and one visible line saying who
did what. Slack effects are best-effort: a failure is logged and told to the actor, never fatal.

Resolve, close and reopen live in ``closing``, convert in ``conversion``, the steps they all share
in ``lifecycle_steps``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.incidents import blocks
from bot.incidents.closing import Closing, closing_line, missing_milestones
from bot.incidents.conversion import Conversion
from bot.incidents.declare import IncidentService
from bot.incidents.lifecycle_steps import GenerateDocument
from bot.incidents.outcome import Actor as Actor
from bot.incidents.outcome import Outcome as Outcome
from bot.incidents.outcome import unchanged as unchanged
from bot.incidents.rules import order_conflict, severity_move, status_move
from bot.incidents.timeparse import FutureTime, When, format_time
from bot.incidents.types import incident_type, type_roles
from bot.incidents.vocabulary import RESOLVED_STATUS, SEVERITIES, STATUS_ORDER, status_label
from bot.slack import mrkdwn
from bot.slack.client import slack_error
from bot.slack.directory import Directory
from bot.slack.text import escape, one_line, to_plain
from storage.models import Incident, StatusUpdate, utcnow
from storage.repository import Repository

__all__ = [
    "Actor",
    "GenerateDocument",
    "LifecycleService",
    "Outcome",
    "closing_line",
    "missing_milestones",
    "unchanged",
]


log = logging.getLogger(__name__)

TIMELINE_PAGE_SIZE = 20
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def run_now(job: Callable[[], None]) -> bool:
    """``run_later`` without a worker: the job runs on the caller's thread."""
    job()
    return True


class LifecycleService(Closing, Conversion):
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
        happened: Callable[[Incident, str, dict[str, Any]], None] = lambda incident, event, detail: None,
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
        self.happened = happened
        """Told every change the workflow rules see (status, severity, type, field, role), once."""

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
        self.happened(updated, "status_changed", {"key": actor.dedupe_key, "from": move.old, "to": move.new})
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
        self.happened(
            updated, "severity_changed", {"key": actor.dedupe_key, "from": move.old, "to": move.new}
        )
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
        config = self.settings.config
        if role not in type_roles(config.roles, incident_type(config.types, incident.incident_type)):
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
        self.happened(inc, "role_changed", {"key": actor.dedupe_key, "role": role, "user": user_id})
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
        """Post ``text`` (Slack text, safe to echo: ``commands.parse_update``) here and to the
        announcement channel; it is kept as Slack text, so its links stay links everywhere."""
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
            lambda: self.client.chat_postMessage(channel=inc.channel_id or "", text=f"{heading}\n{text}"),
        )
        announced = self._announce(
            inc,
            outcome,
            f":mega: *{ref}* update from <@{actor.user_id}>: {text} — <#{inc.channel_id}>",
        )
        self.repo.set_status_update_posts(
            row.id or 0, posted["ts"] if posted else None, announced["ts"] if announced else None
        )
        self._timeline(inc, actor, "update", f"Status update: {text}", to_plain(text))
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
        before = current.get(name)
        # the same minute, other seconds: show the seconds, or it reads "set to 13:30 (was 13:30)"
        exact = before is not None and format_time(before, self.tz) == format_time(at, self.tz)
        new = format_time(at, self.tz, exact)
        old = format_time(before, self.tz, exact) if before is not None else new
        was = f" (was {old})" if old != new else ""
        text = f"`{name}` set to {new}{was}"
        self._timeline(inc, actor, "milestone", f"{text} by <@{actor.user_id}>", text, at=at)
        self._say(inc, outcome, f"<@{actor.user_id}> set `{name}` to {new}{was}")
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

    # -- list ---------------------------------------------------------------------------------
    def list_open(self, may_see: Callable[[Incident], bool]) -> str:
        """The open incidents the person may see (``Access.may_see``), in full; of the others, not
        even that they exist."""
        incidents = [inc for inc in self.repo.open_incidents() if may_see(inc)]
        if not incidents:
            return "No open incidents. :tada:"
        lines = [f"*Open incidents* ({len(incidents)}):"]
        for inc in incidents:
            head = f"• *{blocks.incident_ref(inc)}* · {blocks.severity_text(inc.severity)} · {status_label(inc.status)}"
            private = " · :lock: private" if inc.is_private else ""
            lines.append(f"{head}{private} · <#{inc.channel_id}> · {escape(one_line(inc.title, 100))}")
        return "\n".join(lines)
