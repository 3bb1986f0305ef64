"""Which channel and severity an alert group gets, and whether it declares itself (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import BotConfig


@dataclass(frozen=True)
class Route:
    channel: str | None
    severity: str
    auto_declare: bool


def route(config: BotConfig, labels: dict[str, str]) -> Route:
    """The first ``[[alerts.routes]]`` rule whose ``match`` labels all equal the group's; the
    triage channel and the default severity otherwise (and for what a rule leaves out)."""
    default_channel = config.alerts.triage_channel
    for rule in config.alerts.routes:
        if all(labels.get(k) == v for k, v in rule.match.items()):
            return Route(
                rule.channel or default_channel, rule.severity or config.default_severity, rule.auto_declare
            )
    return Route(default_channel, config.default_severity, False)
