"""``app_home_opened`` → one ``views.publish`` for that user; the Declare button opens the form.

Module-level functions: the Home tab (``home``), the settings and the Slack client come through
Bolt's context (``bot.slack.app``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.config import Settings
from bot.home.service import HomeTab
from bot.home.view import DECLARE_ACTION
from bot.incidents import blocks
from bot.slack.client import slack_error

log = logging.getLogger(__name__)


def app_home_opened(event: dict[str, Any], home: HomeTab) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    home.publish(str(event["user"]))


def on_web_link(ack: Ack) -> None:
    ack()  # a link button: Slack opens the URL; the app only acknowledges


def declare_clicked(ack: Ack, body: dict[str, Any], settings: Settings, client: WebClient) -> None:
    ack()
    view = blocks.declare_modal(
        None, settings.config.default_severity, private_metadata=json.dumps({"channel": ""})
    )
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except Exception as exc:
        log.info("could not open the declare form from the Home tab: %s", slack_error(exc))


def register(app: App) -> None:
    app.event("app_home_opened")(app_home_opened)
    app.action("home_web")(on_web_link)
    app.action(DECLARE_ACTION)(declare_clicked)
