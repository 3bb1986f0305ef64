"""Slack listeners: parse and authorise, then delegate to domain services. Nothing else.

Each capability registers its module-level listeners with a small ``register(on)``, through
``Listeners``, naming each one's access action (``bot.incidents.entry_points``).
"""

from __future__ import annotations

from slack_bolt import App

from bot.alerts import listeners as alerts
from bot.assist import listeners as assist
from bot.commands.listeners import on_incident
from bot.followups import listeners as followups
from bot.home import listeners as home
from bot.incidents import checklist_listeners, declare_listeners
from bot.incidents import listeners as incidents
from bot.incidents.entry_points import Listeners
from bot.recall import listeners as recall
from bot.statuspage import listeners as statuspage
from bot.timeline import listeners as timeline
from bot.wiring import COMMANDS


def register_all(app: App) -> None:
    """Every listener through ``Listeners``: each names its access action (``undeclared`` holds none)."""
    on = Listeners(app)
    on.command("/incident", COMMANDS.records)(on_incident)
    for module in (
        declare_listeners,
        incidents,
        checklist_listeners,
        recall,
        assist,
        timeline,
        followups,
        home,
        alerts,
        statuspage,
    ):
        module.register(on)
