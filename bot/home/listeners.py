"""``app_home_opened`` → one ``views.publish`` for that user; the Declare button opens the form.

Module-level functions: the Home tab (``home``), the settings and the Slack client come through
Bolt's context (``bot.slack.app``).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.config import Settings
from bot.home.service import HomeTab
from bot.home.view import DECLARE_ACTION
from bot.incidents import blocks
from bot.incidents.access import Access, Action
from bot.incidents.entry_points import Listeners
from bot.incidents.types import type_choices
from bot.slack.client import slack_error
from bot.slack.views import open_view
from storage.repository import Repository

log = logging.getLogger(__name__)


def app_home_opened(event: dict[str, Any], home: HomeTab, access: Access) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    user = str(event["user"])
    home.publish(user, lambda incident: access.may_see(incident, user))


def on_web_link(ack: Ack) -> None:
    ack()  # a link button: Slack opens the URL; the app only acknowledges


def declare_clicked(
    ack: Ack, body: dict[str, Any], settings: Settings, client: WebClient, repo: Repository
) -> None:
    """Opens the form; its submission checks ``Action.DECLARE`` (and says why, in the form)."""
    ack()
    config = settings.config
    view = blocks.declare_modal(None, config.default_severity, type_choices(config.types))
    try:
        open_view(client, repo, body["trigger_id"], view, body["user"]["id"])
    except Exception as exc:
        log.info("could not open the declare form from the Home tab: %s", slack_error(exc))


def register(on: Listeners) -> None:
    on.event("app_home_opened", Action.READ)(app_home_opened)  # each incident it lists
    on.action("home_web", Action.PUBLIC)(on_web_link)  # a link: the web UI checks who follows it
    on.action(DECLARE_ACTION, Action.DECLARE)(declare_clicked)
