"""Prometheus: the four durations of an incident, observed once when it closes."""

from __future__ import annotations

from datetime import datetime

from bot.analytics.core import durations
from bot.ops.metrics import INCIDENT_DURATIONS


def observe_closed(milestones: dict[str, datetime], severity: str) -> None:
    """Best effort: a metric never stops a close."""
    try:
        for key, value in durations(milestones).items():
            if value is not None:
                INCIDENT_DURATIONS[key].labels(severity).observe(value.total_seconds())
    except Exception:  # pragma: no cover - metrics must not break the close path
        return
