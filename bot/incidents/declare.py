"""Declaring an incident: a record, a channel, a card, an announcement, the first timeline events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import IncidentBotError
from bot.incidents import blocks
from bot.incidents.fields import ShownField, shown_fields
from bot.incidents.naming import channel_name
from bot.incidents.numbering import TakenNumbers
from bot.incidents.types import DEFAULT_TYPE, incident_type, type_names
from bot.incidents.vocabulary import SEVERITIES, Milestone, incident_ref, status_label
from bot.ops.logs import CURRENT_INCIDENT
from bot.slack.client import slack_error
from bot.slack.text import escape, one_line
from storage.models import Incident, TimelineEvent, utcnow
from storage.repository import DuplicateDelivery, Repository

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 10
# conversations.create calls per channel name when Slack's answer is lost (timeouts).
LOST_ANSWER_ATTEMPTS = 3
# Slack's clock against ours, when telling a channel created for this declare from an older one.
CLOCK_SKEW_S = 60


class DeclareFailed(IncidentBotError):
    """The incident could not be created; nothing was left behind. ``str(exc)`` is for humans."""

    @property
    def user_message(self) -> str:
        return f":x: {self}"


@dataclass
class DeclareResult:
    incident: Incident
    warnings: list[str] = field(default_factory=list)
    duplicate: bool = False


class IncidentService:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        bot_user_id: str = "",
        changed: Callable[[Incident, str], None] = lambda incident, event: None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.changed = changed
        """Told of each declare, once (other systems follow incidents: webhooks, pagers)."""
        self.numbers = TakenNumbers(client, settings.channel_prefix)
        """Numbers Slack's channel names already carry: never handed out again after a restore."""

    def declare(
        self,
        *,
        title: str,
        declarer: str,
        severity: str | None = None,
        summary: str = "",
        private: bool = False,
        dedupe_key: str | None = None,
        now: datetime | None = None,
        kind: str | None = None,
    ) -> DeclareResult:
        if severity is not None and severity not in SEVERITIES:  # a forged modal option, say
            raise DeclareFailed(f"Unknown severity `{escape(one_line(severity, 30))}`; nothing was declared.")
        kind = kind or DEFAULT_TYPE
        refusal = self.unknown_type(kind)
        if refusal:
            raise DeclareFailed(f"{refusal} Nothing was declared.")
        spec = incident_type(self.settings.config.types, kind)
        if spec.private is not None:
            private = spec.private
        now = now or self.clock()
        pending = Incident(
            number=0,
            title=title,
            severity=severity or self.settings.config.default_severity,
            declarer_id=declarer,
            summary=summary,
            is_private=private,
            dedupe_key=dedupe_key,
            created_at=now,
            incident_type=kind,
        )
        try:
            incident = self.repo.create_pending_incident(pending, above=self.numbers.highest())
        except DuplicateDelivery:
            existing = self.repo.incident_by_dedupe_key(dedupe_key or "")
            assert existing is not None
            return DeclareResult(existing, duplicate=True)
        incident_id = incident.id
        assert incident_id is not None
        CURRENT_INCIDENT.set(incident.number)  # this listener's log lines now name the incident
        try:
            incident, channel = self._create_channel(incident)
        except DeclareFailed:
            self.repo.delete_incident(incident_id)
            raise
        except Exception as exc:
            self.repo.delete_incident(incident_id)
            raise DeclareFailed(f"Slack could not create the incident channel ({slack_error(exc)}).") from exc
        self.numbers.saw(incident.number)
        incident = self.repo.update_incident(
            incident_id, channel_id=channel["id"], channel_name=channel["name"], state="active"
        )
        log.info("declared INC-%s in #%s", incident.number, channel["name"])
        result = DeclareResult(incident, warnings=self.furnish(incident, now))
        self.changed(incident, "declared")
        return result

    def _create_channel(self, incident: Incident) -> tuple[Incident, dict[str, str]]:
        """The channel, and the incident with the number it ended up with: a name already taken
        means its number is in use in Slack (a channel made before the database was restored,
        say), so the incident takes the next number Slack has not seen."""
        for _ in range(MAX_NAME_ATTEMPTS):
            name = channel_name(self.channel_prefix(incident), incident.number, incident.title)
            try:
                channel = self._create_named(name, incident)
            except SlackApiError as exc:
                raise DeclareFailed(
                    f"Slack refused to create channel #{name} ({slack_error(exc)}); no incident was recorded."
                ) from exc
            if channel is not None:
                return incident, channel
            self.numbers.saw(incident.number)
            taken = incident.number
            assert incident.id is not None
            incident = self.repo.renumber_incident(incident.id, above=self.numbers.rescan())
            CURRENT_INCIDENT.set(incident.number)
            log.info("#%s is taken: INC-%s skipped, declaring INC-%s", name, taken, incident.number)
        raise DeclareFailed(
            f"Every channel name tried for {incident_ref(incident)} is taken; no incident was recorded."
        )

    def channel_prefix(self, incident: Incident) -> str:
        spec = incident_type(self.settings.config.types, incident.incident_type)
        return spec.channel_prefix or self.settings.channel_prefix

    def unknown_type(self, kind: str) -> str | None:
        """Why ``kind`` is no incident type (naming the known ones), or None."""
        known = type_names(self.settings.config.types)
        if kind in known:
            return None
        return f"Unknown incident type `{escape(one_line(kind, 40))}`: use one of {', '.join(f'`{k}`' for k in known)}."

    def shown(self, incident: Incident) -> list[ShownField]:
        """The incident's custom fields that are set, as its type lists them."""
        config = self.settings.config
        spec = incident_type(config.types, incident.incident_type)
        if not spec.fields:
            return []
        return shown_fields(spec, config.fields, self.repo.field_values(incident.id or 0))

    def card(self, incident: Incident, lead: str | None, roles: dict[str, str] | None = None) -> list[Any]:
        return blocks.summary_card(
            incident,
            lead=lead,
            roles=roles,
            shown=self.shown(incident),
            status_page=self.settings.config.statuspage.enabled,
            fields_button=bool(incident_type(self.settings.config.types, incident.incident_type).fields),
        )

    def _create_named(self, name: str, incident: Incident) -> dict[str, str] | None:
        """Create #name; None when somebody else has that name.

        A call whose answer was lost (a timeout) may still have created the channel: it is asked
        again, and a "name taken" then looks for the channel this bot created for this incident and
        adopts it, so no orphan channel is left behind.
        """
        answer_lost = False
        for _ in range(LOST_ANSWER_ATTEMPTS):
            try:
                resp = self.client.conversations_create(name=name, is_private=incident.is_private)
            except SlackApiError as exc:
                if slack_error(exc) != "name_taken":
                    raise
                return self._own_channel(name, incident) if answer_lost else None
            except Exception as exc:
                answer_lost = True
                log.warning("INC-%s: conversations.create #%s got no answer (%s); asking again",
                            incident.number, name, type(exc).__name__)  # fmt: skip
                continue
            return {"id": resp["channel"]["id"], "name": resp["channel"]["name"]}
        raise DeclareFailed(f"Slack did not answer when creating channel #{name}; no incident was recorded.")

    def _own_channel(self, name: str, incident: Incident) -> dict[str, str] | None:
        """The open channel called ``name`` if this bot created it since the declare began."""
        types = "private_channel" if incident.is_private else "public_channel"
        since = incident.created_at.timestamp() - CLOCK_SKEW_S
        for page in self.client.conversations_list(types=types, exclude_archived=True, limit=1000):
            for ch in page.get("channels") or []:
                if (
                    ch.get("name") == name
                    and ch.get("creator") == self.bot_user_id
                    and ch.get("created", 0) >= since
                ):
                    log.info(
                        "INC-%s: adopting #%s, created by an attempt whose answer was lost",
                        incident.number,
                        name,
                    )
                    return {"id": ch["id"], "name": ch["name"]}
        return None

    def furnish(self, incident: Incident, now: datetime, existing_channel: bool = False) -> list[str]:
        """Everything after the channel exists. A failure here is reported, never fatal.

        ``existing_channel`` (a converted channel): its members are left as they are; its topic and
        purpose name the incident, as a declared channel's do.
        """
        assert incident.id is not None and incident.channel_id is not None
        warnings: list[str] = []
        ref = blocks.incident_ref(incident)

        def attempt(what: str, call: Callable[[], Any]) -> Any:
            try:
                return call()
            except Exception as exc:
                log.warning("INC-%s: could not %s: %s", incident.number, what, slack_error(exc))
                warnings.append(f"could not {what} ({slack_error(exc)})")
                return None

        kind_note = "" if incident.incident_type == DEFAULT_TYPE else f" (type {incident.incident_type})"
        for name in (Milestone.DECLARED.value, Milestone.DETECTED.value):
            self.repo.set_milestone(
                incident.id, name, now, incident.declarer_id, "automatic", only_if_unset=True
            )
        self.repo.add_timeline_event(
            TimelineEvent(
                incident_id=incident.id,
                at=now,
                source="automatic",
                kind="declared",
                text=f"Incident declared by <@{incident.declarer_id}>{kind_note}: {escape(incident.title)}",
                plain_text=f"Incident declared{kind_note}: {incident.title}",
                actor_id=incident.declarer_id,
                dedupe_key=f"declared:{incident.id}",
            )
        )
        channel = incident.channel_id
        if not existing_channel and incident.declarer_id != self.bot_user_id:  # an auto-declare: in already
            attempt(
                "invite the declarer",
                lambda: self.client.conversations_invite(channel=channel, users=incident.declarer_id),
            )
        attempt(
            "set the channel topic",
            lambda: self.client.conversations_setTopic(channel=channel, topic=self.topic(incident)),
        )
        attempt(
            "set the channel purpose",
            lambda: self.client.conversations_setPurpose(
                channel=channel, purpose=one_line(f"{ref}: {incident.title}", 250)
            ),
        )
        card = attempt(
            "post the summary card",
            lambda: self.client.chat_postMessage(
                channel=channel,
                text=f"{ref}: {escape(incident.title)}",
                blocks=self.card(incident, lead=None),
            ),
        )
        if card is not None:
            self.repo.update_incident(incident.id, card_ts=card["ts"])
        announce = self.settings.announce_channel
        if announce and not incident.is_private:
            ann = attempt(
                "announce the incident",
                lambda: self.client.chat_postMessage(
                    channel=announce,
                    text=(
                        f":rotating_light: *{ref}* ({blocks.severity_text(incident.severity)}) declared by "
                        f"<@{incident.declarer_id}>: {escape(incident.title)} — join <#{channel}>"
                    ),
                ),
            )
            if ann is not None:
                self.repo.update_incident(
                    incident.id,
                    announce_channel_id=ann["channel"],
                    announce_ts=ann["ts"],
                )
        return warnings

    def topic(self, incident: Incident, lead: str | None = None) -> str:
        status = "Closed" if incident.is_closed else status_label(incident.status)
        lead_text = f"<@{lead}>" if lead else "none"
        links = self.repo.topic_links(incident.id) if incident.id is not None else []
        return one_line(
            " · ".join(
                [
                    f"{blocks.incident_ref(incident)} · {blocks.severity_text(incident.severity)} · {status} · Lead: {lead_text}",
                    *links,
                ]
            ),
            250,
        )
