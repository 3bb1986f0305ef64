"""Slack listeners: parse and authorise, then delegate to domain services. Nothing else."""

from __future__ import annotations

from slack_bolt import App

from bot.wiring import Services


def register_all(app: App, services: Services) -> None:
    from bot.analytics import command as stats  # /incident stats (bot/analytics/command.py)
    from bot.commands import listeners as commands
    from bot.home import listeners as home
    from bot.incidents import declare_listeners
    from bot.incidents import listeners as lifecycle
    from bot.postmortem import listeners as postmortem
    from bot.timeline import listeners as timeline

    for module in (commands, declare_listeners, lifecycle, timeline, postmortem, home, stats):
        module.register(app, services)
