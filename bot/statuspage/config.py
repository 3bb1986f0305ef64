"""The ``[statuspage]`` table of the TOML config: the components the public page shows."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

_EMAIL = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

# Impact levels, least to most severe (under maintenance is planned, shown apart from outages).
OPERATIONAL = "operational"
IMPACTS = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
IMPACT_LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Under maintenance",
}
# A public incident's states, in order (Investigating → Identified → Monitoring → Resolved).
STATES = ("investigating", "identified", "monitoring", "resolved")
STATE_LABELS = {s: s.capitalize() for s in STATES}


class Component(BaseModel):
    """One part of the service as the public sees it."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    id: str
    """Stable identifier (lowercase letters, digits, `-`, `_`): what updates record; never shown."""
    name: str = Field(min_length=1, max_length=80)
    """The public name shown on the status page."""
    group: str | None = Field(default=None, max_length=80)
    """Optional public group heading the component is listed under (e.g. `API`)."""
    slack_channel: str | None = Field(default=None, max_length=80)
    """Optional Slack channel ID (e.g. `C0123456789`) that gets a short public message for each public update touching this component."""
    alert_labels: dict[str, str] = Field(default_factory=dict)
    """Alert labels that name this component (e.g. `{ service = "payments-api" }`): an alert group whose labels hold them all is this component's, and is marked "during maintenance" on its triage card while a window covers the component. Empty: no alert is."""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"{v!r} is not a component id (lowercase letters, digits, - and _, ≤ 40)")
        return v


class AtlassianConfig(BaseModel):
    """``[statuspage.atlassian]``: mirror the public incidents to an existing Atlassian Statuspage
    page (its REST API, with `STATUSPAGE_API_KEY`). Off until `page_id` is set."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    page_id: str | None = Field(default=None, min_length=1, max_length=40)
    """The Statuspage page to mirror to (Statuspage → your avatar → API info → Page ID); unset: no sync."""
    components: dict[str, str] = Field(default_factory=dict)
    """Our component id → its Statuspage component id (`api = "8kbf7d35c070"`). A component left out is matched by its public name on the page."""
    create_missing: bool = False
    """Create a Statuspage component (by its public name) for a component that is neither mapped nor found by name; otherwise it is left out of the mirrored incidents (logged)."""
    deliver_notifications: bool = True
    """Let Statuspage notify its own subscribers of each mirrored update."""
    claim_lease: float = Field(default=120, gt=0)
    """Seconds before another process takes over a sync whose worker went silent (crashed); the taker first reads the marker back from Statuspage. Keep it well above twice the 10 s call timeout."""

    @field_validator("page_id", mode="before")
    @classmethod
    def _blank(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @property
    def enabled(self) -> bool:
        return self.page_id is not None


class EmailRecipient(BaseModel):
    """One address that gets an email for each public update."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    address: str = Field(min_length=3, max_length=254)
    """The email address (e.g. `status-subscribers@example.com`)."""
    components: list[str] = Field(default_factory=list)
    """Component ids it follows: an update touching one of them is sent. Empty: every update."""

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        if not _EMAIL.match(v):
            raise ValueError(f"{v!r} is not an email address")
        return v


class EmailConfig(BaseModel):
    """``[statuspage.email]``: email each public update through SMTP (off until `host` is set)."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True, "populate_by_name": True}

    host: str | None = Field(default=None, max_length=253)
    """The SMTP server's host name. None: no email."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """Its port (default: 465 with `security = "ssl"`, 587 with `"starttls"`, 25 with `"none"`)."""
    security: Literal["starttls", "ssl", "none"] = "starttls"
    """`"starttls"` (upgrade the connection; refused if the server cannot), `"ssl"` (TLS from the first byte) or `"none"` (only for a relay on the same host)."""
    from_address: str = Field(default="", alias="from", max_length=254)
    """The sender address (`from = "status@example.com"`); required with `host`."""
    username: str | None = Field(default=None, max_length=254)
    """Sign in to the server with this name and the `STATUSPAGE_SMTP_PASSWORD` secret."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long one SMTP conversation may take before it is retried later."""
    recipients: list[EmailRecipient] = Field(default_factory=list)
    """`[[statuspage.email.recipients]]` with `address` and optional `components` (ids; empty: all)."""

    @model_validator(mode="after")
    def _complete(self) -> EmailConfig:
        if self.host is None:
            return self
        if not _EMAIL.match(self.from_address):
            raise ValueError("[statuspage.email] needs `from`, the sender's email address")
        if not self.recipients:
            raise ValueError("[statuspage.email] lists no recipients")
        return self

    @property
    def enabled(self) -> bool:
        return self.host is not None

    @property
    def smtp_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]


class StatuspageConfig(BaseModel):
    """``[statuspage]``: off (no /status) until it lists components."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    title: str = Field(default="Service status", min_length=1, max_length=80)
    """The public page's heading (and the Atom feed's title)."""
    components: list[Component] = Field(default_factory=list)
    """The components, in the order the page lists them: `[[statuspage.components]]` with `id`, `name` and optional `group`. None: the status page is off."""
    history_days: int = Field(default=90, ge=7, le=365)
    """Days of history per component shown as a bar strip."""
    webhooks: bool = True
    """Send each public update of a non-private incident to the `[[webhooks]]` endpoints as a `statuspage.update` event (public data only)."""
    atlassian: AtlassianConfig = Field(default_factory=AtlassianConfig)
    """Mirror to an Atlassian Statuspage page: `[statuspage.atlassian]` (below)."""

    maintenance_reminder_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    """Minutes before a maintenance window starts to remind the announce channel and its components' Slack channels (0: no reminder)."""
    email: EmailConfig = Field(default_factory=EmailConfig)
    """`[statuspage.email]`: email subscribers through SMTP."""

    @model_validator(mode="after")
    def _unique(self) -> StatuspageConfig:
        seen: set[str] = set()
        names: set[str] = set()
        for c in self.components:
            if c.id in seen:
                raise ValueError(f"component id {c.id!r} is listed twice")
            if c.name.casefold() in names:
                raise ValueError(f"component name {c.name!r} is listed twice")
            seen.add(c.id)
            names.add(c.name.casefold())
        unknown = sorted(set(self.atlassian.components) - seen)
        if unknown:
            raise ValueError(
                f"[statuspage.atlassian] components maps unknown component ids: {', '.join(unknown)}"
            )
        if self.atlassian.enabled and not self.components:
            raise ValueError("[statuspage.atlassian] page_id is set but [statuspage] lists no components")
        for r in self.email.recipients:
            unknown = [cid for cid in r.components if cid not in seen]
            if unknown:
                raise ValueError(f"email recipient {r.address!r} follows unknown component {unknown[0]!r}")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.components)

    def component(self, component_id: str) -> Component | None:
        return next((c for c in self.components if c.id == component_id), None)
