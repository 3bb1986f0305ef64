"""Slack listeners: parse and authorise, then delegate to domain services. Nothing else."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services


def register_all(app: App, services: Services) -> None:
    from bot.listeners import commands, declare, lifecycle, postmortem, timeline

    for module in (commands, declare, lifecycle, timeline, postmortem):
        module.register(app, services)
