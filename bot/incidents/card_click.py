"""A click on a button of a message in an incident's channel (its summary card, a prompt), admitted
once: the incident is the one of the channel clicked (never a value the bot once wrote into the button), the click is claimed once
per Slack delivery, and the person is checked against the policy for the button's action."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import Respond

from bot.incidents.access import Access, Action
from bot.slack.deliveries import delivery
from storage.models import Incident
from storage.repository import Repository

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
