"""Custom field values: typed text in, a stored value out, and the value shown back (pure).

Stored values are JSON: a string (single select, text, user), a number, or a list of strings
(multi select, services). Text to Slack is escaped here; plain text is for the document and web UI.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from bot.errors import UsageError
from bot.incidents.types import DEFAULT_TYPE, FieldConfig, FieldKind, ServiceConfig, Stage, TypeConfig
from bot.slack.text import escape, one_line, strip_control, to_plain

MAX_TEXT = 500
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
SET_USAGE = "/incident set <field> <value>"


@dataclass(frozen=True)
class ShownField:
    name: str
    label: str
    slack: str  # mrkdwn, escaped
    plain: str


def _choices(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _option(spec: FieldConfig, name: str, word: str) -> str:
    by_lower = {o.lower(): o for o in spec.options}
    found = by_lower.get(word.lower())
    if found is None:
        known = ", ".join(f"`{o}`" for o in spec.options)
        raise UsageError(
            f"`{escape(one_line(word, 40))}` is not an option of `{name}`: use {known}.", SET_USAGE
        )
    return found


def parse_value(name: str, spec: FieldConfig, raw: str, services: list[ServiceConfig]) -> Any:
    """The value to store for ``raw`` (Slack-formatted command text); UsageError names what is wrong."""
    text = raw.strip()
    if not text:
        raise UsageError(f"Give `{name}` a value.", SET_USAGE)
    if spec.kind == FieldKind.SINGLE_SELECT:
        return _option(spec, name, to_plain(text).strip())
    if spec.kind == FieldKind.MULTI_SELECT:
        chosen = [_option(spec, name, w) for w in _choices(to_plain(text))]
        return [o for o in spec.options if o in chosen]
    if spec.kind == FieldKind.TEXT:
        plain = strip_control(to_plain(text)).strip()
        if not plain:
            raise UsageError(f"Give `{name}` some visible text.", SET_USAGE)
        return plain if len(plain) <= MAX_TEXT else plain[: MAX_TEXT - 1].rstrip() + "…"
    if spec.kind == FieldKind.NUMBER:
        typed = to_plain(text).strip()
        try:
            number = (
                math.nan if "_" in typed else float(typed)
            )  # float() takes `1_000`; people mean no such thing
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise UsageError(f"`{name}` is a number, e.g. `{name} 42`.", SET_USAGE)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if spec.kind == FieldKind.USER:
        m = _USER.match(text)
        if not m:
            raise UsageError(f"`{name}` is a person: mention them with @, e.g. `@alice`.", SET_USAGE)
        return m.group(1)
    known = [s.name for s in services]
    chosen = [w.lower() for w in _choices(to_plain(text))]
    unknown = [w for w in chosen if w not in known]
    if unknown:
        names = ", ".join(f"`{s}`" for s in known)
        raise UsageError(
            f"Unknown service `{escape(one_line(unknown[0], 40))}`: use one or more of {names}, comma-separated.",
            SET_USAGE,
        )
    return [s for s in known if s in chosen]


def show(name: str, spec: FieldConfig, value: Any) -> ShownField:
    """One field's value for a person: Slack mrkdwn and plain text."""
    if spec.kind == FieldKind.USER:
        return ShownField(name, spec.label, f"<@{value}>", f"@{value}")
    if isinstance(value, list):
        plain = ", ".join(str(v) for v in value) or "none"
    elif isinstance(value, float):
        plain = f"{value:g}"
    else:
        plain = str(value)
    return ShownField(name, spec.label, escape(plain), plain)


def shown_fields(
    type_spec: TypeConfig, fields: dict[str, FieldConfig], values: dict[str, Any]
) -> list[ShownField]:
    """The type's fields that are set, in the type's order."""
    return [show(n, fields[n], values[n]) for n in type_spec.fields if n in values and n in fields]


def missing(
    type_spec: TypeConfig, fields: dict[str, FieldConfig], values: dict[str, Any], stage: Stage
) -> list[str]:
    """Required fields for ``stage`` not set yet, by name."""
    return [n for n in type_spec.required_at(stage) if n not in values]


def missing_text(names: list[str], fields: dict[str, FieldConfig], doing: str) -> str:
    """The refusal: what to set, and how."""
    listed = ", ".join(f"*{escape(fields[n].label)}* (`{n}`)" for n in names)
    first = names[0]
    return f"Set {listed} before you {doing}: `/incident set {first} <value>`. Nothing changed."


def declare_command_for(kind: str) -> str:
    return "/incident declare" + (f" --type {kind}" if kind != DEFAULT_TYPE else "")


def declare_refusal(kind: str, names: list[str], fields: dict[str, FieldConfig]) -> str:
    """`/incident declare <title>` for a type that requires fields at declare: use the form."""
    listed = ", ".join(f"*{escape(fields[n].label)}* (`{n}`)" for n in names)
    return (
        f"A *{escape(kind)}* incident needs {listed} when it is declared: run `{declare_command_for(kind)}` "
        "(without a title) and fill them in the form. Nothing was declared."
    )


def declare_form_refusal(kind: str, names: list[str], fields: dict[str, FieldConfig]) -> str:
    """The declare form submitted with a type whose declare fields it does not show (plain text)."""
    listed = ", ".join(fields[n].label for n in names)
    return (
        f"A {kind} incident needs {listed} when it is declared: cancel and run "
        f"{declare_command_for(kind)} to fill them in."
    )
