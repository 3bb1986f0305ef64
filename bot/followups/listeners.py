"""Slack listeners for follow-ups: the "Create ticket" buttons. Parse, delegate, answer.

Module-level functions: the follow-up service and the repository come through Bolt's context
(``bot.slack.app``); each click is claimed by its trigger (``bot.slack.deliveries``), and the
ticket itself is created once whatever the clicks (a unique request per item, then the outbox).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond

from bot.followups import messages
from bot.followups.service import FollowupService
from bot.incidents.access import Access, Action
from bot.incidents.entry_points import Listeners
from bot.incidents.vocabulary import incident_ref
from bot.slack.deliveries import delivery
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

GONE = "This button's incident no longer exists."


def _value(body: dict[str, Any]) -> int | None:
    actions = body.get("actions") or [{}]
    raw = str(actions[0].get("value") or "")
    return int(raw) if raw.isdigit() else None


def _refused(access: Access, respond: Respond, user: str, incident: Incident) -> bool:
    refusal = access.check(user, Action.CHANGE, incident)
    if refusal:
        respond(text=refusal, response_type="ephemeral", replace_original=False)
    return bool(refusal)


def on_create_ticket(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    followups: FollowupService,
    repo: Repository,
    access: Access,
) -> None:
    """A "Create ticket" click (or its private confirmation): queue, show pending, try the tracker."""
    ack()
    channel = (body.get("channel") or {}).get("id", "")
    user = str((body.get("user") or {}).get("id") or "")
    event_id = _value(body)
    incident = repo.incident_by_channel(channel)
    if incident is None or event_id is None:
        respond(text=GONE, response_type="ephemeral", replace_original=False)
        return
    action_id = (body.get("actions") or [{}])[0].get("action_id")
    confirmed = action_id == messages.CREATE_CONFIRMED
    with delivery(repo, f"action:{body.get('trigger_id')}", kind="action") as mine:
        if not mine or _refused(access, respond, user, incident):
            return
        request = followups.request(incident, event_id, user, confirmed=confirmed)
        if request.state == "needs_confirmation":
            text, blocks = messages.private_confirmation(
                event_id, f"*{incident_ref(incident)}*", request.message
            )
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
            return
        if request.state in ("refused", "off"):
            respond(text=request.message, response_type="ephemeral", replace_original=False)
            return
        container = body.get("container") or {}
        clicked_ts = None if container.get("is_ephemeral") else container.get("message_ts")
        followups.show(event_id, status_ts=clicked_ts)  # "ticket pending" at once, in place of the button
    followups.create_now([request])
    if confirmed:
        text, blocks = messages.notice("Creating the ticket; the item's thread shows it.")
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


def on_create_all(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    followups: FollowupService,
    repo: Repository,
    access: Access,
) -> None:
    ack()
    channel = (body.get("channel") or {}).get("id", "")
    user = str((body.get("user") or {}).get("id") or "")
    incident = repo.incident_by_channel(channel)
    if incident is None:
        respond(text=GONE, response_type="ephemeral", replace_original=False)
        return
    with delivery(repo, f"action:{body.get('trigger_id')}", kind="action") as mine:
        if not mine or _refused(access, respond, user, incident):
            return
        requests = followups.request_all(incident, user)
    if any(r.state == "needs_confirmation" for r in requests):
        respond(
            text="This incident is private and no private repository or project is configured: "
            "confirm each ticket with the item's *Create ticket* button.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    queued = [r for r in requests if r.state in ("queued", "exists")]
    if queued:
        noun = "action item" if len(queued) == 1 else "action items"
        text, blocks = messages.notice(
            f":ticket: <@{user}> asked for tickets for {len(queued)} {noun}; each item's thread shows its ticket."
        )
        respond(text=text, blocks=blocks, response_type="in_channel", replace_original=True)
    followups.create_now(queued)


def register(on: Listeners) -> None:
    on.action(messages.CREATE, Action.CHANGE)(on_create_ticket)
    on.action(messages.CREATE_CONFIRMED, Action.CHANGE)(on_create_ticket)
    on.action(messages.CREATE_ALL, Action.CHANGE)(on_create_all)
