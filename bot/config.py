"""Settings from the environment (DESIGN.md contracts) plus the optional TOML config file."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.followups.config import FollowupsConfig
from bot.incidents.vocabulary import SEVERITIES, STANDINGS, Severity
from storage.db import normalise_url

DEFAULT_REACTIONS: dict[str, str] = {
    "pushpin": "timeline",
    "mag": "finding",
    "bulb": "hypothesis",
    "dart": "root_cause",
    "bug": "error",
    "hammer_and_wrench": "fix",
    "white_check_mark": "verification",
    "memo": "action_item",
    "mortar_board": "lesson",
    "repeat": "reproduction",
    "question": "open_question",
    "rotating_light": "impact",
}


KINDS = frozenset(DEFAULT_REACTIONS.values())


def merge_reactions(raw: object) -> object:
    """A ``[reactions]`` table adds to (or re-maps) the default emoji; ``remove = [...]`` drops
    some defaults and ``replace_defaults = true`` starts from none."""
    if not isinstance(raw, dict):
        return raw
    table = dict(raw)
    replace = table.pop("replace_defaults", False)
    remove = table.pop("remove", [])
    if not isinstance(replace, bool):
        raise ValueError("replace_defaults must be true or false")
    if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
        raise ValueError("remove must be a list of emoji names")
    unknown = sorted(set(remove) - set(DEFAULT_REACTIONS))
    if unknown:
        raise ValueError(f"remove names {', '.join(unknown)}, which is not a default reaction")
    merged = {} if replace else {k: v for k, v in DEFAULT_REACTIONS.items() if k not in remove}
    merged.update(table)
    return merged


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
    """How often an open incident's recent channel history is read back for messages and reactions whose events Slack never delivered (one replica per period)."""
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


WEBHOOK_EVENTS = ("declared", "severity_changed", "resolved", "closed")


class WebhookConfig(BaseModel):
    """One ``[[webhooks]]`` endpoint for incident events, signed with OUTGOING_WEBHOOK_SECRET."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    url: str
    """Where to POST the events (http or https)."""
    events: list[str] = Field(default_factory=lambda: list(WEBHOOK_EVENTS))
    """Which of declared, severity_changed, resolved, closed to send."""

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


class BotConfig(BaseModel):
    """The TOML file named by INCIDENT_BOT_CONFIG."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    timezone: str = "UTC"
    """IANA time zone for the times people type (`HH:MM`) and the times the bot writes."""
    reactions: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_REACTIONS))
    """Emoji name (custom ones too) → timeline kind; replaces the whole default table."""
    confirm_reaction: str = "inbox_tray"
    """The reaction the bot adds once it has stored a message (not one of `reactions`)."""
    roles: list[str] = Field(default_factory=lambda: ["lead", "comms", "scribe"])
    """Incident roles for `/incident role`; must include `lead`."""
    default_severity: str = Severity.SEV3.value
    """Severity of `/incident declare` without one."""
    reminders: ReminderConfig = Field(default_factory=ReminderConfig)
    """Reminder cadences (below)."""
    permissions: PermissionConfig = Field(default_factory=PermissionConfig)
    """Who may close, change the severity, assign roles and convert big channels (below)."""
    convert_max_members: int = Field(default=50, ge=0)
    """`/incident convert` refuses a channel with more members than this (0: no limit) unless `permissions.convert_large` allows the person: converting rewrites the topic, posts the card and records the whole history, which a war room wants and #general or a team channel does not."""
    history_page_size: int = 1000
    """Messages per `conversations.history` page when reading a channel back (1-1000; Slack allows non-Marketplace apps 15 a call since 2025)."""
    retention_days: int | None = None
    """Forget recorded channel messages this many days after close (unset: keep them)."""
    canvas: bool = False
    """Also publish the investigation document as a channel canvas (needs the `canvases:write` scope)."""
    followups: FollowupsConfig = Field(default_factory=FollowupsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    """Alert intake: the triage channel and routing rules (below)."""
    pagerduty: PagerDutyConfig = Field(default_factory=PagerDutyConfig)
    """PagerDuty routing keys and on-call (below)."""
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    """Outgoing webhook endpoints for incident events (below)."""
    outgoing: OutgoingConfig = Field(default_factory=OutgoingConfig)
    """How PagerDuty and webhook deliveries are retried (below)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("reactions", mode="before")
    @classmethod
    def _merge_reactions(cls, v: object) -> object:
        return merge_reactions(v)

    @field_validator("reactions")
    @classmethod
    def _known_kinds(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted(f"{emoji} = {kind!r}" for emoji, kind in v.items() if kind not in KINDS)
        if bad:
            raise ValueError(f"unknown kind in {', '.join(bad)}: use one of {', '.join(sorted(KINDS))}")
        return v

    @field_validator("default_severity")
    @classmethod
    def _sev(cls, v: str) -> str:
        if v not in SEVERITIES:
            raise ValueError(f"must be one of {', '.join(SEVERITIES)}")
        return v

    @field_validator("history_page_size")
    @classmethod
    def _page(cls, v: int) -> int:
        if not 1 <= v <= 1000:
            raise ValueError("must be between 1 and 1000 (Slack's maximum)")
        return v

    @model_validator(mode="after")
    def _confirm_is_not_a_kind(self) -> BotConfig:
        if self.confirm_reaction in self.reactions:
            raise ValueError(f"confirm_reaction {self.confirm_reaction!r} is also a timeline reaction")
        if "lead" not in self.roles:
            raise ValueError("roles must include 'lead'")
        for action in ("close", "severity", "roles"):
            rule = getattr(self.permissions, action)
            unknown = [] if rule == "anyone" else sorted(set(rule) - set(self.roles) - set(STANDINGS))
            if unknown:
                raise ValueError(
                    f"permissions.{action} names role {', '.join(unknown)}, which is not one of roles "
                    f"({', '.join(self.roles)})"
                )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# Settings that hold secrets: each may instead name a file holding it, as <NAME>_FILE (the
# Docker / Kubernetes secrets convention); the file's content, without a trailing newline, is used.
SECRET_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "DATABASE_URL",
    "ALERTS_BEARER_TOKEN",
    "ALERTS_HMAC_SECRET",
    "PAGERDUTY_API_TOKEN",
    "PAGERDUTY_ROUTING_KEY",
    "OUTGOING_WEBHOOK_SECRET",
)


class SecretFilesSource(PydanticBaseSettingsSource):
    """``SLACK_BOT_TOKEN_FILE=/run/secrets/slack-bot-token`` and the like.

    A ``_FILE`` that cannot be read, or one set together with the variable itself, stops the bot
    (ConfigError, one line) rather than falling back to a default.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None) -> None:
        super().__init__(settings_cls)
        self.environ = os.environ if environ is None else environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name in SECRET_SETTINGS:
            path = self.environ.get(f"{name}_FILE", "").strip()
            if not path:
                continue
            if self.environ.get(name):
                problems.append(f"{name}_FILE: set either {name} or {name}_FILE, not both")
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                problems.append(f"{name}_FILE: cannot read {path}: {exc.strerror or type(exc).__name__}")
            except UnicodeDecodeError:
                problems.append(f"{name}_FILE: {path} is not UTF-8 text")
        if problems:
            raise ConfigError(problems)
        return values


class Settings(BaseSettings):
    """The environment. Every secret setting may also be read from a file named by ``<NAME>_FILE``."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(
        default=None,
        alias="SLACK_BOT_TOKEN",
        description="Bot User OAuth Token (`xoxb-…`); required by `serve`.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        alias="SLACK_SIGNING_SECRET",
        description="Signing secret (Basic Information → App Credentials); required by `serve`, also in Socket Mode.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        alias="SLACK_APP_TOKEN",
        description="App-level token (`xapp-…`, scope `connections:write`); when set, `serve` uses Socket Mode.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        alias="SLACK_API_URL",
        description="Slack Web API base URL; point it at the bundled emulator to run without Slack.",
    )
    socket_silence_timeout: float = Field(
        default=10.0,
        alias="SLACK_SOCKET_SILENCE_TIMEOUT",
        ge=1.0,
        le=300.0,
        description=(
            "Socket Mode: a connection silent this long (no pong, no message) is replaced by a fresh one; "
            "pings go every 0.4 of it."
        ),
    )
    database_url: str = Field(
        default="sqlite:///incident-bot.db",
        alias="DATABASE_URL",
        description=(
            "SQLAlchemy URL: `sqlite:///path.db` (one replica) or `postgresql+psycopg://user:pw@host/db`; "
            "`postgres://` and `postgresql://` are accepted and use the installed driver (psycopg 3)."
        ),
    )
    port: int = Field(
        default=3000,
        alias="PORT",
        ge=1,
        le=65535,
        description="HTTP port for `/slack/events` and the probes.",
    )
    host: str = Field(
        default="0.0.0.0",
        alias="HOST",
        min_length=1,
        description="Address `serve` listens on (also `serve --host`); `0.0.0.0` so a container is reachable.",
    )
    metrics_port: int | None = Field(
        default=None,
        alias="METRICS_PORT",
        ge=1,
        le=65535,
        description="Serve `/metrics` on this port only (not on `PORT`); unset: `/metrics` is on `PORT`.",
    )
    announce_channel: str | None = Field(
        default=None,
        alias="INCIDENT_ANNOUNCE_CHANNEL",
        description="Channel ID (`C0…`) where incidents are announced; checked at start-up. Unset: no announcements.",
    )
    channel_prefix: str = Field(
        default="inc",
        alias="INCIDENT_CHANNEL_PREFIX",
        pattern=r"^[a-z0-9_-]{1,20}$",
        description="Incident channels are named `<prefix>-<n>-<slug>` (lowercase letters, digits, `-`, `_`; up to 20).",
    )
    template_dir: Path | None = Field(
        default=None,
        alias="INCIDENT_TEMPLATE_DIR",
        description="Folder with your own `postmortem.md.j2` (sandboxed); unset: the bundled template.",
    )
    output_dir: Path = Field(
        default=Path("postmortems"),
        alias="INCIDENT_OUTPUT_DIR",
        description="Where copies of the investigation documents are written.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="LOG_LEVEL", description="Log level."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        alias="LOG_FORMAT",
        description="`json`: every line on stderr is one JSON object (millisecond UTC timestamps).",
    )
    config_file: Path | None = Field(
        default=None,
        alias="INCIDENT_BOT_CONFIG",
        description="The TOML config file (reactions, roles, reminders, …; see below).",
    )
    github_token: SecretStr | None = Field(
        default=None,
        alias="GITHUB_TOKEN",
        description="GitHub token for follow-up tickets (fine-grained: Issues read/write on the repository); unset: GitHub off.",
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        alias="GITHUB_API_URL",
        description="GitHub REST API base URL (GitHub Enterprise, or a local fake for tests).",
    )
    jira_url: str | None = Field(
        default=None,
        alias="JIRA_URL",
        description="Jira Cloud site URL (`https://<site>.atlassian.net`) for follow-up tickets; unset: Jira off.",
    )
    jira_email: str | None = Field(
        default=None,
        alias="JIRA_EMAIL",
        description="The Jira account's email, used with `JIRA_API_TOKEN` (basic auth).",
    )
    jira_api_token: SecretStr | None = Field(
        default=None,
        alias="JIRA_API_TOKEN",
        description="Jira API token (id.atlassian.com → Security → API tokens).",
    )
    web_url: str | None = Field(
        default=None,
        alias="INCIDENT_WEB_URL",
        description="Public base URL of the read-only web UI (`https://incidents.example.com`); unset: the web UI is off.",
    )
    slack_client_id: str | None = Field(
        default=None,
        alias="SLACK_CLIENT_ID",
        description="Sign in with Slack: the app's client ID (Basic Information → App Credentials).",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None,
        alias="SLACK_CLIENT_SECRET",
        description="Sign in with Slack: the app's client secret.",
    )
    web_session_secret: SecretStr | None = Field(
        default=None,
        alias="INCIDENT_WEB_SESSION_SECRET",
        description="Secret that signs the web UI's session cookie (32+ random characters).",
    )
    web_team_id: str | None = Field(
        default=None,
        alias="INCIDENT_WEB_TEAM_ID",
        description="The workspace (team ID, `T0…`) whose members may sign in; unset: the bot's own workspace.",
    )
    alerts_bearer_token: SecretStr | None = Field(
        default=None,
        alias="ALERTS_BEARER_TOKEN",
        description="Bearer token Alertmanager / Grafana send to `POST /alerts/...` (unset with no HMAC secret: intake off).",
    )
    alerts_hmac_secret: SecretStr | None = Field(
        default=None,
        alias="ALERTS_HMAC_SECRET",
        description="Secret of Grafana's webhook HMAC signature (`X-Grafana-Alerting-Signature`).",
    )
    pagerduty_api_token: SecretStr | None = Field(
        default=None,
        alias="PAGERDUTY_API_TOKEN",
        description="PagerDuty REST API key (`/incident oncall`); checked at start.",
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None,
        alias="PAGERDUTY_ROUTING_KEY",
        description="An Events API v2 integration key, paged as `default` (or use `[pagerduty] routing_keys`).",
    )
    pagerduty_api_url: str = Field(
        default="https://api.pagerduty.com", alias="PAGERDUTY_API_URL", description="PagerDuty REST base URL."
    )
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        alias="PAGERDUTY_EVENTS_URL",
        description="PagerDuty Events API v2 enqueue URL.",
    )
    outgoing_webhook_secret: SecretStr | None = Field(
        default=None,
        alias="OUTGOING_WEBHOOK_SECRET",
        description="Signs outgoing webhooks (HMAC-SHA256 over `v0:<timestamp>:<body>`); required with `[[webhooks]]`.",
    )

    config: BotConfig = Field(default_factory=BotConfig, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFilesSource(settings_cls), dotenv_settings

    @field_validator("database_url")
    @classmethod
    def _driver(cls, v: str) -> str:
        return normalise_url(v)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("pagerduty_api_url", "pagerduty_events_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/")

    @field_validator(
        "alerts_bearer_token",
        "alerts_hmac_secret",
        "pagerduty_api_token",
        "pagerduty_routing_key",
        "outgoing_webhook_secret",
        mode="before",
    )
    @classmethod
    def _blank_secret_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("announce_channel", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("web_url", "slack_client_id", "web_team_id", mode="before")
    @classmethod
    def _web_blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(
                "must be an http(s) URL (where people reach the bot, e.g. https://incidents.example.com)"
            )
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _web_complete(self) -> Settings:
        if self.web_url is None:
            return self
        missing = [
            name
            for name, value in (
                ("SLACK_CLIENT_ID", self.slack_client_id),
                ("SLACK_CLIENT_SECRET", self.slack_client_secret),
                ("INCIDENT_WEB_SESSION_SECRET", self.web_session_secret),
            )
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value())
        ]
        if missing:
            raise ValueError(f"INCIDENT_WEB_URL is set, so the web UI also needs {', '.join(missing)}")
        assert self.web_session_secret is not None
        if len(self.web_session_secret.get_secret_value()) < 32:
            raise ValueError("INCIDENT_WEB_SESSION_SECRET must be at least 32 characters")
        return self

    def web_base_url(self) -> str | None:
        """Where people reach the web UI (no trailing slash), or None when it is off."""
        return self.web_url

    @model_validator(mode="after")
    def _load_config(self) -> Settings:
        if self.config_file is not None:
            self.config = load_config(self.config_file)
        return self

    def require_slack_credentials(self) -> list[str]:
        """Problems that stop `serve` from starting, one line each."""
        problems = []
        if self.slack_bot_token is None or not self.slack_bot_token.get_secret_value():
            problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        elif not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN does not look like a bot token (expected xoxb-…)")
        if self.slack_signing_secret is None or not self.slack_signing_secret.get_secret_value():
            problems.append("SLACK_SIGNING_SECRET is not set (Basic Information → Signing Secret)")
        if self.slack_app_token is not None and not self.slack_app_token.get_secret_value().startswith(
            "xapp-"
        ):
            problems.append("SLACK_APP_TOKEN does not look like an app-level token (expected xapp-…)")
        return problems

    def pagerduty_routing_keys(self) -> dict[str, str]:
        """Routing keys by lower-case name; PAGERDUTY_ROUTING_KEY is the one called "default"."""
        keys = dict(self.config.pagerduty.routing_keys)
        if self.pagerduty_routing_key is not None:
            keys.setdefault("default", self.pagerduty_routing_key.get_secret_value())
        return keys

    def secrets(self) -> list[str]:
        """What logs and error messages must never show: the tokens, routing keys and the database password."""
        found = [*self.config.pagerduty.routing_keys.values()] + [
            s.get_secret_value()
            for s in (
                self.slack_bot_token,
                self.slack_signing_secret,
                self.slack_app_token,
                self.github_token,
                self.jira_api_token,
                self.slack_client_secret,
                self.web_session_secret,
                self.alerts_bearer_token,
                self.alerts_hmac_secret,
                self.pagerduty_api_token,
                self.pagerduty_routing_key,
                self.outgoing_webhook_secret,
            )
            if s is not None and s.get_secret_value()
        ]
        password = database_password(self.database_url)
        if password:
            found += sorted({password, quote(password, safe="")})  # as typed, and as it sits in the URL
        return found


def database_password(database_url: str) -> str | None:
    try:
        return make_url(database_url).password or None
    except Exception:
        return None


class ConfigError(Exception):
    """Invalid settings; ``problems`` holds one human line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _describe(exc: ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{prefix}{where}: {msg}" if where else f"{prefix}{msg}")
    return lines


def load_config(path: Path) -> BotConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError([f"INCIDENT_BOT_CONFIG: file not found: {path}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"INCIDENT_BOT_CONFIG: {path} is not valid TOML: {exc}"]) from exc
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, prefix=f"{path}: ")) from exc


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise ConfigError with one line per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err["loc"][0] if err["loc"] else ""
            field = Settings.model_fields.get(str(loc))
            name = field.alias if field and field.alias else str(loc)
            problems.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(problems) from exc
