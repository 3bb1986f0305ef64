"""Custom fields in forms (pure): one input per field, prefilled with its value, and a submitted
view's state read back as the text `/incident set` takes, so both parse with ``parse_value``.

Each input's block id is ``field_<name>`` (action id ``value``); the declare form and the card's
"Set fields" form share them.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.errors import UsageError
from bot.incidents.fields import MAX_TEXT, parse_value
from bot.incidents.types import FieldConfig, FieldKind, ServiceConfig
from bot.incidents.vocabulary import incident_ref
from bot.slack.text import escape, one_line
from storage.models import Incident

FIELDS_CALLBACK = "incident_fields_form"
PREFIX = "field_"
MAX_OPTIONS = 100  # Slack's limit for a select's options


def block_id(name: str) -> str:
    return f"{PREFIX}{name}"


def _options(names: list[str]) -> list[Option]:
    return [Option(value=n, text=one_line(n, 75)) for n in names][:MAX_OPTIONS]


def _element(spec: FieldConfig, services: list[ServiceConfig], value: Any) -> Any:
    if spec.kind in (FieldKind.SINGLE_SELECT, FieldKind.MULTI_SELECT, FieldKind.SERVICES):
        options = _options(spec.options if spec.kind != FieldKind.SERVICES else [s.name for s in services])
        if spec.kind == FieldKind.SINGLE_SELECT:
            initial = next((o for o in options if o.value == value), None)
            return StaticSelectElement(action_id="value", options=options, initial_option=initial)
        chosen = set(value) if isinstance(value, list) else set()
        initial_options = [o for o in options if o.value in chosen] or None
        return StaticMultiSelectElement(action_id="value", options=options, initial_options=initial_options)
    if spec.kind == FieldKind.NUMBER:
        shown = None if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
        return NumberInputElement(action_id="value", is_decimal_allowed=True, initial_value=shown)
    if spec.kind == FieldKind.USER:
        return UserSelectElement(action_id="value", initial_user=value if isinstance(value, str) else None)
    return PlainTextInputElement(
        action_id="value", max_length=MAX_TEXT, initial_value=value if isinstance(value, str) else None
    )


def field_inputs(
    names: list[str],
    fields: dict[str, FieldConfig],
    services: list[ServiceConfig],
    values: dict[str, Any],
    optional: bool = True,
) -> list[Block]:
    """An input for each of ``names`` (in order), prefilled from ``values``."""
    return [
        InputBlock(
            block_id=block_id(name),
            label=PlainTextObject(text=one_line(fields[name].label, 2000)),
            optional=optional,
            element=_element(fields[name], services, values.get(name)),
        )
        for name in names
        if name in fields
    ]


def fields_modal(
    incident: Incident,
    names: list[str],
    fields: dict[str, FieldConfig],
    services: list[ServiceConfig],
    values: dict[str, Any],
) -> View:
    """The card's "Set fields" form: the incident type's fields, as they are now."""
    return View(
        type="modal",
        callback_id=FIELDS_CALLBACK,
        title=PlainTextObject(text=one_line(f"Fields of {incident_ref(incident)}", 24)),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        blocks=field_inputs(names, fields, services, values)[:100],
    )


def submitted(view: dict[str, Any], names: list[str], fields: dict[str, FieldConfig]) -> dict[str, str]:
    """The Slack-formatted text `/incident set` would take for each field given a value in the form
    (empty ones are left out: an empty input leaves its field as it is)."""
    state = view.get("state", {}).get("values", {})
    typed: dict[str, str] = {}
    for name in names:
        if name not in fields:
            continue
        got = (state.get(block_id(name)) or {}).get("value") or {}
        kind = fields[name].kind
        if kind == FieldKind.SINGLE_SELECT:
            raw = str((got.get("selected_option") or {}).get("value") or "")
        elif kind in (FieldKind.MULTI_SELECT, FieldKind.SERVICES):
            raw = ", ".join(str(o.get("value") or "") for o in got.get("selected_options") or [])
        elif kind == FieldKind.USER:
            user = got.get("selected_user")
            raw = f"<@{user}>" if isinstance(user, str) and user else ""
        else:
            value = got.get("value")
            raw = escape(value.strip()) if isinstance(value, str) else ""  # typed as is, not Slack markup
        if raw:
            typed[name] = raw
    return typed


def errors(
    typed: dict[str, str], fields: dict[str, FieldConfig], services: list[ServiceConfig]
) -> dict[str, str]:
    """What is wrong with each submitted value, by block id (for ``response_action: errors``)."""
    found = {}
    for name, raw in typed.items():
        try:
            parse_value(name, fields[name], raw, services)
        except UsageError as exc:
            found[block_id(name)] = exc.message.replace("`", "")
    return found


def missing_inputs(names: list[str], typed: dict[str, str], fields: dict[str, FieldConfig]) -> dict[str, str]:
    """A required input left empty (Slack does not submit those; a forged payload could)."""
    return {block_id(n): f"Give {fields[n].label} a value." for n in names if n in fields and n not in typed}
