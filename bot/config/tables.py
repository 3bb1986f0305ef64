"""The tables of the TOML config file under ``BotConfig``: reminders, permissions, alerts,
PagerDuty, outgoing deliveries, webhooks and documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.incidents.vocabulary import SEVERITIES, Severity

DEFAULT_STATUS_EVERY: dict[str, int] = {
    Severity.SEV1.value: 30 * 60,
    Severity.SEV2.value: 60 * 60,
    Severity.SEV3.value: 4 * 3600,
    Severity.SEV4.value: 0,
}


class ReminderConfig(BaseModel):
    """The ``[reminders]`` table. Every duration is in seconds; 0 (or None) switches a reminder off.

    Each field's docstring is its description in docs/operate/configuration.md
    (``scripts/config-reference``).
    """

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    status_update_every: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_STATUS_EVERY))
    """Status-update reminder cadence per severity, reset by each update (a severity left out keeps its default)."""
    lead_nudge_after: int = Field(default=10 * 60, ge=0)
    """Nudge once when nobody leads this long after declare."""
    postmortem_every: int = Field(default=24 * 3600, ge=0)
    """After close, remind this often while the investigation document has sections with nothing recorded."""
    postmortem_days: int = Field(default=5, ge=0)
    """How many of those reminders at most."""
    archive_after: int | None = Field(default=None, ge=0)
    """Archive the incident channel this long after close (unset: never)."""
    archive_heads_up: int = Field(default=3600, ge=0)
    """Post a heads-up this long before archiving."""
    recheck_every: int = Field(default=10 * 60, ge=0)
    """How often an open incident's recent channel history is read back for messages and reactions the live record is missing (one replica per period)."""
    sweep_every: float = Field(default=30.0, gt=0)
    """How often the scheduler looks for due reminders (seconds, may be fractional)."""

    @field_validator("status_update_every")
    @classmethod
    def _cadences(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"unknown severity {', '.join(unknown)}: use {', '.join(SEVERITIES)}")
        if any(seconds < 0 for seconds in v.values()):
            raise ValueError("cadences are seconds, 0 or more (0 = no reminder)")
        return v

    def status_every(self, severity: str) -> int:
        """The status-update cadence for a severity (its default when the config leaves it out)."""
        return self.status_update_every.get(severity, DEFAULT_STATUS_EVERY.get(severity, 0))


class PermissionConfig(BaseModel):
    """Who may do sensitive changes: "anyone" or a list of roles (e.g. ["lead"])."""

    model_config = {"use_attribute_docstrings": True}

    close: Literal["anyone"] | list[str] = "anyone"
    """Who may close an incident: `"anyone"` or a list of roles, e.g. `["lead"]`."""
    severity: Literal["anyone"] | list[str] = "anyone"
    """Who may change the severity: `"anyone"` or a list of roles."""
    roles: Literal["anyone"] | list[str] = Field(
        default_factory=lambda: ["lead", "declarer", "anyone_while_no_lead"]
    )
    """Who may assign roles, the lead included (`/incident lead`, `/incident role`, the card's lead picker): `"anyone"` or a list of roles, `"declarer"` and `"anyone_while_no_lead"`. Without it, `close = ["lead"]` could be bypassed by taking the lead first."""
    page: Literal["anyone", "members"] | list[str] = "members"
    """Who may page on-call for an incident (`/incident page`, an alert card's Page button): `"members"` (of the incident's channel), `"anyone"`, or a list of roles and `"declarer"`. A private incident's non-members never may."""
    statuspage: Literal["anyone", "members"] | list[str] = "members"
    """Who may publish to the public status page (`/incident statuspage`, resolving the public incident): `"members"` (of the incident's channel), `"anyone"`, or a list of roles and `"declarer"`. A private incident's non-members never may, and what a private incident publishes never reaches the public page."""
    convert_large: Literal["anyone"] | list[str] = Field(default_factory=list)
    """Who may `/incident convert` a channel with more than `convert_max_members` members, or #general: `"anyone"` or a list of Slack user IDs (`U…`). The announce channel is never converted."""


class AlertRoute(BaseModel):
    """One ``[[alerts.routes]]`` rule: the first whose ``match`` labels all equal the group's wins."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    match: dict[str, str] = Field(default_factory=dict)
    """Labels the group must have, all equal (empty: every group)."""
    channel: str | None = None
    """Channel ID for its card (unset: `triage_channel`)."""
    severity: str | None = None
    """Severity of an incident declared from it (unset: `default_severity`)."""
    auto_declare: bool = False
    """Declare an incident as soon as the group fires."""

    @field_validator("severity")
    @classmethod
    def _sev(cls, v: str | None) -> str | None:
        if v is not None and v not in SEVERITIES:
            raise ValueError(f"must be one of {', '.join(SEVERITIES)}")
        return v


class AlertsConfig(BaseModel):
    """The ``[alerts]`` table: where triage cards go, and the routing rules."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    triage_channel: str | None = None
    """Channel ID where alert cards go (required when intake is on, unless a catch-all route names one)."""
    routes: list[AlertRoute] = Field(default_factory=list)
    """Routing rules, first match wins: `[[alerts.routes]]` with `match`, `channel`, `severity`, `auto_declare`."""
    max_body_bytes: int = Field(default=1_000_000, ge=1024, le=10_000_000)
    """Largest notification body accepted."""
    card_update_every: float = Field(default=2.0, gt=0)
    """Seconds between two updates of one card (later notifications are coalesced)."""
    new_groups_per_minute: int = Field(default=30, ge=1)
    """New alert groups one sender (Alertmanager, Grafana) may open per minute; beyond it, one "N more groups" card per channel."""
    auto_declare_max: int = Field(default=3, ge=0)
    """Incidents alerts may auto-declare per `auto_declare_window`; beyond it, groups wait on their card for a person."""
    auto_declare_window: float = Field(default=3600.0, gt=0)
    """Seconds of the auto-declare limit's window."""
    retention_days: int = Field(default=30, ge=0)
    """Days a resolved alert group no incident holds is kept after its last notification (0: forever)."""
    require_signature_timestamp: bool = False
    """Refuse signed (HMAC) notifications without `X-Grafana-Alerting-Signature-Timestamp`, so a captured one cannot be replayed later."""


ROUTING_KEY_PATTERN = r"^[A-Za-z0-9]{32}$"


class PagerDutyConfig(BaseModel):
    """The ``[pagerduty]`` table: Events API routing keys by the name people page them by
    (a service or an escalation policy), the one the card button pages, and the escalation
    policies `/incident oncall` shows (all when empty)."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    routing_keys: dict[str, str] = Field(default_factory=dict)
    """Name people page (`/incident page <name>`) → Events API v2 integration key (32 characters)."""
    default: str | None = None
    """The name the card's Page button and a bare `/incident page` use."""
    escalation_policy_ids: list[str] = Field(default_factory=list)
    """Escalation policies `/incident oncall` lists (empty: all)."""
    oncall_cache_seconds: float = Field(default=60.0, ge=0)
    """How long an on-call answer is reused."""

    @field_validator("routing_keys")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        bad = sorted(name for name, key in v.items() if not re.match(ROUTING_KEY_PATTERN, key))
        if bad:
            raise ValueError(
                f"routing keys are 32 letters or digits (integration keys): check {', '.join(bad)}"
            )
        return {name.lower(): key for name, key in v.items()}

    @model_validator(mode="after")
    def _default_known(self) -> PagerDutyConfig:
        if self.default is not None:
            self.default = self.default.lower()
            if self.default not in self.routing_keys:
                raise ValueError(f"default {self.default!r} is not one of routing_keys")
        return self


class OutgoingConfig(BaseModel):
    """The ``[outgoing]`` table: how PagerDuty and webhook deliveries are retried (the outbox)."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    retry_base_seconds: float = Field(default=30.0, gt=0)
    """First retry delay; doubled each attempt (a `Retry-After` is honoured)."""
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    """Longest delay between two attempts."""
    sweep_every_seconds: float = Field(default=5.0, gt=0)
    """How often due retries are looked for."""


WEBHOOK_EVENTS = ("declared", "severity_changed", "resolved", "closed", "statuspage.update")


class WebhookConfig(BaseModel):
    """One ``[[webhooks]]`` endpoint for incident events, signed with OUTGOING_WEBHOOK_SECRET."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    url: str
    """Where to POST the events (http or https)."""
    events: list[str] = Field(default_factory=lambda: list(WEBHOOK_EVENTS))
    """Which of declared, severity_changed, resolved, closed, statuspage.update to send."""
    include_private: bool = False
    """Also send private incidents' events; without `include_private_details` their title and channel are left out (`null`)."""
    include_private_details: bool = False
    """With `include_private`: send private incidents' title and channel too."""

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(WEBHOOK_EVENTS))
        if unknown:
            raise ValueError(f"unknown event {', '.join(unknown)}: use {', '.join(WEBHOOK_EVENTS)}")
        return v


class DocumentsConfig(BaseModel):
    """The ``[documents]`` table: the investigation documents on disk, and repairs after an outage."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    keep_revisions: int | None = Field(default=None, ge=1)
    """Revision files kept on disk per incident, newest first (unset: keep every revision); the latest document always stays."""
    repair_closed_days: int = Field(default=7, ge=0)
    """After a database outage or downtime, incidents closed up to this many days ago are re-read from Slack too (their document is regenerated once if the timeline changed); 0: open incidents only."""
