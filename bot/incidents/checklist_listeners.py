"""A tick or an untick on a checklist message: admitted like a card click (the channel's
incident, one claim per delivery, ``Action.CHANGE``), then recorded by ``ChecklistService``."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond

from bot.incidents.access import Access, Action
from bot.incidents.card_click import card_click, click_key
from bot.incidents.checklist_service import ChecklistService
from bot.incidents.checklists import TICK_ACTION
from bot.incidents.entry_points import Listeners
from storage.repository import Repository


def on_tick(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    repo: Repository,
    access: Access,
    checklists: ChecklistService,
) -> None:
    ack()
    with card_click(body, respond, repo, access, Action.CHANGE) as incident:
        if incident is None:
            return
        told = checklists.tick(incident, body, body["user"]["id"], click_key(body))
        if told:
            respond(text=told, response_type="ephemeral", replace_original=False)


def register(on: Listeners) -> None:
    on.action(TICK_ACTION, Action.CHANGE)(on_tick)
