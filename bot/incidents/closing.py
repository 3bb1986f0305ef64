"""Resolving, closing and reopening an incident: the fields a step requires, the closing summary,
the investigation document written on close, and what other capabilities do then."""

from __future__ import annotations

from datetime import datetime

from bot.errors import IncidentBotError
from bot.incidents import blocks
from bot.incidents.field_changes import FieldChanges
from bot.incidents.lifecycle_steps import log
from bot.incidents.metrics import metrics
from bot.incidents.outcome import Actor as Actor
from bot.incidents.outcome import Outcome as Outcome
from bot.incidents.outcome import unchanged as unchanged
from bot.incidents.types import Stage
from bot.incidents.vocabulary import (
    MILESTONE_ORDER,
    REOPENED_STATUS,
    RESOLVED_STATUS,
    STATUS_ORDER,
    Milestone,
    status_label,
)
from bot.slack.client import slack_error
from bot.slack.text import escape, one_line
from storage.models import Incident


class Closing(FieldChanges):
    def resolve(
        self, incident: Incident, actor: Actor, fields: dict[str, str | None], replace: bool = True
    ) -> Outcome:
        """Mark it Fixed (unless already Fixed or Verified) and store the resolution fields.

        ``replace=False`` (`/incident resolve <text>`, which shows nothing of what is recorded): a
        resolution already written is not overwritten; the Resolve form, which shows it, may."""
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        changes = {k: v for k, v in fields.items() if v is not None and v != getattr(inc, k)}
        reach_fixed = STATUS_ORDER.index(inc.status) < STATUS_ORDER.index(RESOLVED_STATUS)
        lacking = self.missing_fields(inc, Stage.RESOLVE, "resolve it") if reach_fixed else None
        if lacking:
            return unchanged(lacking)
        if not reach_fixed and not changes:
            return unchanged(f"*{blocks.incident_ref(inc)}* is already resolved; nothing changed.")
        kept = [k for k in changes if getattr(inc, k)]
        if not reach_fixed and kept and not replace:
            recorded = escape(one_line(str(getattr(inc, kept[0])), 300))
            return unchanged(
                f"*{blocks.incident_ref(inc)}* is already resolved: “{recorded}”. Nothing changed; to "
                "change the resolution, use the *Resolve* button on the incident's card (it shows what "
                "is recorded)."
            )
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
            self.happened(
                updated,
                "status_changed",
                {"key": actor.dedupe_key, "from": inc.status, "to": RESOLVED_STATUS},
            )
        return outcome

    def close(self, incident: Incident, actor: Actor) -> Outcome:
        inc = self._fresh(incident)
        if inc.is_closed:
            return unchanged(f"*{blocks.incident_ref(inc)}* is already closed; nothing changed.")
        refusal = self._permission(inc, actor, "close", "close the incident")
        if refusal:
            return refusal
        lacking = self.missing_fields(inc, Stage.CLOSE, "close it") or self.open_checklist_items(
            inc, "close it"
        )
        if lacking:
            return unchanged(lacking)
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
        self.happened(
            updated, "status_changed", {"key": actor.dedupe_key, "from": inc.status, "to": "closed"}
        )
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
        except IncidentBotError as exc:  # e.g. posted, but the copy on disk not written
            log.error("INC-%s: the investigation document: %s", inc.number, exc)
            self._say(inc, Outcome(False), f":warning: {exc.user_message} The incident stays closed.")
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
