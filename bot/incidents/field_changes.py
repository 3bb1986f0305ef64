"""Changing an incident's type and custom fields, and the fields a resolve or close requires.

A mixin of ``LifecycleService``: the same effects as every other change (a timeline event keyed
by the Slack delivery, the card updated, one visible line).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.views import View

from bot.incidents.checklists import open_items_refusal, open_required
from bot.incidents.field_forms import fields_modal
from bot.incidents.fields import missing, missing_text, parse_value, show
from bot.incidents.lifecycle_steps import LifecycleSteps
from bot.incidents.outcome import Actor, Outcome, unchanged
from bot.incidents.types import Stage, incident_type
from bot.slack.text import escape, one_line
from storage.models import Incident

_UNSET = object()

# Each stage also needs what the stages before it need: an incident closed without a resolve
# still answers the questions a resolve asks.
STAGES_BY_STEP = {
    Stage.RESOLVE: (Stage.DECLARE, Stage.RESOLVE),
    Stage.CLOSE: (Stage.DECLARE, Stage.RESOLVE, Stage.CLOSE),
}


class FieldChanges(LifecycleSteps):
    def set_field(self, incident: Incident, name: str, raw: str, actor: Actor) -> Outcome:
        """Parse ``raw`` for the incident type's field ``name`` and store it (UsageError: bad value)."""
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        config = self.settings.config
        spec = incident_type(config.types, inc.incident_type)
        if name not in spec.fields:
            known = ", ".join(f"`{f}`" for f in spec.fields)
            return unchanged(
                f"A *{escape(inc.incident_type)}* incident has no field `{escape(one_line(name, 40))}`"
                + (f": use one of {known}." if known else " (its type has no fields).")
            )
        field = config.fields[name]
        value = parse_value(name, field, raw, config.services)
        current = self.repo.field_values(inc.id or 0)
        if name in current and current[name] == value:
            return unchanged(
                f"*{escape(field.label)}* is already {show(name, field, value).slack}; nothing changed."
            )
        previous = self.repo.set_field(inc.id or 0, name, value, actor.user_id, self.clock())
        outcome = Outcome(True, incident=inc)
        new = show(name, field, value)
        was = f" (was {show(name, field, previous).slack})" if previous is not None else ""
        line = f"<@{actor.user_id}> set *{escape(field.label)}* to {new.slack}{was}"
        doc = f"{escape(field.label)} set to {new.slack}{was}"
        self._record(inc, actor, "field", line, outcome, previous_topic=self._topic(inc), doc=doc)
        self.happened(inc, "field_changed", {"key": actor.dedupe_key, "field": name})
        return outcome

    def set_fields(self, incident: Incident, typed: dict[str, str], actor: Actor) -> Outcome:
        """The "Set fields" form: each field whose value differs set as ``set_field`` sets it (one
        timeline event each, keyed by the delivery and the field)."""
        inc = self._fresh(incident)
        config = self.settings.config
        current = self.repo.field_values(inc.id or 0)
        changed = {
            name: raw
            for name, raw in typed.items()
            if name not in config.fields
            or current.get(name, _UNSET) != parse_value(name, config.fields[name], raw, config.services)
        }
        if not changed:
            return unchanged("The fields already had these values; nothing changed.")
        done, notes, warnings = False, [], []
        for name, raw in changed.items():
            out = self.set_field(inc, name, raw, Actor(actor.user_id, f"{actor.dedupe_key}:{name}"))
            done = done or out.changed
            warnings += out.warnings
            if not out.changed and out.note:
                notes.append(out.note)
        return Outcome(done, "\n".join(notes), incident=inc, warnings=warnings)

    def fields_form(self, incident: Incident) -> View:
        """The card's "Set fields" form for the incident's type, prefilled."""
        config = self.settings.config
        spec = incident_type(config.types, incident.incident_type)
        values = self.repo.field_values(incident.id or 0)
        return fields_modal(incident, spec.fields, config.fields, config.services, values)

    def set_type(self, incident: Incident, kind: str, actor: Actor) -> Outcome:
        inc = self._fresh(incident)
        if inc.is_closed:
            return self._closed_refusal(inc)
        refusal = self.incidents.unknown_type(kind)
        if refusal:
            return unchanged(f"{refusal} Nothing changed.")
        if inc.incident_type == kind:
            return unchanged(f"This incident is already of type *{escape(kind)}*; nothing changed.")
        updated = self.repo.change_incident_if(
            inc.id or 0, {"incident_type": inc.incident_type}, incident_type=kind
        )
        if updated is None:
            return unchanged("Someone changed the type at the same moment; nothing changed.")
        outcome = Outcome(True, incident=updated)
        old = escape(inc.incident_type)
        line = f"<@{actor.user_id}> changed the type from *{old}* to *{escape(kind)}*"
        spec = incident_type(self.settings.config.types, kind)
        if spec.private and not updated.is_private:
            line += " (the channel stays public: a type's privacy applies when an incident is declared)"
        doc = f"Type changed from {old} to {escape(kind)}"
        self._record(updated, actor, "type", line, outcome, previous_topic=self._topic(inc), doc=doc)
        self.changed(updated, "type_changed")
        self.happened(
            updated, "type_changed", {"key": actor.dedupe_key, "from": inc.incident_type, "to": kind}
        )
        return outcome

    def missing_fields(self, inc: Incident, step: Stage, doing: str) -> str | None:
        """The refusal of a resolve or close while required fields are unset, or None."""
        config = self.settings.config
        spec = incident_type(config.types, inc.incident_type)
        values: dict[str, Any] = self.repo.field_values(inc.id or 0) if spec.required else {}
        names = [n for stage in STAGES_BY_STEP[step] for n in missing(spec, config.fields, values, stage)]
        return missing_text(names, config.fields, doing) if names else None

    def open_checklist_items(self, inc: Incident, doing: str) -> str | None:
        """The refusal of a close while required checklist items are not ticked, or None."""
        names = open_required(self.repo.incident_checklist_items(inc.id or 0))
        return open_items_refusal(names, doing) if names else None
