"""The triage card's buttons (Declare, Attach to INC-…, Ignore, Page on-call) and the attach form."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.alerts import blocks
from bot.alerts.service import AlertService
from bot.incidents.access import NOT_FOUND, Access, Action
from bot.incidents.entry_points import Listeners
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error
from bot.slack.deliveries import delivery
from bot.slack.views import NOT_OPEN, open_view, target_of
from storage.models import AlertGroup, Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

INCIDENT_NUMBER = re.compile(r"^\s*(?:inc-?)?\s*(\d{1,9})\s*$", re.IGNORECASE)


GONE = "This alert is no longer known to the bot; nothing changed."


def _clicked_group(body: dict[str, Any], repo: Repository) -> AlertGroup | None:
    """The group of the card the person clicked, looked up from where the click happened (the
    message's channel and ts), never from the value the bot once wrote into the button."""
    container = body.get("container") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    ts = str(container.get("message_ts") or (body.get("message") or {}).get("ts") or "")
    if not channel or not ts:
        return None
    return repo.alert_group_by_card(channel, ts)


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _target(
    body: dict[str, Any], repo: Repository, respond: Respond, access: Access, action: Action
) -> tuple[AlertGroup, Incident | None] | None:
    """The clicked card's group (and for paging its incident), when the policy lets the person
    do ``action``; otherwise None, and they have been told why."""
    group = _clicked_group(body, repo)
    incident = None
    if group is not None and action is Action.PAGE:
        incident = repo.incident(group.incident_id) if group.incident_id else None
    if group is None or (action is Action.PAGE and incident is None):
        _tell(respond, GONE)
        return None
    refusal = access.check(body["user"]["id"], action, incident)
    if refusal:
        _tell(respond, refusal)
        return None
    return group, incident


def on_declare(
    ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, alerts: AlertService, access: Access
) -> None:
    ack()
    with delivery(repo, f"action:{body.get('trigger_id')}", kind="action") as mine:
        target = _target(body, repo, respond, access, Action.TRIAGE_ALERT) if mine else None
        if target is not None:
            inc = alerts.declare(target[0].id or 0, body["user"]["id"]).incident
            _tell(respond, f"Declared *{incident_ref(inc)}* from the alert: <#{inc.channel_id}>")


def on_ignore(
    ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, alerts: AlertService, access: Access
) -> None:
    ack()
    with delivery(repo, f"action:{body.get('trigger_id')}", kind="action") as mine:
        target = _target(body, repo, respond, access, Action.TRIAGE_ALERT) if mine else None
        if target is not None:
            alerts.ignore(target[0].id or 0, body["user"]["id"])


def on_attach(
    ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, client: WebClient, access: Access
) -> None:
    ack()
    target = _target(body, repo, respond, access, Action.TRIAGE_ALERT)
    if target is None:
        return
    if target[0].triage != "open":
        _tell(respond, "This alert was already triaged; nothing changed.")
        return
    group = target[0]
    try:
        open_view(
            client,
            repo,
            body.get("trigger_id", ""),
            blocks.attach_modal(group),
            body["user"]["id"],
            alert_group_id=group.id,
            channel_id=group.channel_id,
        )
    except Exception as exc:
        _tell(respond, f"Could not open the form ({slack_error(exc)}).")


def on_attach_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    alerts: AlertService,
    access: Access,
) -> None:
    opened = target_of(repo, body, view)  # the card the form was opened from, per the bot's record
    if opened is None or opened.alert_group_id is None:
        ack(response_action="errors", errors={"incident": NOT_OPEN})
        return
    values = view.get("state", {}).get("values", {})
    text = ((values.get("incident", {}).get("value") or {}).get("value") or "").strip()
    m = INCIDENT_NUMBER.match(text)
    incident = repo.incident_by_number(int(m.group(1))) if m else None
    user = body["user"]["id"]
    # A typed number is a claim: one not there, not active, or not the person's to attach to
    # (a private incident they are not in) gets the same answer, so answers reveal nothing.
    if incident is None or incident.state != "active" or not access.may(user, Action.ATTACH_ALERT, incident):
        ack(response_action="errors", errors={"incident": NOT_FOUND})
        return
    ack()
    group = repo.alert_group(opened.alert_group_id)
    if group is not None:
        context["reply_channel"] = group.channel_id  # where the error boundary answers
    with delivery(repo, f"view:{view['id']}", kind="view") as mine:
        if not mine or group is None:
            return
        alerts.attach(group.id or 0, incident, user)


def on_page(
    ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, context: BoltContext, access: Access
) -> None:
    ack()
    key = f"action:{body.get('trigger_id')}"
    with delivery(repo, key, kind="action") as mine:
        target = _target(body, repo, respond, access, Action.PAGE) if mine else None
        if target is not None and target[1] is not None:
            _tell(respond, context["paging"].page(target[1], None, body["user"]["id"], key))


def register(on: Listeners) -> None:
    on.action(blocks.ACTION_DECLARE, Action.TRIAGE_ALERT)(on_declare)
    on.action(blocks.ACTION_IGNORE, Action.TRIAGE_ALERT)(on_ignore)
    on.action(blocks.ACTION_ATTACH, Action.TRIAGE_ALERT)(on_attach)
    on.action(blocks.ACTION_PAGE, Action.PAGE)(on_page)
    on.view(blocks.ATTACH_CALLBACK, Action.ATTACH_ALERT)(on_attach_submit)
