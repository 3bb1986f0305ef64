"""A click on a button of a message in an incident's channel (its summary card, a prompt), admitted
once: the incident is the one of the channel clicked (never a value the bot once wrote into the button), the click is claimed once
per Slack delivery, and the person is checked against the policy for the button's action. A form's
submission the same way (``form_submit``): the incident is the one the form was opened on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.incidents.access import Access, Action
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import tell
from bot.slack.deliveries import delivery
from bot.slack.views import NOT_OPEN, incident_of_view
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

GONE = "This card's incident no longer exists."


def click_key(body: dict[str, Any]) -> str:
    """The delivery's key: Slack's retries and duplicates of one click share it."""
    return f"action:{body.get('trigger_id')}"


@contextmanager
def card_click(
    body: dict[str, Any],
    respond: Respond,
    repo: Repository,
    access: Access,
    action: Action,
    gone: str = GONE,
) -> Iterator[Incident | None]:
    """The incident to act on, or None when there is nothing to do: the card's incident is gone or
    the person may not (both told to them, ephemerally), or this is a repeat of a handled click."""
    incident = repo.incident_by_channel((body.get("channel") or {}).get("id", ""))
    if incident is None:
        respond(text=gone, response_type="ephemeral", replace_original=False)
        yield None
        return
    with delivery(repo, click_key(body), kind="action") as mine:
        if not mine:
            yield None
            return
        refusal = access.check(body["user"]["id"], action, incident)
        if refusal:
            respond(text=refusal, response_type="ephemeral", replace_original=False)
            yield None
            return
        yield incident


def view_key(view: dict[str, Any]) -> str:
    """A form submission's delivery key: Slack's retries and duplicates of one submission share it."""
    return f"view:{view['id']}"


@contextmanager
def form_submit(
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    access: Access,
    client: WebClient,
    action: Action,
) -> Iterator[Incident | None]:
    """The incident the form was opened on (per the bot's record, never its metadata), or None when
    there is nothing to do: no such form, or the person may not (told to them where they are, never
    in the incident's channel), or this is a repeat of a handled submission. Within it, the error
    boundary answers in the incident's channel."""
    user = body["user"]["id"]
    with delivery(repo, view_key(view), kind="view") as mine:
        if not mine:
            yield None
            return
        incident = incident_of_view(repo, body, view)
        if incident is None:
            tell(client, user, NOT_OPEN)
            yield None
            return
        refusal = access.check(user, action, incident)
        if refusal:
            log.warning("%s refused %s on %s", user, action.value, incident_ref(incident))
            tell(client, user, refusal)
            yield None
            return
        context["reply_channel"] = incident.channel_id
        yield incident
