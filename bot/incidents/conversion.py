"""Turning an existing channel into an incident (``/incident convert``): refused for a big channel
unless the person may, and its earlier messages backfilled to the record."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.incidents import blocks
from bot.incidents.lifecycle_steps import LifecycleSteps, log
from bot.incidents.outcome import Actor as Actor
from bot.incidents.outcome import Outcome as Outcome
from bot.incidents.outcome import unchanged as unchanged
from bot.slack.client import slack_error
from bot.slack.text import escape
from storage.models import Incident
from storage.repository import DuplicateDelivery


class Conversion(LifecycleSteps):
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
            created = self.repo.create_pending_incident(pending, above=self.incidents.numbers.highest())
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
