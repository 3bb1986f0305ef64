"""Who fills an incident type's roles at declare: a person, a user group, or who is on call.

``[types.<name>.roles.<role>] filled_by`` names a user (``U…``), a user group (``S…``: all its
members are invited; the declarer takes the role if they are one of them, else the group's first
member) or ``oncall:<schedule id>`` (who PagerDuty says is on call there, found in Slack by email).
Each assignment is a role change on the timeline like one made by hand; nothing here blocks the
declare: a filler Slack or PagerDuty cannot name is logged and told in the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.incidents.declare import IncidentService
from bot.incidents.types import incident_type
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error
from bot.slack.text import escape, to_plain
from storage.models import Incident, TimelineEvent
from storage.repository import Repository

log = logging.getLogger(__name__)

ONCALL = "oncall:"


@dataclass(frozen=True)
class Filled:
    role: str
    user_id: str
    source: str  # how people read where it came from: "", "from <!subteam^S…>", "on call"
    invite: tuple[str, ...]
    group: str | None = None


class FillerUnknown(Exception):
    """Slack or PagerDuty cannot name who fills the role now (``str``: why, for people;
    ``passing``: Slack or PagerDuty failed to answer, asking again may work)."""

    def __init__(self, reason: str, passing: bool = False) -> None:
        super().__init__(reason)
        self.passing = passing


class RoleDefaults:
    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        incidents: IncidentService,
        clock: Callable[[], datetime],
        bot_user_id: str = "",
        oncall_email: Callable[[str], str | None] | None = None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.incidents = incidents
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.oncall_email = oncall_email
        """The PagerDuty schedule's on-call person's email (None: PagerDuty is not configured)."""

    def fill(self, incident: Incident, keep_held: bool = False) -> None:
        """Give each of the type's roles with a ``filled_by`` to its filler, invite them, and put
        each assignment on the timeline (once: a repeat finds the role already held).
        ``keep_held`` (the type changed): only the roles nobody holds now."""
        spec = incident_type(self.settings.config.types, incident.incident_type)
        wanted = {role: r.filled_by for role, r in spec.roles.items() if r.filled_by}
        if keep_held and wanted and incident.id is not None:
            held = self.repo.active_roles(incident.id)
            wanted = {role: filler for role, filler in wanted.items() if not held.get(role)}
        if not wanted or not incident.channel_id or incident.id is None:
            return
        lines, problems = [], []
        for role, filler in wanted.items():
            try:
                filled = self.resolve(role, filler, incident.declarer_id)
            except FillerUnknown as exc:
                log.warning("%s: the %s was not filled: %s", incident_ref(incident), role, exc)
                problems.append(f"the *{escape(role)}* was not filled: {exc}")
                continue
            if self._assign(incident, filled):
                lines.append(
                    f"<@{filled.user_id}> is the *{escape(role)}*"
                    + (f" ({filled.source})" if filled.source else "")
                )
        if lines or problems:
            self._after(incident, lines, problems)

    def resolve(self, role: str, filler: str, declarer: str) -> Filled:
        """Who ``filler`` (the ``filled_by`` syntax) names for ``role`` now (FillerUnknown if nobody)."""
        if filler.startswith(ONCALL):
            return self._oncall(role, filler.removeprefix(ONCALL))
        if filler.startswith("S"):
            try:
                members = [u for u in self.client.usergroups_users_list(usergroup=filler)["users"] if u]
            except Exception as exc:
                raise FillerUnknown(
                    f"Slack did not list user group <!subteam^{filler}> ({slack_error(exc)})", passing=True
                ) from exc
            if not members:
                raise FillerUnknown(f"user group <!subteam^{filler}> has no members")
            holder = declarer if declarer in members else members[0]
            return Filled(role, holder, f"from <!subteam^{filler}>", tuple(members), group=filler)
        return Filled(role, filler, "", (filler,))

    def _oncall(self, role: str, schedule: str) -> Filled:
        if self.oncall_email is None:
            raise FillerUnknown("PagerDuty is not configured (PAGERDUTY_API_TOKEN)")
        try:
            email = self.oncall_email(schedule)
        except Exception as exc:
            raise FillerUnknown(
                f"PagerDuty did not say who is on call ({getattr(exc, 'reason', exc)})", passing=True
            ) from exc
        if not email:
            raise FillerUnknown(f"nobody is on call in PagerDuty schedule {escape(schedule)}")
        try:
            user = self.client.users_lookupByEmail(email=email)["user"]
        except Exception as exc:
            raise FillerUnknown(
                f"the on-call person has no Slack account with their PagerDuty email ({slack_error(exc)})"
            ) from exc
        return Filled(role, str(user["id"]), "on call", (str(user["id"]),))

    def _assign(self, incident: Incident, filled: Filled) -> bool:
        at = self.clock()
        previous = self.repo.assign_role(
            incident.id or 0, filled.role, filled.user_id, self.bot_user_id, at=at
        )
        if previous is None:
            return False
        invite = [u for u in filled.invite if u != self.bot_user_id]
        if invite:
            try:
                self.client.conversations_invite(channel=incident.channel_id or "", users=",".join(invite))
            except Exception as exc:
                if slack_error(exc) != "already_in_channel":
                    log.warning(
                        "%s: could not invite the %s: %s",
                        incident_ref(incident),
                        filled.role,
                        slack_error(exc),
                    )
        source = f" ({filled.source})" if filled.source else ""
        doc = f"<@{filled.user_id}> is now the {escape(filled.role)} by default{source}"
        plain = f"<@{filled.user_id}> is now the {escape(filled.role)} by default"
        plain += f" (from user group {filled.group})" if filled.group else source
        self.repo.add_timeline_event(
            TimelineEvent(
                incident_id=incident.id or 0,
                at=at,
                source="automatic",
                kind="role",
                text=doc,
                plain_text=to_plain(plain),
                actor_id=None,
                dedupe_key=f"default-role:{incident.id}:{incident.incident_type}:{filled.role}",
            )
        )
        return True

    def _after(self, incident: Incident, lines: list[str], problems: list[str]) -> None:
        """One message for all the defaults, the card and topic showing them."""
        kind = escape(incident.incident_type)
        text = "\n".join(
            [f"Roles of a *{kind}* incident, filled by default:", *(f"• {line}" for line in lines)]
            + [f":warning: {p}" for p in problems]
        )
        channel = incident.channel_id or ""
        roles = self.repo.active_roles(incident.id or 0)
        fresh = self.repo.incident(incident.id or 0)
        calls: list[tuple[str, Callable[[], Any]]] = [
            ("post the default roles", lambda: self.client.chat_postMessage(channel=channel, text=text))
        ]
        if lines and fresh.card_ts:
            calls.append(
                (
                    "update the card",
                    lambda: self.client.chat_update(
                        channel=channel,
                        ts=fresh.card_ts or "",
                        text=f"{incident_ref(fresh)}: {escape(fresh.title)}",
                        blocks=self.incidents.card(fresh, lead=roles.get("lead"), roles=roles),
                    ),
                )
            )
        if lines and roles.get("lead"):
            topic = self.incidents.topic(fresh, roles.get("lead"))
            calls.append(
                ("set the topic", lambda: self.client.conversations_setTopic(channel=channel, topic=topic))
            )
        for what, call in calls:
            try:
                call()
            except Exception as exc:
                log.warning("%s: could not %s: %s", incident_ref(incident), what, slack_error(exc))
