"""Slack listeners: parse and authorise, then delegate to domain services. Nothing else.

Each capability registers its module-level listeners with a small ``register(app)``.
"""

from __future__ import annotations

from slack_bolt import App

from bot.alerts import listeners as alerts
from bot.commands import listeners as commands
from bot.followups import listeners as followups
from bot.home import listeners as home
from bot.incidents import declare_listeners
from bot.incidents import listeners as incidents
from bot.timeline import listeners as timeline


def register_all(app: App) -> None:
    for module in (commands, declare_listeners, incidents, timeline, followups, home, alerts):
        module.register(app)
