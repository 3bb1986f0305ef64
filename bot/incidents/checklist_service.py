"""Running checklists: ``start_checklist(incident, name)`` posts one of the incident type's
checklists in its channel (once per incident and name; what a rules engine calls), the type's
``at_declare`` checklists are posted at declare and when the type changes, and a tick or an untick
is recorded (the item's row, a timeline event, the message updated) and a tick told to the
workflow rules (``happened``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.incidents.checklists import (
    Toggle,
    checklist_blocks,
    checklist_text,
    toggles,
)
from bot.incidents.types import ChecklistConfig, incident_type
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error
from bot.slack.text import escape, one_line, to_plain
from storage.models import Incident, IncidentChecklist, TimelineEvent
from storage.repository import Repository
from storage.stores.checklists import NewItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """What ``start_checklist`` did: ``posted`` False when the incident already had it."""

    checklist: IncidentChecklist
    posted: bool


class UnknownChecklist(ValueError):
    """The incident's type has no checklist of that name (``str``: for people)."""


class ChecklistService:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        clock: Callable[[], datetime],
        happened: Callable[[Incident, str, dict[str, Any]], None] = lambda incident, event, detail: None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.clock = clock
        self.happened = happened
        """Told each item ticked (``checklist_ticked``: the workflow rules), once per click and item."""

    def _when(self, at: datetime) -> str:
        return f"{at.astimezone(self.settings.config.tz):%H:%M}"

    def _config(self, incident: Incident, name: str) -> ChecklistConfig:
        spec = incident_type(self.settings.config.types, incident.incident_type)
        found = next((c for c in spec.checklists if c.name == name), None)
        if found is None:
            known = ", ".join(f"`{c.name}`" for c in spec.checklists) or "none"
            raise UnknownChecklist(
                f"A *{escape(incident.incident_type)}* incident has no checklist `{escape(one_line(name, 40))}` "
                f"(its checklists: {known})."
            )
        return found

    # -- starting ------------------------------------------------------------------------------
    def start_checklist(self, incident: Incident, name: str, started_by: str | None = None) -> Started:
        """Post the type's checklist ``name`` in the incident's channel, unless it already was:
        its items as they are configured now, a timeline event, the message. Raises
        ``UnknownChecklist``; a Slack failure is logged and leaves the checklist stored (a later
        start posts its message)."""
        config = self._config(incident, name)
        row = IncidentChecklist(
            incident_id=incident.id or 0,
            name=config.name,
            heading=config.heading,
            role=config.role,
            started_by=started_by,
            started_at=self.clock(),
        )
        items = [NewItem(i.text, i.required, i.role) for i in config.items]
        stored = self.repo.add_checklist(row, items)
        if stored is None:
            existing = next(c for c in self.repo.checklists(incident.id or 0) if c.name == name)
            if existing.message_ts is None:
                self._post(incident, existing)
            return Started(existing, posted=False)
        checklist, _ = stored
        by = f" by <@{started_by}>" if started_by else ""
        doc = f"Checklist {escape(checklist.heading)} started{by}"
        self.repo.add_timeline_event(
            TimelineEvent(
                incident_id=incident.id or 0,
                at=checklist.started_at,
                source="command" if started_by else "automatic",
                kind="checklist",
                text=doc,
                plain_text=to_plain(doc),
                actor_id=started_by,
                dedupe_key=f"checklist:{incident.id}:{checklist.name}:started",
            )
        )
        self._post(incident, checklist)
        return Started(checklist, posted=True)

    def post_for_type(self, incident: Incident) -> list[str]:
        """The type's ``at_declare`` checklists the incident does not have yet (at declare, and
        when its type changes): their names."""
        spec = incident_type(self.settings.config.types, incident.incident_type)
        have = {c.name for c in self.repo.checklists(incident.id or 0)}
        posted = []
        for config in spec.checklists:
            wanted = config.at_declare and config.name not in have
            if wanted and self.start_checklist(incident, config.name).posted:
                posted.append(config.name)
        return posted

    def _blocks(self, incident: Incident, checklist: IncidentChecklist) -> list[Any]:
        holder = self.repo.active_roles(incident.id or 0).get(checklist.role) if checklist.role else None
        return checklist_blocks(checklist, self.repo.checklist_items(checklist.id or 0), self._when, holder)

    def _post(self, incident: Incident, checklist: IncidentChecklist) -> None:
        try:
            sent = self.client.chat_postMessage(
                channel=incident.channel_id or "",
                text=checklist_text(checklist),
                blocks=self._blocks(incident, checklist),
            )
        except Exception as exc:
            log.warning(
                "%s: could not post checklist %s: %s",
                incident_ref(incident),
                checklist.name,
                slack_error(exc),
            )
            return
        self.repo.set_checklist_message(checklist.id or 0, str(sent["ts"]))
        checklist.message_ts = str(sent["ts"])

    # -- ticking -------------------------------------------------------------------------------
    def tick(self, incident: Incident, body: dict[str, Any], user_id: str, key: str) -> str | None:
        """Record what a click on a checklist message changed; what to tell the person, or None.
        ``key``: the Slack delivery's (each change's timeline event is keyed by it)."""
        ts = str(
            (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts") or ""
        )
        checklist = self.repo.checklist_by_message(incident.id or 0, ts)
        if checklist is None:
            return "This checklist is not one of this incident's."
        if incident.is_closed:
            self._update(incident, checklist)  # undo the box the person's Slack ticked
            return f"*{incident_ref(incident)}* is closed. Run `/incident reopen` first to change it."
        items = {i.position: i for i in self.repo.checklist_items(checklist.id or 0)}
        changed = [t for t in toggles(body) if t.position in items]
        done = [
            t for t in changed if self._record(incident, checklist, items[t.position].text, t, user_id, key)
        ]
        if done or changed:
            self._update(incident, checklist)
        for t in done:
            if t.done:
                self.happened(
                    incident,
                    "checklist_ticked",
                    {
                        "key": f"{key}:checklist:{checklist.id}:{t.position}",
                        "checklist": checklist.name,
                        "item": items[t.position].text,
                        "position": t.position + 1,
                        "user": user_id,
                    },
                )
        return None

    def _record(
        self,
        incident: Incident,
        checklist: IncidentChecklist,
        text: str,
        toggle: Toggle,
        user_id: str,
        key: str,
    ) -> bool:
        now = self.clock()
        if not self.repo.tick_item(checklist.id or 0, toggle.position, toggle.done, user_id, now):
            return False
        verb = "ticked" if toggle.done else "unticked"
        doc = f"<@{user_id}> {verb} “{escape(text)}” ({escape(checklist.heading)})"
        self.repo.add_timeline_event(
            TimelineEvent(
                incident_id=incident.id or 0,
                at=now,
                source="command",
                kind="checklist",
                text=doc,
                plain_text=to_plain(doc),
                actor_id=user_id,
                dedupe_key=f"{key}:checklist:{checklist.id}:{toggle.position}",
            )
        )
        return True

    def _update(self, incident: Incident, checklist: IncidentChecklist) -> None:
        try:
            self.client.chat_update(
                channel=incident.channel_id or "",
                ts=checklist.message_ts or "",
                text=checklist_text(checklist),
                blocks=self._blocks(incident, checklist),
            )
        except Exception as exc:
            log.warning(
                "%s: could not update checklist %s: %s",
                incident_ref(incident),
                checklist.name,
                slack_error(exc),
            )
