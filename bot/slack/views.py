"""Modals whose target is where they were opened: ``open_view`` gives the view a random
``external_id`` and records, under it and before the view opens, who the bot opened it for, for
what (its callback id) and what it acts on; a submission asks ``target_of`` and acts on that
record, never on values the bot wrote into the view (``private_metadata``)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_sdk import WebClient
from slack_sdk.models.views import View

from storage.models import Incident, ViewTarget
from storage.repository import NotFound, Repository

log = logging.getLogger(__name__)

NOT_OPEN = "This form is no longer open (or was not opened for you); open it again. Nothing changed."


def open_view(
    client: WebClient,
    repo: Repository,
    trigger_id: str,
    view: View,
    user_id: str,
    *,
    incident_id: int | None = None,
    alert_group_id: int | None = None,
    channel_id: str | None = None,
) -> None:
    """The record of what the view is opened on, then ``views.open`` (raises what it raises)."""
    view.external_id = f"ib-{secrets.token_urlsafe(18)}"
    repo.record_view(
        ViewTarget(
            external_id=view.external_id,
            purpose=str(view.callback_id or ""),
            user_id=user_id,
            incident_id=incident_id,
            alert_group_id=alert_group_id,
            channel_id=channel_id or None,
        )
    )
    client.views_open(trigger_id=trigger_id, view=view)


def target_of(repo: Repository, body: dict[str, Any], view: dict[str, Any]) -> ViewTarget | None:
    """The record of the submitted view, when the bot opened it for this callback and this person."""
    user = str((body.get("user") or {}).get("id") or "")
    found = repo.view_target(str(view.get("external_id") or ""), str(view.get("callback_id") or ""), user)
    if found is None:
        log.warning(
            "view %s (%s) by %s: not one the bot opened for them",
            view.get("id"),
            view.get("callback_id"),
            user,
        )
    return found


def incident_of_view(repo: Repository, body: dict[str, Any], view: dict[str, Any]) -> Incident | None:
    """The incident the submitted form was opened on, from the bot's record of the view."""
    target = target_of(repo, body, view)
    if target is None or target.incident_id is None:
        return None
    try:
        return repo.incident(target.incident_id)
    except NotFound:
        return None
