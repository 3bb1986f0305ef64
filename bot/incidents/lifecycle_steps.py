"""The steps every lifecycle change shares: read the incident fresh, refuse a closed one or a lost
race, check permission, then record it (timeline event, card, topic, one visible line) and reach the
milestones a status implies. Slack effects are best-effort (``_attempt``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from slack_sdk import WebClient

from bot.config import Settings
from bot.incidents import blocks
from bot.incidents.declare import IncidentService
from bot.incidents.outcome import Actor as Actor
from bot.incidents.outcome import Outcome as Outcome
from bot.incidents.outcome import unchanged as unchanged
from bot.incidents.rules import allowed, milestones_reached, order_conflict, permission_text, standing
from bot.incidents.timeparse import format_time
from bot.incidents.vocabulary import Milestone, status_label
from bot.slack.client import slack_error
from bot.slack.text import escape, to_plain
from storage.models import Incident, TimelineEvent
from storage.repository import Repository


class GenerateDocument(Protocol):
    """The postmortem service's ``generate`` (close writes the investigation document)."""

    def __call__(
        self, incident_id: int, *, draft: bool, requested_by: str | None, request_key: str | None
    ) -> object: ...


log = logging.getLogger("bot.incidents.lifecycle")  # the whole service logs as one, as before its split


class LifecycleSteps:
    """What ``LifecycleService`` holds, and the steps its changes share."""

    repo: Repository
    client: WebClient
    settings: Settings
    incidents: IncidentService
    backfill_channel: Callable[[Incident], object]
    generate_document: GenerateDocument
    after_close: Callable[[Incident], None]
    run_later: Callable[[Callable[[], None]], bool]
    clock: Callable[[], datetime]
    bot_user_id: str
    changed: Callable[[Incident, str], None]
    happened: Callable[[Incident, str, dict[str, Any]], None]

    @property
    def tz(self) -> Any:
        return self.settings.config.tz

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
        if self.bot_user_id and actor.user_id == self.bot_user_id:
            return None  # the bot runs the rules the operators configured: people's limits do not apply
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
                blocks=self.incidents.card(inc, lead=roles.get("lead"), roles=roles),
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
