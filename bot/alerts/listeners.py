"""The triage card's buttons (Declare, Attach to INC-…, Ignore, Page on-call) and the attach form."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.alerts import blocks
from bot.alerts.service import AlertService
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error
from bot.slack.deliveries import delivery
from storage.repository import Repository

log = logging.getLogger(__name__)

INCIDENT_NUMBER = re.compile(r"^\s*(?:inc-?)?\s*(\d{1,9})\s*$", re.IGNORECASE)


def _group_id(body: dict[str, Any]) -> int:
    value = str(body["actions"][0].get("value") or "0")
    return int(value) if value.isascii() and value.isdigit() else 0


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def on_declare(
    ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, alerts: AlertService
) -> None:
    ack()
    key = f"action:{body.get('trigger_id')}"
    with delivery(repo, key, kind="action") as mine:
        if not mine:
            return
        result = alerts.declare(_group_id(body), body["user"]["id"])
        inc = result.incident
        _tell(respond, f"Declared *{incident_ref(inc)}* from the alert: <#{inc.channel_id}>")


def on_ignore(
    ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, alerts: AlertService
) -> None:
    ack()
    key = f"action:{body.get('trigger_id')}"
    with delivery(repo, key, kind="action") as mine:
        if not mine:
            return
        alerts.ignore(_group_id(body), body["user"]["id"])


def on_attach(ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, client: WebClient) -> None:
    ack()
    group = repo.alert_group(_group_id(body))
    if group is None or group.triage != "open":
        _tell(respond, "This alert was already triaged; nothing changed.")
        return
    try:
        client.views_open(trigger_id=body.get("trigger_id", ""), view=blocks.attach_modal(group))
    except Exception as exc:
        _tell(respond, f"Could not open the form ({slack_error(exc)}).")


def on_attach_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    alerts: AlertService,
    client: WebClient,
) -> None:
    values = view.get("state", {}).get("values", {})
    text = ((values.get("incident", {}).get("value") or {}).get("value") or "").strip()
    m = INCIDENT_NUMBER.match(text)
    incident = repo.incident_by_number(int(m.group(1))) if m else None
    if incident is None or incident.state != "active":
        ack(response_action="errors", errors={"incident": "No such incident: give its number, e.g. INC-7."})
        return
    ack()
    user = body["user"]["id"]
    group = repo.alert_group(int(view.get("private_metadata") or 0))
    if group is not None:
        context["reply_channel"] = group.channel_id  # where the error boundary answers
    with delivery(repo, f"view:{view['id']}", kind="view") as mine:
        if not mine or group is None:
            return
        alerts.attach(group.id or 0, incident, user)


def on_page(ack: Ack, body: dict[str, Any], respond: Respond, repo: Repository, context: BoltContext) -> None:
    ack()
    key = f"action:{body.get('trigger_id')}"
    with delivery(repo, key, kind="action") as mine:
        if not mine:
            return
        incident = repo.incident(_group_id(body))
        outcome = context["paging"].page(incident, None, body["user"]["id"], key)
        _tell(respond, outcome)


def register(app: App) -> None:
    app.action(blocks.ACTION_DECLARE)(on_declare)
    app.action(blocks.ACTION_IGNORE)(on_ignore)
    app.action(blocks.ACTION_ATTACH)(on_attach)
    app.action(blocks.ACTION_PAGE)(on_page)
    app.view(blocks.ATTACH_CALLBACK)(on_attach_submit)
