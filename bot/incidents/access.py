"""Who may do what to an incident: the one policy, ``Access.check(user, action, incident)``.

Every entry point names its ``Action`` (``bot.incidents.entry_points`` for Bolt listeners and
`/incident` subcommands, ``bot.ops.http_boundary.bounded`` for web routes). The actor is what Slack
says of the person now (``Actor``: guest, deactivated, bot; from ``users.info``, cached
``PROFILE_TTL`` seconds) and whether they are in the incident's channel. The rules, in order:

- ``CAPTURE`` and ``PUBLIC`` check no person (Slack delivers only what a channel's members did
  in it; a probe or Slack's signed intake acts for nobody);
- a deactivated account, a bot (a workflow posting a slash command), or someone Slack cannot
  describe is refused every other action;
- a workspace guest (``is_restricted`` / ``is_ultra_restricted``) acts only on incidents whose
  channel they are in: never declares, triages alerts or reads workspace-wide listings;
- a private incident: members of its channel only, whatever the action;
- paging: ``[permissions] page`` ("members": the incident channel's members, the default;
  "anyone"; or a list of roles such as ``["lead"]``); publishing to the status page:
  ``[permissions] statuspage``, the same forms.

The incident a request acts on comes from where it happened: the channel of a command, the
message of a button, the bot's record of a form it opened (``bot.slack.views``); an incident number
typed into a form is a claim, checked like a command. For a private incident the person must be a
member of its channel now.

Membership comes from ``conversations.members``, kept for ``TTL`` seconds per channel: Slack is
the authority (recorded ``member_joined_channel``/``member_left_channel`` events would miss what
happened while the bot was down, and the app does not subscribe to them), private incident
channels are small (one page), and the short cache keeps a burst of clicks to one call. Someone
not in a cached list is looked up again before being refused (a person invited a moment ago is
not turned away); someone removed keeps access for at most ``TTL`` seconds. A listing (``may_see``,
the web list and search) trusts a fresh cached list instead: someone invited a moment ago appears
in listings within ``TTL`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk import WebClient

from bot.incidents.rules import allowed, permission_text, standing
from bot.slack.client import slack_error
from storage.models import Incident

log = logging.getLogger(__name__)

TTL = 30.0
PROFILE_TTL = 300.0
MEMBERS = "members"


class Action(StrEnum):
    """What an entry point does, as the policy knows it. Every Bolt listener, `/incident`
    subcommand and web route declares one (``bot.incidents.entry_points``, ``bounded`` routes)."""

    READ = "read"  # see an incident or a listing: its timeline, /incident list, stats, the web pages
    DECLARE = "declare"  # a new incident: declare, convert (guests never: it makes a public channel)
    CHANGE = "change"  # a command, button or form that changes an incident
    PAGE = "page"  # page on-call for an incident (/incident page, an alert card's Page button)
    ATTACH_ALERT = "attach_alert"  # attach an alert group to an incident
    TRIAGE_ALERT = "triage_alert"  # declare an incident from an alert, or ignore it
    STATUSPAGE = "statuspage"  # publish an incident's public update (/incident statuspage, its prompts)
    # Not checked per person, by their nature:
    CAPTURE = "capture"  # what people do in a channel (messages, reactions, pins): Slack delivers
    # only what the channel's members did there, recorded as it happened
    PUBLIC = "public"  # no person to check: probes, Slack's signed intake (each listener checks),
    # the alert intake's bearer token, sign-in, the stylesheet, the bot's own bookkeeping

    @property
    def checked(self) -> bool:
        """Whether ``Access.check`` asks anything of the person (the two last: nothing to ask)."""
        return self not in (Action.CAPTURE, Action.PUBLIC)


@dataclass(frozen=True)
class Actor:
    """What Slack says of a person now."""

    user_id: str
    guest: bool = False
    deactivated: bool = False
    bot: bool = False


class People:
    """``users.info`` per person, kept ``PROFILE_TTL`` seconds (a guest promoted or an account
    deactivated is seen within that time, at once when Slack sends ``user_change``)."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Actor]] = {}

    def actor(self, user_id: str) -> Actor:
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is not None and self.clock() - cached[0] < PROFILE_TTL:
            return cached[1]
        user = self.client.users_info(user=user_id)["user"]
        found = Actor(
            user_id=user_id,
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            deactivated=bool(user.get("deleted")),
            bot=bool(user.get("is_bot") or user.get("is_app_user")) or user_id == "USLACKBOT",
        )
        with self._lock:
            self._cache[user_id] = (self.clock(), found)
        return found

    def forget(self, user_id: str) -> None:
        """Slack says the person changed (``user_change``): the next check asks again."""
        with self._lock:
            self._cache.pop(user_id, None)


class ChannelMembers:
    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def _fetch(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        while True:
            page = self.client.conversations_members(channel=channel, limit=1000, cursor=cursor)
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        found = frozenset(members)
        with self._lock:
            self._cache[channel] = (self.clock(), found)
        return found

    def forget(self, channel: str) -> None:
        """Someone joined or left: the next check asks Slack (a person removed loses access at once)."""
        with self._lock:
            self._cache.pop(channel, None)

    def is_member(self, channel: str, user: str, ask_again: bool = True) -> bool:
        """``ask_again``: a miss in a fresh list is asked of Slack again (False: trusted, for listings)."""
        with self._lock:
            cached = self._cache.get(channel)
        now = self.clock()
        if cached is not None and now - cached[0] < TTL and (user in cached[1] or not ask_again):
            return user in cached[1]
        return user in self._fetch(channel)  # a miss is asked again: refusals are rare, invites are not


NOT_A_MEMBER = (
    "This is a private incident and you are not a member of its channel; nothing changed. "
    "Ask someone in it to invite you."
)
ONLY_PEOPLE = "Only people in this workspace may do this; nothing changed."
NOT_FOUND = "No such incident: give its number, e.g. INC-7."


class Access:
    """``check(user, action, incident)``: why the person may not, or None; ``may``: whether they may."""

    def __init__(
        self,
        members: ChannelMembers,
        people: People | None = None,
        page_rule: str | list[str] = MEMBERS,
        statuspage_rule: str | list[str] = MEMBERS,
        roles_of: Callable[[int], dict[str, str]] | None = None,
    ) -> None:
        self.members = members
        self.people = people or People(members.client)
        self.page_rule = page_rule
        self.statuspage_rule = statuspage_rule
        self.roles_of = roles_of or (lambda _incident_id: {})

    def may(self, user_id: str, action: Action, incident: Incident | None, listing: bool = False) -> bool:
        return self.check(user_id, action, incident, listing) is None

    def check(
        self, user_id: str, action: Action, incident: Incident | None, listing: bool = False
    ) -> str | None:
        """Why ``user_id`` may not do ``action`` to ``incident`` (None: no incident yet), or None.
        ``listing``: one of many incidents shown at once; channel membership is then trusted from
        a list fetched within ``TTL`` seconds, not asked again on a miss (a listing of a hundred
        incidents a guest is not in would otherwise be a hundred calls to Slack, every time)."""
        try:
            return self._check(user_id, action, incident, listing)
        except Exception as exc:
            # Cannot tell: refuse (a private incident's contents stay private), and say why.
            log.warning("access check for %s failed: %s", action.value, slack_error(exc))
            return f"I could not check that you may do this ({slack_error(exc)}); nothing changed. Try again in a moment."

    def admits(self, user_id: str) -> str | None:
        """Why the person may do nothing at all (a deactivated account, a bot), or None: they may
        act, a guest only on incidents whose channel they are in. Raises when Slack cannot say
        (the web UI's sign-in tells "try again" from "never")."""
        actor = self.people.actor(user_id)
        if actor.deactivated or actor.bot:
            return ONLY_PEOPLE
        return None

    def _check(self, user_id: str, action: Action, incident: Incident | None, listing: bool) -> str | None:
        if not action.checked:
            return None
        refused = self.admits(user_id)
        if refused:
            return refused
        actor = self.people.actor(user_id)
        if actor.guest and (incident is None or not self._member(incident, user_id, listing)):
            return "Guests of this workspace may do this only in incidents whose channel they are in; nothing changed."
        if incident is None:
            return None
        if incident.is_private and not self._member(incident, user_id, listing):
            return NOT_A_MEMBER
        if action is Action.PAGE:
            return self._rule(self.page_rule, ("page for it", "page for this incident"), incident, user_id)
        if action is Action.STATUSPAGE:
            verbs = ("publish its public updates", "publish this incident's public updates")
            return self._rule(self.statuspage_rule, verbs, incident, user_id)
        return None

    def _rule(
        self, rule: str | list[str], verbs: tuple[str, str], incident: Incident, user_id: str
    ) -> str | None:
        """``verbs``: what is refused, said to a non-member and to someone without the role."""
        if rule == "anyone":
            return None
        if rule == MEMBERS:
            if self._member(incident, user_id):
                return None
            where = f" <#{incident.channel_id}>" if incident.channel_id and not incident.is_private else ""
            return f"Only the incident channel's members may {verbs[0]}; join{where or ' it'} first. Nothing changed."
        held = standing(user_id, self.roles_of(incident.id or 0), incident.declarer_id)
        if allowed(rule, held):
            return None
        return f"Only {permission_text(rule)} may {verbs[1]}. Nothing changed."

    def _member(self, incident: Incident, user_id: str, listing: bool = False) -> bool:
        channel = incident.channel_id or ""
        return bool(channel) and self.members.is_member(channel, user_id, ask_again=not listing)

    def may_see(self, incident: Incident, user_id: str) -> bool:
        """Whether the person may know of the incident at all (a listing): ``READ`` it; when Slack
        cannot say, no."""
        return self.may(user_id, Action.READ, incident, listing=True)


def may_name_publicly(incident: Incident) -> bool:
    """Whether an incident may be named where its readers are not checked (a document published to
    a channel and to disk, a message in another incident's channel): public and not removed."""
    return not incident.is_private and incident.state == "active"
