"""What each step kind does, given the incident: Slack calls, a lifecycle change, a page, a webhook.

A step raises ``StepFailed`` (``passing``: worth retrying) or returns what it did (shown in
`/incident workflows`). The lifecycle, paging and webhook effects arrive as callables (wiring).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import IncidentBotError, UsageError
from bot.followups.service import Request
from bot.incidents.checklist_service import Started, UnknownChecklist
from bot.incidents.outcome import Actor, Outcome
from bot.incidents.role_defaults import ONCALL, Filled, FillerUnknown
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error
from bot.slack.text import escape, one_line, to_plain
from bot.workflows.evaluate import Snapshot
from bot.workflows.model import Workflow
from bot.workflows.step_kinds import (
    AddLink,
    CreateFollowup,
    Invite,
    InviteOncall,
    Page,
    Post,
    SetField,
    SetRole,
    SetSeverity,
    StartChecklist,
    Webhook,
)
from bot.workflows.templates import render
from storage.models import Incident, TimelineEvent

PASSING_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
ALREADY = frozenset({"already_in_channel", "cant_invite_self"})


WORKFLOW_ACTOR = "workflow"
_DEPTH = re.compile(rf"^{WORKFLOW_ACTOR}(\d+):")


def chain_depth(actor_key: str | None) -> int:
    """How many runs led to a change: 0 for a person's, n for a change a run at depth n made."""
    m = _DEPTH.match(actor_key or "")
    return int(m.group(1)) if m else 0


class StepFailed(Exception):
    def __init__(self, reason: str, passing: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.passing = passing


def _slack(exc: Exception) -> StepFailed:
    error = slack_error(exc)
    return StepFailed(f"Slack answered `{error}`", passing=error in PASSING_SLACK_ERRORS)


@dataclass
class StepRunner:
    client: WebClient
    settings: Settings
    set_severity: Callable[[Incident, str, Actor], Outcome]
    set_field: Callable[[Incident, str, str, Actor], Outcome]
    page: Callable[[Incident, str | None, str, str], str]
    send_webhook: Callable[[str, str, dict[str, Any]], None]
    start_checklist: Callable[[Incident, str], Started]
    resolve_filler: Callable[[str, str, str], Filled]
    assign_role: Callable[[Incident, str, str, Actor], Outcome]
    add_timeline_event: Callable[[TimelineEvent], TimelineEvent | None]
    topic_of: Callable[[Incident], str]
    clock: Callable[[], datetime]
    ticket_refusal: Callable[[Incident], str | None]
    post_item: Callable[[Incident, str, str], TimelineEvent | None]
    request_ticket: Callable[[Incident, int, str | None], Request]
    bot_user_id: str = ""

    def run(
        self, step: Any, incident: Incident, rule: Workflow, snap: Snapshot, key: str, depth: int = 1
    ) -> dict[str, Any]:
        """Do ``step``; ``key`` is unique to this step of this run (its idempotency key); ``depth``:
        how many runs led to this one (the changes it makes carry it, see ``chain_depth``)."""
        actor = Actor(self.bot_user_id or "USLACKBOT", f"{WORKFLOW_ACTOR}{depth}:{key}")
        if isinstance(step, Post):
            return self._post(step, incident, rule, snap)
        if isinstance(step, Invite):
            return self._invite(step, incident)
        if isinstance(step, SetSeverity):
            return _changed(self.set_severity(incident, step.severity, actor))
        if isinstance(step, SetField):
            try:
                return _changed(self.set_field(incident, step.field, step.value, actor))
            except UsageError as exc:
                raise StepFailed(to_plain(str(exc)), passing=False) from exc
        if isinstance(step, Page):
            try:
                said = self.page(incident, step.service, actor.user_id, key)
            except IncidentBotError as exc:
                raise StepFailed(to_plain(str(exc)), passing=False) from exc
            return {"done": to_plain(said)}
        if isinstance(step, Webhook):
            body = {
                "event_id": f"workflow:{key}",
                "event": "workflow",
                "workflow": rule.name,
                "incident": {
                    "id": incident_ref(incident),
                    "severity": incident.severity,
                    "status": snap.status,
                    "type": snap.type,
                    "private": incident.is_private,
                    "title": None if incident.is_private else incident.title,
                },
            }
            self.send_webhook(step.url, f"workflow:{key}", body)
            return {"done": f"webhook to {step.url} queued"}
        if isinstance(step, StartChecklist):
            return self._start_checklist(step, incident)
        if isinstance(step, SetRole):
            return self._set_role(step, incident, actor)
        if isinstance(step, AddLink):
            return self._add_link(step, incident, rule, snap)
        if isinstance(step, CreateFollowup):
            return self._create_followup(step, incident, rule, snap)
        if isinstance(step, InviteOncall):
            filled = self._filler("on-call", f"{ONCALL}{step.schedule}", incident)
            invited = self._invite_users(incident, [filled.user_id])
            return {"done": f"invited {len(invited)} of 1 (on call)", "users": invited}
        raise StepFailed(f"unknown step kind {getattr(step, 'kind', '?')}", passing=False)

    def _filler(self, role: str, filler: str, incident: Incident) -> Filled:
        try:
            return self.resolve_filler(role, filler, incident.declarer_id)
        except FillerUnknown as exc:
            raise StepFailed(to_plain(str(exc)), passing=exc.passing) from exc

    def _set_role(self, step: SetRole, incident: Incident, actor: Actor) -> dict[str, Any]:
        """The role to who ``to`` names now (a lifecycle assignment), then the rest of their group."""
        filled = self._filler(step.role, step.to, incident)
        result = _changed(self.assign_role(incident, step.role, filled.user_id, actor))
        others = [u for u in filled.invite if u != filled.user_id]
        invited = self._invite_users(incident, others) if others else []
        via = (
            f" (from user group {filled.group})"
            if filled.group
            else f" ({filled.source})"
            if filled.source
            else ""
        )
        done = f"@{filled.user_id} is the {step.role}{via}" if result["done"] == "changed" else result["done"]
        if others:
            done += f"; invited {len(invited)} more of the group"
        return {"done": done, "user": filled.user_id}

    def _invite_users(self, incident: Incident, users: list[str]) -> list[str]:
        invited = []
        for user in dict.fromkeys(users):
            if user == self.bot_user_id:
                continue
            try:
                self.client.conversations_invite(channel=incident.channel_id or "", users=user)
                invited.append(user)
            except SlackApiError as exc:
                if slack_error(exc) not in ALREADY:
                    raise _slack(exc) from exc
        return invited

    def _start_checklist(self, step: StartChecklist, incident: Incident) -> dict[str, Any]:
        try:
            started = self.start_checklist(incident, step.checklist)
        except UnknownChecklist as exc:
            raise StepFailed(to_plain(str(exc)), passing=False) from exc
        if started.checklist.message_ts is None:  # stored, not posted: the retry posts it
            raise StepFailed(f"Slack did not take the checklist `{step.checklist}`")
        if not started.posted:
            return {"done": f"checklist {step.checklist} was already started"}
        return {"done": f"checklist {step.checklist} posted"}

    def _add_link(self, step: AddLink, incident: Incident, rule: Workflow, snap: Snapshot) -> dict[str, Any]:
        """A bookmark, or a link in the topic (which the topic keeps: it is built with the
        incident's ``topic-link`` timeline events); on the timeline either way, once per URL."""
        try:
            url = render(step.url, _values(incident, rule, snap))
        except TemplateError as exc:
            raise StepFailed(f"the URL template failed: {exc}", passing=False) from exc
        if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            raise StepFailed(f"`{url}` is not a URL", passing=False)
        where = "topic-link" if step.topic else "bookmark"
        text = f"{step.title}: {url}"
        event = TimelineEvent(
            incident_id=incident.id or 0,
            at=self.clock(),
            source="automatic",
            kind="link",
            text=escape(text),
            plain_text=text,
            dedupe_key=f"{where}:{incident.id}:{url}",
        )
        channel = incident.channel_id or ""
        try:
            if step.topic:
                self.add_timeline_event(event)
                self.client.conversations_setTopic(channel=channel, topic=self.topic_of(incident))
                return {"done": f"{text} in the topic"}
            self.client.bookmarks_add(channel_id=channel, title=step.title, type="link", link=url)
        except SlackApiError as exc:
            raise _slack(exc) from exc
        self.add_timeline_event(event)
        return {"done": f"bookmarked {text}"}

    def _create_followup(
        self, step: CreateFollowup, incident: Incident, rule: Workflow, snap: Snapshot
    ) -> dict[str, Any]:
        """An action item the bot posts (on the timeline, offered its ticket like any other), then
        its ticket asked of the follow-ups' outbox with the rule's body."""
        refusal = self.ticket_refusal(incident)
        if refusal:
            raise StepFailed(refusal, passing=False)
        values = _values(incident, rule, snap)
        try:
            title = one_line(render(step.title, values), 200)
            body = render(step.body, values) if step.body else None
        except TemplateError as exc:
            raise StepFailed(f"the template failed: {exc}", passing=False) from exc
        if not title:
            raise StepFailed("the title came out empty", passing=False)
        try:
            event = self.post_item(incident, escape(title), "action_item")
        except SlackApiError as exc:
            raise _slack(exc) from exc
        if event is None or event.id is None:
            raise StepFailed("the action item could not be put on the timeline", passing=False)
        request = self.request_ticket(incident, event.id, body)
        if request.state not in ("queued", "exists"):
            raise StepFailed(to_plain(request.message), passing=False)
        return {"done": f"ticket asked for “{title}”", "event_id": event.id}

    def _post(self, step: Post, incident: Incident, rule: Workflow, snap: Snapshot) -> dict[str, Any]:
        try:
            text = render(step.text, _values(incident, rule, snap))
        except TemplateError as exc:
            raise StepFailed(f"the template failed: {exc}", passing=False) from exc
        if step.to == "channel":
            channel = incident.channel_id
        elif step.to == "announce":
            if incident.is_private:
                return {"skipped": "a private incident is not announced"}
            channel = self.settings.announce_channel
        else:
            channel = step.to
        if not channel:
            raise StepFailed("no channel to post to (INCIDENT_ANNOUNCE_CHANNEL is not set)", passing=False)
        try:
            resp = self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        except SlackApiError as exc:
            raise _slack(exc) from exc
        where = {"channel": "the incident channel", "announce": "the announcement channel"}.get(
            step.to, channel
        )
        return {"done": f"posted in {where}", "ts": resp.get("ts")}

    def _invite(self, step: Invite, incident: Incident) -> dict[str, Any]:
        users = list(step.users)
        try:
            if step.groups:
                groups = self.client.usergroups_list(include_disabled=False)["usergroups"]
                for ref in step.groups:
                    group = next(
                        (g for g in groups if g["id"] == ref or g.get("handle") == ref.removeprefix("@")),
                        None,
                    )
                    if group is None:
                        raise StepFailed(f"no user group `{ref}`", passing=False)
                    users += self.client.usergroups_users_list(usergroup=group["id"])["users"]
        except SlackApiError as exc:
            raise _slack(exc) from exc
        invited = self._invite_users(incident, users)
        return {"done": f"invited {len(invited)} of {len(dict.fromkeys(users))}", "users": invited}


def _values(incident: Incident, rule: Workflow, snap: Snapshot) -> dict[str, Any]:
    """What a template sees."""
    return {
        "incident": {
            "number": incident.number,
            "ref": incident_ref(incident),
            "title": incident.title,
            "severity": incident.severity,
            "status": snap.status,
            "type": snap.type,
            "private": incident.is_private,
            "channel": f"<#{incident.channel_id}>" if incident.channel_id else "",
        },
        "fields": dict(snap.fields),
        "rule": rule.name,
    }


def _changed(outcome: Outcome) -> dict[str, Any]:
    if outcome.changed:
        return {"done": "changed"}
    note = to_plain(outcome.note)
    if "already" in note:
        return {"done": note}
    raise StepFailed(note or "nothing changed", passing=False)
