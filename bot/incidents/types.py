"""Incident types, custom fields and the service list: the ``[types]``, ``[fields]`` and
``[[services]]`` tables of the TOML config.

A ``default`` type always exists (no fields, the bot's own privacy and channel prefix), so a config
without types behaves as before. Later rules and checklists hang off the same type records.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator, model_validator

DEFAULT_TYPE = "default"
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
NAME_RULE = "lower-case letters, digits, `-` and `_`, starting with a letter (at most 40)"


class FieldKind(StrEnum):
    SINGLE_SELECT = "single_select"
    MULTI_SELECT = "multi_select"
    TEXT = "text"
    NUMBER = "number"
    USER = "user"
    SERVICES = "services"


class Stage(StrEnum):
    """When a required field must be set: the lifecycle step refused without it."""

    DECLARE = "declare"
    RESOLVE = "resolve"
    CLOSE = "close"


class ServiceConfig(BaseModel):
    """One ``[[services]]`` entry: a service incidents can affect (the seed of a service catalog)."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    name: str
    """How people name it (`/incident set services payments,search`)."""
    owner_group: str | None = None
    """The Slack user group (`S…`) that owns it."""
    channel: str | None = None
    """Its team's Slack channel ID."""
    pagerduty_service: str | None = None
    """The name it is paged by (one of `[pagerduty] routing_keys`)."""
    runbook_url: str | None = None
    """Its runbook."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError(f"service names are {NAME_RULE}")
        return v

    @field_validator("runbook_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v


class FieldConfig(BaseModel):
    """One ``[fields.<name>]`` table: a custom field incidents of some types carry."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    label: str
    """How the card, the document and the web UI name it."""
    kind: FieldKind
    """`single_select`, `multi_select`, `text`, `number`, `user` or `services` (one or more of `[[services]]`)."""
    options: list[str] = Field(default_factory=list)
    """The choices of a `single_select` or `multi_select`."""

    @model_validator(mode="after")
    def _options(self) -> FieldConfig:
        selects = (FieldKind.SINGLE_SELECT, FieldKind.MULTI_SELECT)
        if self.kind in selects and not self.options:
            raise ValueError(f"a {self.kind.value} field needs `options`")
        if self.kind not in selects and self.options:
            raise ValueError(f"a {self.kind.value} field has no `options`")
        if len({o.lower() for o in self.options}) != len(self.options):
            raise ValueError("options must differ (case is ignored)")
        return self


FILLER = re.compile(r"^(U[A-Z0-9]{2,20}|W[A-Z0-9]{2,20}|S[A-Z0-9]{2,20}|oncall:[A-Z0-9]{2,20})$")
MAX_ITEM_TEXT = 75  # Slack's limit for a checkbox option's text
MAX_ITEMS = 50


class RoleConfig(BaseModel):
    """One ``[types.<name>.roles.<role>]`` table: a role incidents of the type have, and who fills it."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    filled_by: str | None = None
    """Who takes the role at declare: a user (`U…`), a user group (`S…`: its members are invited, the declarer takes the role if in it, else its first member), or `oncall:<schedule id>` (who is on call in that PagerDuty schedule; needs `PAGERDUTY_API_TOKEN`). Unset: nobody until assigned."""

    @field_validator("filled_by")
    @classmethod
    def _filler(cls, v: str | None) -> str | None:
        if v is not None and not FILLER.match(v):
            raise ValueError(
                "must be a user ID (`U…`), a user group ID (`S…`) or `oncall:<PagerDuty schedule ID>`"
            )
        return v


class ChecklistItem(BaseModel):
    """One item of a checklist."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    text: str
    """What to do (at most 75 characters, `&` `<` `>` counting as Slack gets them: a Slack checkbox's limit)."""
    required: bool = False
    """Close is refused while it is not ticked."""
    role: str | None = None
    """The role it falls to (shown beside it)."""

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        v = " ".join(v.split())
        sent = len(v) + 4 * v.count("&") + 3 * (v.count("<") + v.count(">"))  # as Slack gets it, escaped
        if not v or sent > MAX_ITEM_TEXT:
            raise ValueError(f"an item's text is 1 to {MAX_ITEM_TEXT} characters (a Slack checkbox's limit)")
        return v


class ChecklistConfig(BaseModel):
    """One ``[[types.<name>.checklists]]`` entry: items people tick in the incident channel."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    name: str
    """How it is named (in the config, `start_checklist`, the timeline)."""
    title: str | None = None
    """The heading of its message (unset: the name)."""
    role: str | None = None
    """The role it is for (the heading names who holds it)."""
    at_declare: bool = True
    """Posted when an incident of the type is declared, or changed to the type (false: only when a rule starts it)."""
    items: list[ChecklistItem]
    """The items, in order: `{ text = "Page the owner", required = true, role = "lead" }`."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError(f"checklist names are {NAME_RULE}")
        return v

    @field_validator("items")
    @classmethod
    def _items(cls, v: list[ChecklistItem]) -> list[ChecklistItem]:
        if not 1 <= len(v) <= MAX_ITEMS:
            raise ValueError(f"a checklist has 1 to {MAX_ITEMS} items")
        return v

    @property
    def heading(self) -> str:
        return self.title or self.name


class TypeConfig(BaseModel):
    """One ``[types.<name>]`` table: a kind of incident with its own privacy, channel names and fields."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    description: str = ""
    """What it is for (shown in the declare form)."""
    private: bool | None = None
    """Declare its channels private (unset: as the declarer chooses)."""
    channel_prefix: str | None = None
    """Prefix of its channels' names (unset: `INCIDENT_CHANNEL_PREFIX`)."""
    fields: list[str] = Field(default_factory=list)
    """Names of the `[fields.<name>]` its incidents carry."""
    required: dict[Stage, list[str]] = Field(default_factory=dict)
    """Fields that must be set before a step: `{ declare = [...], resolve = [...], close = ["data_exposed"] }` (declare: asked in the declare form)."""
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    """Its roles beyond the config's `roles`, or who fills one of those by default: `[types.<name>.roles.<role>] filled_by = "S0SECURITY"`."""
    checklists: list[ChecklistConfig] = Field(default_factory=list)
    """Its checklists, `[[types.<name>.checklists]]`: posted in the channel as checkboxes."""
    template: str | None = None
    """Investigation document template: a file name in `INCIDENT_TEMPLATE_DIR` (unset: the standard one)."""

    @field_validator("channel_prefix")
    @classmethod
    def _prefix(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[a-z0-9_-]{1,20}$", v):
            raise ValueError("a channel prefix is lower-case letters, digits, `-` and `_` (at most 20)")
        return v

    @field_validator("template")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.md\.j2$", v):
            raise ValueError(
                "a template is a file name ending in `.md.j2` (in `INCIDENT_TEMPLATE_DIR` or `templates/`)"
            )
        return v

    def required_at(self, stage: Stage) -> list[str]:
        return list(self.required.get(stage, []))


def check(
    types: dict[str, TypeConfig],
    fields: dict[str, FieldConfig],
    services: list[ServiceConfig],
    roles: list[str] | None = None,
) -> list[str]:
    """Cross-table problems, one line each, naming the key (``roles``: the config's own roles)."""
    problems = [f"types.{n}: type names are {NAME_RULE}" for n in types if not NAME.match(n)]
    problems += [f"fields.{n}: field names are {NAME_RULE}" for n in fields if not NAME.match(n)]
    names = [s.name for s in services]
    problems += [f"services: `{n}` is listed twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for type_name, spec in types.items():
        for field_name in spec.fields:
            if field_name not in fields:
                known = ", ".join(sorted(fields)) or "none are defined"
                problems.append(f"types.{type_name}.fields: unknown field `{field_name}` (known: {known})")
            elif fields[field_name].kind == FieldKind.SERVICES and not services:
                problems.append(f"fields.{field_name}: a services field needs a `[[services]]` list")
        for stage, required in spec.required.items():
            for field_name in required:
                if field_name not in spec.fields:
                    problems.append(
                        f"types.{type_name}.required.{stage.value}: `{field_name}` is not one of this "
                        "type's `fields`"
                    )
        problems += _check_roles(type_name, spec, roles or [])
    return problems


def _check_roles(type_name: str, spec: TypeConfig, roles: list[str]) -> list[str]:
    problems = [
        f"types.{type_name}.roles: role names are {NAME_RULE} (`{r}`)"
        for r in spec.roles
        if not NAME.match(r)
    ]
    known = type_roles(roles, spec)
    names = [c.name for c in spec.checklists]
    problems += [
        f"types.{type_name}.checklists: `{n}` is named twice"
        for n in sorted({n for n in names if names.count(n) > 1})
    ]
    for checklist in spec.checklists:
        wanted = [checklist.role, *(item.role for item in checklist.items)]
        for role in dict.fromkeys(r for r in wanted if r is not None):
            if role not in known:
                problems.append(
                    f"types.{type_name}.checklists.{checklist.name}: unknown role `{role}` "
                    f"(known: {', '.join(known)})"
                )
    return problems


def type_roles(roles: list[str], spec: TypeConfig) -> list[str]:
    """The roles an incident of the type has: the config's, then the type's own."""
    return [*roles, *(r for r in spec.roles if r not in roles)]


def type_names(types: dict[str, TypeConfig]) -> list[str]:
    """Every type people can choose, ``default`` first."""
    return [DEFAULT_TYPE, *sorted(n for n in types if n != DEFAULT_TYPE)]


def incident_type(types: dict[str, TypeConfig], name: str | None) -> TypeConfig:
    """The type's settings; ``default`` (configured or not) for None."""
    return types.get(name or DEFAULT_TYPE) or TypeConfig(description="Any incident")


def type_choices(types: dict[str, TypeConfig], first: str | None = None) -> list[tuple[str, str]] | None:
    """(name, description) of each type for the declare form, ``first`` first; None when no types
    are configured (the form has no type select then)."""
    if not types:
        return None
    names = type_names(types)
    if first in names:
        names.remove(first)
        names.insert(0, first)
    return [(name, incident_type(types, name).description) for name in names]
