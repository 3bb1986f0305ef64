"""A person's input on Block Kit elements as Slack sends it: the ``actions`` entry of a
``block_actions`` payload and a view's ``state.values``."""

from __future__ import annotations

import copy
from typing import Any


def _err(msg: str) -> Exception:
    from .emulator import EmulatorError

    return EmulatorError(msg)


def option_by_value(el: dict[str, Any], value: str | None) -> dict[str, Any]:
    options = list(el.get("options", []))
    for group in el.get("option_groups", []):
        options.extend(group.get("options", []))
    for opt in options:
        if opt.get("value") == value:
            return copy.deepcopy(opt)
    raise _err(f"element {el.get('action_id')!r} has no option with value {value!r}")


def action_for(
    el: dict[str, Any], block_id: str, action_ts: str, value: str | None, option: str | None, user: str | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    kind = el.get("type", "button")
    action: dict[str, Any] = {
        "action_id": el["action_id"],
        "block_id": block_id,
        "type": kind,
        "action_ts": action_ts,
    }
    state: dict[str, Any] | None = None
    if kind == "button":
        action["text"] = copy.deepcopy(el.get("text"))
        if value is not None or "value" in el:
            action["value"] = value if value is not None else el["value"]
        if "style" in el:
            action["style"] = el["style"]
    elif kind in ("static_select", "overflow", "radio_buttons"):
        action["selected_option"] = option_by_value(el, option if option is not None else value)
        state = {"type": kind, "selected_option": action["selected_option"]}
    elif kind == "users_select":
        action["selected_user"] = user or value
        state = {"type": kind, "selected_user": action["selected_user"]}
    elif kind == "conversations_select":
        action["selected_conversation"] = value
    elif kind == "channels_select":
        action["selected_channel"] = value
    elif kind == "datepicker":
        action["selected_date"] = value
    elif kind == "checkboxes":
        # ``value``: the option clicked; Slack sends the group's whole selection after the click,
        # starting from what the person saw (the message's ``initial_options``).
        shown = [o.get("value") for o in el.get("initial_options") or []]
        option_by_value(el, value)
        now = [v for v in shown if v != value] + ([value] if value not in shown else [])
        picked = [option_by_value(el, v) for o in el.get("options", []) if (v := o.get("value")) in now]
        action["selected_options"] = picked
        state = {"type": kind, "selected_options": picked}
    else:
        action["value"] = value
    if "placeholder" in el and kind != "button":
        action["placeholder"] = copy.deepcopy(el["placeholder"])
    return action, state


def element_state(el: dict[str, Any], given: Any) -> dict[str, Any]:
    kind = el.get("type")
    if kind == "plain_text_input":
        return {"type": kind, "value": given}
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": None if given is None else option_by_value(el, given)}
    if kind == "multi_static_select":
        return {"type": kind, "selected_options": [option_by_value(el, g) for g in given or []]}
    if kind == "users_select":
        return {"type": kind, "selected_user": given}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": list(given or [])}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": given}
    if kind == "channels_select":
        return {"type": kind, "selected_channel": given}
    if kind == "datepicker":
        return {"type": kind, "selected_date": given}
    if kind == "timepicker":
        return {"type": kind, "selected_time": given}
    if kind == "datetimepicker":  # Unix seconds
        if given is not None and (not isinstance(given, int) or isinstance(given, bool)):
            raise _err(f"a datetimepicker's value is Unix seconds, not {given!r}")
        return {"type": kind, "selected_date_time": given}
    if kind == "checkboxes":
        if isinstance(given, bool):
            chosen = copy.deepcopy(el.get("options", [])) if given else []
        else:
            chosen = [option_by_value(el, g) for g in given or []]
        return {"type": kind, "selected_options": chosen}
    return {"type": kind, "value": given}


def view_state(
    view: dict[str, Any], values: dict[str, dict[str, Any]], partial: bool = False
) -> dict[str, dict[str, Any]]:
    """Slack's view.state.values for this submission, from {block_id: {action_id: value}}
    (``partial``: the state while the person is still filling the form in, in a ``block_actions``
    of the view, where a required input may still be empty)."""
    inputs = {
        (b.get("block_id"), b["element"].get("action_id")): (b, b["element"])
        for b in view.get("blocks", [])
        if b.get("type") == "input" and isinstance(b.get("element"), dict)
    }
    for block_id, by_action in values.items():
        for action_id in by_action:
            if (block_id, action_id) not in inputs:
                raise _err(f"view {view['id']} has no input block {block_id!r} with action_id {action_id!r}")
    state: dict[str, dict[str, Any]] = {}
    for (block_id, action_id), (block, el) in inputs.items():
        given = values.get(block_id, {}).get(action_id)
        if (
            not partial
            and given in (None, "", [], False)
            and not block.get("optional", False)
            and el.get("type") != "checkboxes"
        ):
            raise _err(f"required input {block_id!r}/{action_id!r} left empty (Slack would not submit)")
        state.setdefault(block_id, {})[action_id] = element_state(el, given)
    return state


def input_action(el: dict[str, Any], block_id: str, action_ts: str, given: Any) -> dict[str, Any]:
    """The ``actions`` entry Slack sends when an input of a block with ``dispatch_action`` changes:
    the element's value as its state holds it."""
    state = element_state(el, given)
    return {
        "type": state.pop("type"),
        "block_id": block_id,
        "action_id": el["action_id"],
        "action_ts": action_ts,
        **state,
    }


def preserved_state(old: dict[str, Any], new_blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What views.update keeps of the person's input: the values of the input blocks whose
    ``block_id`` and element ``action_id`` the new view still has (Slack: "preserve input entry")."""
    values = (old.get("state") or {}).get("values") or {}
    kept: dict[str, dict[str, Any]] = {}
    for b in new_blocks:
        el = b.get("element")
        if b.get("type") != "input" or not isinstance(el, dict):
            continue
        value = values.get(b.get("block_id"), {}).get(el.get("action_id"))
        if value is not None and value.get("type") == el.get("type"):
            kept.setdefault(b["block_id"], {})[el["action_id"]] = copy.deepcopy(value)
    return kept
