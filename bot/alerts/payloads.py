"""Intake bodies: Alertmanager's webhook (version 4) and Grafana's webhook contact point (the same
shape with Grafana's own payload version, "1", and Grafana's fields).

Parsed strictly enough that a wrong shape is refused with the reason (400), loosely enough that
fields a newer sender adds are ignored. Times are RFC 3339; Alertmanager's "no end yet" is the
zero time ``0001-01-01T00:00:00Z``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.ops.request_values import bounded_time

MAX_ALERTS = 1000
MAX_LABELS = 100
MAX_TEXT = 10_000


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and value.startswith("0001-01-01"):
        return None
    return value


def _bounded(v: dict[str, str]) -> dict[str, str]:
    if len(v) > MAX_LABELS:
        raise ValueError(f"more than {MAX_LABELS} entries")
    return {k[:200]: val[:MAX_TEXT] for k, val in v.items()}


class IncomingAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = Field(default="", max_length=4000)
    fingerprint: str = Field(min_length=1, max_length=200)
    # Grafana only
    dashboardURL: str = Field(default="", max_length=4000)
    panelURL: str = Field(default="", max_length=4000)
    silenceURL: str = Field(default="", max_length=4000)

    _labels = field_validator("labels", "annotations")(_bounded)

    @field_validator("endsAt", mode="before")
    @classmethod
    def _zero_is_none(cls, v: object) -> object:
        return _rfc3339(v)

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return bounded_time(v) if v is not None else None


class AlertNotification(BaseModel):
    """What both senders share (Alertmanager's webhook_config body); each names its versions."""

    model_config = ConfigDict(extra="ignore")

    version: str
    groupKey: str = Field(min_length=1, max_length=1000)
    truncatedAlerts: int = Field(default=0, ge=0, le=1_000_000_000)
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=500)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = Field(default="", max_length=4000)
    alerts: list[IncomingAlert] = Field(min_length=1, max_length=MAX_ALERTS)

    _maps = field_validator("groupLabels", "commonLabels", "commonAnnotations")(_bounded)

    @property
    def title(self) -> str:
        labels = self.commonLabels or self.groupLabels
        name = labels.get("alertname") or next(iter(self.groupLabels.values()), "") or "alerts"
        summary = self.commonAnnotations.get("summary")
        return f"{name}: {summary}" if summary else name


class AlertmanagerNotification(AlertNotification):
    version: Literal["4"]


# Grafana's default title starts with the group's state ("[FIRING:2]", "[FIRING:1, RESOLVED:1]",
# "[RESOLVED]"), which the card shows itself, always current.
GRAFANA_STATE_PREFIX = re.compile(r"^\s*\[(?:FIRING|RESOLVED)(?::\d+)?(?:, RESOLVED:\d+)?\]\s*")


class GrafanaNotification(AlertNotification):
    # "1": Grafana's webhook payload version; "4": its Alertmanager-compatible (Mimir) webhook.
    version: Literal["1", "4"]
    orgId: int | None = None
    state: str | None = None
    title_: str | None = Field(default=None, alias="title", max_length=1000)
    message: str | None = Field(default=None, max_length=MAX_TEXT)

    @property
    def title(self) -> str:
        """Grafana's title without its state prefix; when nothing but the label values in
        parentheses is left (no group labels), the alert's name and summary, as for Alertmanager."""
        own = GRAFANA_STATE_PREFIX.sub("", self.title_ or "").strip()
        return own if own and not own.startswith("(") else super().title


class BadNotification(ValueError):
    """A body that is not a notification; ``str()`` says why, for the sender's logs."""


def parse(source: str, body: bytes) -> AlertNotification:
    model: type[AlertNotification] = GrafanaNotification if source == "grafana" else AlertmanagerNotification
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{where}: {err['msg']}")
        raise BadNotification("; ".join(problems)) from None
