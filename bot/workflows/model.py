"""Workflow rules as configured: ``[[workflows]]`` in the TOML config (or one file each in a folder).

A rule names a trigger, optional conditions (``all`` / ``any`` / ``none`` of comparisons) and the
steps to run (their kinds in ``step_kinds``). ``check`` finds what the models alone cannot (unknown fields, impossible conditions,
template errors), one line per problem, naming the rule. Imports only pydantic, the vocabulary, the
incident types and the template sandbox, so the config can hold these tables.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.incidents.types import (
    NAME,
    NAME_RULE,
    FieldConfig,
    FieldKind,
    TypeConfig,
    incident_type,
    type_names,
    type_roles,
)
from bot.incidents.vocabulary import SEVERITIES, STATUS_ORDER
from bot.workflows.step_kinds import (
    AddLink,
    CreateFollowup,
    Post,
    SetField,
    SetRole,
    StartChecklist,
    Step,
    parse_duration,
)
from bot.workflows.templates import template_problem

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class On(StrEnum):
    """What starts a rule."""

    DECLARED = "declared"
    SEVERITY_CHANGED = "severity_changed"
    STATUS_CHANGED = "status_changed"
    TYPE_CHANGED = "type_changed"
    FIELD_CHANGED = "field_changed"
    ROLE_CHANGED = "role_changed"
    ALERT_ATTACHED = "alert_attached"
    MEMBER_JOINED = "member_joined"
    MESSAGE = "message"
    CHECKLIST_TICKED = "checklist_ticked"
    TIMER = "timer"


class Since(StrEnum):
    """The milestone a timer counts from (a timer waits for it to be set)."""

    DECLARED = "declared"
    STARTED = "started"
    DETECTED = "detected"
    IDENTIFIED = "identified"
    FIXED = "fixed"
    VERIFIED = "verified"


class Unless(StrEnum):
    """What cancels a timer when it happened between the milestone and the timer."""

    STATUS_UPDATE = "status_update"
    STATUS_CHANGED = "status_changed"


class Trigger(BaseModel):
    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    on: On
    """`declared`, `severity_changed`, `status_changed`, `type_changed`, `field_changed`, `role_changed`, `alert_attached` (declared from an alert, or one attached), `member_joined` (a person joined the channel), `message` (a person's message in the channel matching `pattern`), `checklist_ticked` (a person ticked a checklist item) or `timer`."""
    field: str | None = None
    """`field_changed` only: the custom field (unset: any field)."""
    pattern: str | None = None
    """`message` only: a regular expression found in the message's text (Python syntax; `(?i)` ignores case)."""
    checklist: str | None = None
    """`checklist_ticked` only: the checklist's name (unset: any checklist)."""
    item: str | int | None = None
    """`checklist_ticked` only: the item, by its text (case ignored) or its position (`1` is the first; unset: any item)."""
    after: str | None = None
    """`timer` only: how long after `since` (`30m`)."""
    since: Since = Since.DECLARED
    """`timer` only: the milestone it counts from (`declared`, `started`, `detected`, `identified`, `fixed`, `verified`); a timer on a milestone not set yet waits for it."""
    unless: Unless | None = None
    """`timer` only: skip it when this happened in between (`status_update`, `status_changed`)."""

    @model_validator(mode="after")
    def _shape(self) -> Trigger:
        if self.on == On.TIMER:
            if self.after is None:
                raise ValueError('a `timer` trigger needs `after` (e.g. `after = "30m"`)')
            parse_duration(self.after)
        elif self.after is not None or self.unless is not None:
            raise ValueError("`after` and `unless` belong to a `timer` trigger")
        if self.field is not None and self.on != On.FIELD_CHANGED:
            raise ValueError("`field` belongs to a `field_changed` trigger")
        if (self.checklist is not None or self.item is not None) and self.on != On.CHECKLIST_TICKED:
            raise ValueError("`checklist` and `item` belong to a `checklist_ticked` trigger")
        if isinstance(self.item, int) and self.item < 1:
            raise ValueError("`item` is an item's text or its position, `1` for the first")
        if (self.pattern is not None) != (self.on == On.MESSAGE):
            raise ValueError("a `message` trigger needs `pattern`, and only it has one")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"`pattern` is not a regular expression ({exc})") from exc
        return self

    @property
    def delay(self) -> timedelta:
        return parse_duration(self.after) if self.after else timedelta(0)


OPERATORS = ("is", "one_of", "gte", "lt", "is_set", "contains", "matches")


class Comparison(BaseModel):
    """One test of the incident: ``{ field = "severity", gte = "sev2" }`` (exactly one operator)."""

    model_config = {"extra": "forbid", "populate_by_name": True, "use_attribute_docstrings": True}

    field: str
    """`type`, `severity`, `status`, `private`, `time` (of day, the config's time zone), `fields.<name>` or `alert.labels.<name>`."""
    is_: str | bool | float | None = Field(default=None, alias="is")
    """Equal to (`private`: `true` or `false`)."""
    one_of: list[str] | None = None
    """Equal to one of these."""
    gte: str | None = None
    """At least: a severity at least this severe (`sev2`: sev1 or sev2), a time `HH:MM`, a number field."""
    lt: str | None = None
    """Below: the opposite of `gte`."""
    is_set: bool | None = None
    """`true`: the field has a value; `false`: it has none."""
    contains: str | None = None
    """A list field holds this value; a text holds it (case ignored)."""
    matches: str | None = None
    """A regular expression found in the value (Python syntax)."""

    @model_validator(mode="after")
    def _one_operator(self) -> Comparison:
        given = [op for op in OPERATORS if getattr(self, _attr(op)) is not None]
        if len(given) != 1:
            raise ValueError(f"`{self.field}`: give exactly one of {', '.join(OPERATORS)}")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"`{self.field}`: `matches` is not a regular expression ({exc})") from exc
        return self

    @property
    def op(self) -> str:
        return next(op for op in OPERATORS if getattr(self, _attr(op)) is not None)

    @property
    def value(self) -> Any:
        return getattr(self, _attr(self.op))


def _attr(op: str) -> str:
    return "is_" if op == "is" else op


class Conditions(BaseModel):
    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    all: list[Comparison] = Field(default_factory=list)
    """Every one must hold."""
    any: list[Comparison] = Field(default_factory=list)
    """At least one must hold (when any are given); the same keys as `all`."""
    none: list[Comparison] = Field(default_factory=list)
    """None may hold; the same keys as `all`."""

    def comparisons(self) -> list[Comparison]:
        return [*self.all, *self.any, *self.none]


class Workflow(BaseModel):
    """One `[[workflows]]` entry: when, if, then."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    name: str
    """Unique; lower-case letters, digits, `-` and `_`."""
    description: str = ""
    """What it is for (shown by `workflows try` and in the reference)."""
    trigger: Trigger
    """`{ on = "declared" }`, `{ on = "field_changed", field = "data_exposed" }`, `{ on = "timer", after = "30m", unless = "status_update" }`."""
    conditions: Conditions = Field(default_factory=Conditions)
    """`all`, `any` and `none` lists of `{ field = "type" | "severity" | "status" | "private" | "time" | "fields.<name>", <operator> = value }`; operators `is`, `one_of`, `gte`, `lt`, `is_set`, `contains`, `matches`."""
    steps: list[Step]
    """What to do, in order: `post`, `invite`, `set_severity`, `set_field`, `page`, `webhook`, `start_checklist`, `set_role`, `invite_oncall`, `add_link`, `create_followup` (below)."""
    delay: str | None = None
    """Wait this long after the trigger, then check the conditions again before the steps."""
    repeat: bool = False
    """Run every time it matches (default: once per incident)."""
    enabled: bool = True
    """`false`: `workflows try` still shows what it would do; it never runs."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError(f"workflow names are {NAME_RULE}")
        return v

    @field_validator("delay")
    @classmethod
    def _delay(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[Any]) -> list[Any]:
        if not v:
            raise ValueError("a workflow needs at least one step")
        return v

    @property
    def wait(self) -> timedelta:
        return parse_duration(self.delay) if self.delay else timedelta(0)


SUBJECTS = ("type", "severity", "status", "private", "time")


def check(
    workflows: list[Workflow],
    types: dict[str, TypeConfig],
    fields: dict[str, FieldConfig],
    roles: list[str] | None = None,
) -> list[str]:
    """Problems across tables, one line each, naming the rule and the key."""
    problems: list[str] = []
    names = [w.name for w in workflows]
    problems += [
        f"workflows: `{n}` is defined twice" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    for w in workflows:
        where = f"workflows.{w.name}"
        if w.trigger.field is not None and w.trigger.field not in fields:
            problems.append(f"{where}.trigger.field: {_unknown_field(w.trigger.field, fields)}")
        trigger = _checklist_trigger_problem(w.trigger, types)
        if trigger:
            problems.append(f"{where}.trigger: {trigger}")
        for part in ("all", "any", "none"):
            for i, c in enumerate(getattr(w.conditions, part)):
                problem = _comparison_problem(c, types, fields)
                if problem:
                    problems.append(f"{where}.conditions.{part}[{i}]: {problem}")
        problems += [f"{where}.conditions.all: {p}" for p in _contradictions(w.conditions.all)]
        possible = possible_types(w, types)
        for i, step in enumerate(w.steps):
            problem = _step_problem(step, fields, types, possible, roles or [])
            if problem:
                problems.append(f"{where}.steps[{i}] ({step.kind}): {problem}")
    return problems


def _checklist_trigger_problem(trigger: Trigger, types: dict[str, TypeConfig]) -> str | None:
    """A `checklist_ticked` filter no configured checklist can ever match."""
    if trigger.checklist is None and trigger.item is None:
        return None
    every = [c for t in type_names(types) for c in incident_type(types, t).checklists]
    if trigger.checklist is not None:
        known = sorted({c.name for c in every})
        every = [c for c in every if c.name == trigger.checklist]
        if not every:
            return (
                f"unknown checklist `{trigger.checklist}` (known: {', '.join(known) or 'none are defined'})"
            )
    if isinstance(trigger.item, int):
        if all(trigger.item > len(c.items) for c in every):
            return f"no checklist has an item {trigger.item}: it can never match"
    elif trigger.item is not None:
        texts = {i.text.lower() for c in every for i in c.items}
        if " ".join(trigger.item.split()).lower() not in texts:
            return f"no checklist has an item “{trigger.item}”: it can never match"
    return None


def _unknown_field(name: str, fields: dict[str, FieldConfig]) -> str:
    known = ", ".join(sorted(fields)) or "none are defined"
    return f"unknown field `{name}` (known: {known})"


def _comparison_problem(
    c: Comparison, types: dict[str, TypeConfig], fields: dict[str, FieldConfig]
) -> str | None:
    subject, op, value = c.field, c.op, c.value
    if subject.startswith("fields."):
        name = subject.removeprefix("fields.")
        if name not in fields:
            return _unknown_field(name, fields)
        spec = fields[name]
        if op in ("gte", "lt") and spec.kind != FieldKind.NUMBER:
            return f"`{op}` compares numbers; `{name}` is a {spec.kind.value} field"
        if op in ("gte", "lt"):
            try:
                float(str(value))
            except ValueError:
                return f"`{op}` needs a number, not `{value}`"
        if spec.options and op in ("is", "one_of", "contains"):
            wanted = value if isinstance(value, list) else [value]
            bad = [str(v) for v in wanted if str(v) not in spec.options]
            if bad:
                return (
                    f"`{bad[0]}` is not an option of `{name}` ({', '.join(spec.options)}): it can never match"
                )
        return None
    if subject.startswith("alert.labels."):
        return (
            None
            if op in ("is", "one_of", "is_set", "contains", "matches")
            else f"`{op}` does not apply to labels"
        )
    if subject not in SUBJECTS:
        return (
            f"unknown field `{subject}`: use type, severity, status, private, time, "
            "fields.<name> or alert.labels.<name>"
        )
    known: tuple[str, ...] = ()
    if subject == "type":
        known = tuple(type_names(types))
    elif subject == "severity":
        known = SEVERITIES
    elif subject == "status":
        known = (*STATUS_ORDER, "closed")
    if subject == "private":
        return (
            None
            if op in ("is", "is_set") and (op == "is_set" or isinstance(value, bool))
            else ("`private` takes `is = true` or `is = false`")
        )
    if subject == "time":
        if op not in ("gte", "lt"):
            return "`time` takes `gte` and `lt` with `HH:MM` (the config's time zone)"
        return None if _CLOCK.match(str(value)) else f"`{value}` is not a time of day (`HH:MM`)"
    if op in ("gte", "lt") and subject != "severity":
        return f"`{op}` applies to severity, time and number fields, not `{subject}`"
    wanted = value if isinstance(value, list) else [value] if op in ("is", "gte", "lt") else []
    bad = [str(v) for v in wanted if str(v) not in known]
    if bad:
        return f"`{bad[0]}` is not a {subject} ({', '.join(known)}): it can never match"
    if op == "is_set":
        return f"`{subject}` is always set"
    return None


def _contradictions(all_of: list[Comparison]) -> list[str]:
    """`all` asking one subject to be two different things at once (``is`` / ``one_of``)."""
    allowed: dict[str, set[str]] = {}
    for c in all_of:
        if c.op in ("is", "one_of"):
            values = {str(v) for v in (c.value if c.op == "one_of" else [c.value])}
            allowed[c.field] = values if c.field not in allowed else allowed[c.field] & values
    return [
        f"`{field}` can never match every `is` / `one_of` at once" for field, v in allowed.items() if not v
    ]


def possible_types(w: Workflow, types: dict[str, TypeConfig]) -> list[str]:
    """The incident types the rule's conditions let it run for: every type, less those an `all`
    `is` / `one_of` leaves out or a `none` `is` / `one_of` excludes (an `any` made only of such
    type comparisons counts too)."""
    names = type_names(types)
    allowed = set(names)

    def named(c: Comparison) -> set[str] | None:
        if c.field != "type" or c.op not in ("is", "one_of"):
            return None
        return {str(v) for v in (c.value if c.op == "one_of" else [c.value])}

    for c in w.conditions.all:
        values = named(c)
        if values is not None:
            allowed &= values
    for c in w.conditions.none:
        values = named(c)
        if values is not None:
            allowed -= values
    anys = [named(c) for c in w.conditions.any]
    if anys and all(v is not None for v in anys):
        allowed &= set().union(*(v for v in anys if v is not None))
    return [n for n in names if n in allowed]


def _step_problem(
    step: Any,
    fields: dict[str, FieldConfig],
    types: dict[str, TypeConfig],
    possible: list[str],
    roles: list[str],
) -> str | None:
    if isinstance(step, Post):
        return template_problem(step.text)
    if isinstance(step, AddLink):
        return template_problem(step.url)
    if isinstance(step, CreateFollowup):
        return template_problem(step.title) or (template_problem(step.body) if step.body else None)
    if isinstance(step, SetField) and step.field not in fields:
        return _unknown_field(step.field, fields)
    if isinstance(step, StartChecklist):
        return _checklist_problem(step.checklist, types, possible)
    if isinstance(step, SetRole):
        return _role_problem(step.role, types, possible, roles)
    return None


def _role_problem(
    role: str, types: dict[str, TypeConfig], possible: list[str], roles: list[str]
) -> str | None:
    lacking = [t for t in possible if role not in type_roles(roles, incident_type(types, t))]
    if not lacking:
        return None
    having = [t for t in type_names(types) if role in type_roles(roles, incident_type(types, t))]
    if not having:
        known = dict.fromkeys(
            r for t in type_names(types) for r in type_roles(roles, incident_type(types, t))
        )
        return f"unknown role `{role}` (known: {', '.join(known)})"
    return (
        f"type{'s' if len(lacking) > 1 else ''} {', '.join(f'`{t}`' for t in lacking)} "
        f"{'have' if len(lacking) > 1 else 'has'} no role `{role}` (only {', '.join(f'`{t}`' for t in having)}): "
        f'add a condition such as `{{ field = "type", is = "{having[0]}" }}`'
    )


def _checklist_problem(name: str, types: dict[str, TypeConfig], possible: list[str]) -> str | None:
    lacking = [t for t in possible if name not in {c.name for c in incident_type(types, t).checklists}]
    if not lacking:
        return None
    having = [t for t in type_names(types) if name in {c.name for c in incident_type(types, t).checklists}]
    if not having:
        known = sorted({c.name for t in type_names(types) for c in incident_type(types, t).checklists})
        return f"unknown checklist `{name}` (known: {', '.join(known) or 'none are defined'})"
    return (
        f"type{'s' if len(lacking) > 1 else ''} {', '.join(f'`{t}`' for t in lacking)} "
        f"{'have' if len(lacking) > 1 else 'has'} no checklist `{name}` (only {', '.join(f'`{t}`' for t in having)}): "
        f'add a condition such as `{{ field = "type", is = "{having[0]}" }}`'
    )
