"""The TOML config file named by INCIDENT_BOT_CONFIG: ``BotConfig``, its reactions, and loading it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from bot.assist.config import AssistConfig
from bot.config.errors import ConfigError, describe
from bot.config.tables import (
    AlertsConfig,
    DocumentsConfig,
    OutgoingConfig,
    PagerDutyConfig,
    PermissionConfig,
    ReminderConfig,
    WebhookConfig,
)
from bot.followups.config import FollowupsConfig
from bot.incidents.types import FieldConfig, ServiceConfig, TypeConfig, check
from bot.incidents.vocabulary import SEVERITIES, STANDINGS, Severity
from bot.statuspage.config import StatuspageConfig
from bot.workflows.model import Workflow
from bot.workflows.model import check as check_workflows

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


class BotConfig(BaseModel):
    """The TOML file named by INCIDENT_BOT_CONFIG."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    timezone: str = "UTC"
    """IANA time zone for the times people type (`HH:MM`) and the times the bot writes."""
    reactions: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_REACTIONS))
    """Emoji name (custom ones too) → timeline kind; replaces the whole default table."""
    confirm_reaction: str = "inbox_tray"
    """The reaction the bot adds once it has stored a message (not one of `reactions`)."""
    confirm_per_minute: int = Field(default=20, ge=0)
    """At most this many confirm reactions (added or removed) a minute; past it, a burst of captures is confirmed by one message in the channel instead, and a catch-up with more than this many changes too."""
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
    history_page_size: int = 999
    """Messages per `conversations.history` / `conversations.replies` page when reading a channel back (1-1000; internal apps may ask 999; commercially distributed non-Marketplace apps get 15 a page since 2025)."""
    history_calls_per_minute: int = Field(default=50, ge=1)
    """`conversations.history` / `replies` calls a minute Slack allows the app: 50 (Tier 3) for internal and Marketplace apps, 1 for commercially distributed non-Marketplace apps since 2025. Catch-up weighs a history page against a `reactions.get` (Tier 3) by it."""
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
    documents: DocumentsConfig = Field(default_factory=DocumentsConfig)
    """Revision files kept on disk, and how far back an outage repair reaches (below)."""
    statuspage: StatuspageConfig = Field(default_factory=StatuspageConfig)
    """The public status page's components (below); without any, /status is off."""
    types: dict[str, TypeConfig] = Field(default_factory=dict)
    """Incident types, `[types.<name>]` (below); a `default` type always exists."""
    fields: dict[str, FieldConfig] = Field(default_factory=dict)
    """Custom fields, `[fields.<name>]` (below), which types list."""
    services: list[ServiceConfig] = Field(default_factory=list)
    """The services incidents can affect, `[[services]]` (below)."""
    assist: AssistConfig = Field(default_factory=AssistConfig)
    """The optional model: an OpenAI-compatible endpoint for drafts and embeddings (below); off by default."""
    workflows: list[Workflow] = Field(default_factory=list)
    """Rules: when something happens to an incident and conditions hold, run steps (`[[workflows]]`, below)."""
    workflows_dir: str | None = None
    """A folder of more rules, one `<name>.toml` file each (a `[[workflows]]` entry's keys at the top level); relative to this file."""

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
        # A type's own roles may be named too (held only on incidents of that type).
        roles = list(
            dict.fromkeys([*self.roles, *(role for spec in self.types.values() for role in spec.roles)])
        )
        for action in ("close", "severity", "roles", "page", "statuspage"):
            rule = getattr(self.permissions, action)
            unknown = [] if rule in ("anyone", "members") else sorted(set(rule) - set(roles) - set(STANDINGS))
            if unknown:
                raise ValueError(
                    f"permissions.{action} names role {', '.join(unknown)}, which is not one of roles "
                    f"({', '.join(roles)})"
                )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_config(path: Path) -> BotConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError([f"INCIDENT_BOT_CONFIG: file not found: {path}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"INCIDENT_BOT_CONFIG: {path} is not valid TOML: {exc}"]) from exc
    try:
        config = BotConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc, prefix=f"{path}: ", model=BotConfig)) from exc
    if config.workflows_dir is not None:
        config.workflows += load_workflow_dir(path.parent / config.workflows_dir)
    problems = check(config.types, config.fields, config.services, config.roles)
    problems += check_workflows(config.workflows, config.types, config.fields, config.roles)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    return config


def load_workflow_dir(folder: Path) -> list[Workflow]:
    """Every ``*.toml`` in ``folder``, one rule each (sorted by file name); all problems at once."""
    if not folder.is_dir():
        raise ConfigError([f"workflows_dir: not a folder: {folder}"])
    found, problems = [], []
    for file in sorted(folder.glob("*.toml")):
        try:
            found.append(Workflow.model_validate(tomllib.loads(file.read_text(encoding="utf-8"))))
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{file}: not valid TOML: {exc}")
        except ValidationError as exc:
            problems += describe(exc, prefix=f"{file}: ", model=Workflow)
    if problems:
        raise ConfigError(problems)
    return found
