"""What a person sees: a Block Kit view (an App Home tab, a modal) or message text as readable
plain text, with mentions as names (``<@U…>`` → ``@alice``), links as their labels and Slack's
entities decoded. Pure functions over the workspace's names."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_MARKUP = re.compile(r"<([^<>]+)>")
# *bold*, _italic_, ~strike~ as Slack reads them: markers at word edges, on one line.
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^\n]*?\S)\1(?![\w*_~])")
RULE = "─" * 40


@dataclass(frozen=True)
class Names:
    """Display names by id: users (``@name``), channels (``#name``) and user groups (``@handle``)."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)


def _markup(inner: str, names: Names) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (names.users.get(target[1:]) or label or target[1:])
    if target.startswith("#"):
        return "#" + (names.channels.get(target[1:]) or label or target[1:])
    if target.startswith("!subteam^"):
        sid = target.removeprefix("!subteam^")
        return "@" + (names.groups.get(sid) or label.lstrip("@") or sid)
    if target.startswith("!date^"):
        return label or target
    if target.startswith("!"):
        return "@" + target[1:]
    return f"{label} ({target})" if label and label != target else target


def text(raw: str, names: Names) -> str:
    """Slack message text (mrkdwn markup, emphasis, entities) as a person reads it."""
    plain = _EMPHASIS.sub(lambda m: m.group(2), raw)
    return html.unescape(_MARKUP.sub(lambda m: _markup(m.group(1), names), plain))


def _obj_text(obj: Any, names: Names) -> str:
    if not isinstance(obj, dict):
        return ""
    raw = str(obj.get("text", ""))
    return text(raw, names) if obj.get("type") == "mrkdwn" else html.unescape(raw)


def _element(el: dict[str, Any], names: Names) -> str:
    kind = el.get("type")
    if kind == "button":
        label = f"[ {_obj_text(el.get('text'), names)} ]"
        return f"{label} -> {el['url']}" if el.get("url") else label
    if kind == "image":
        return f"[image: {el.get('alt_text', '')}]"
    if kind in ("mrkdwn", "plain_text"):
        return _obj_text(el, names)
    placeholder = _obj_text(el.get("placeholder"), names)
    return f"[{placeholder or kind} ▾]"


def _rich(elements: Any, names: Names) -> str:
    out: list[str] = []
    for el in elements if isinstance(elements, list) else []:
        if not isinstance(el, dict):
            continue
        kind = el.get("type")
        if kind == "text":
            out.append(str(el.get("text", "")))
        elif kind == "link":
            out.append(str(el.get("text") or el.get("url", "")))
        elif kind == "user":
            out.append("@" + names.users.get(str(el.get("user_id")), str(el.get("user_id"))))
        elif kind == "channel":
            out.append("#" + names.channels.get(str(el.get("channel_id")), str(el.get("channel_id"))))
        elif kind == "emoji":
            out.append(f":{el.get('name', '')}:")
        elif "elements" in el:
            prefix = "• " if kind == "rich_text_list" else ""
            out.append(prefix + _rich(el["elements"], names))
    return "".join(out)


def block_lines(block: dict[str, Any], names: Names) -> list[str]:
    kind = block.get("type")
    lines: list[str] = []
    if kind == "header":
        title = _obj_text(block.get("text"), names)
        lines += [title.upper(), "=" * len(title)]
    elif kind == "section":
        if block.get("text"):
            lines.append(_obj_text(block["text"], names))
        lines += [_obj_text(f, names) for f in block.get("fields", [])]
        if isinstance(block.get("accessory"), dict):
            lines.append(_element(block["accessory"], names))
    elif kind == "divider":
        lines.append(RULE)
    elif kind in ("context", "actions"):
        parts = [_element(e, names) for e in block.get("elements", []) if isinstance(e, dict)]
        lines.append(("  " if kind == "actions" else "") + "  ".join(p for p in parts if p))
    elif kind == "input":
        label = _obj_text(block.get("label"), names)
        element = block.get("element")
        lines.append(f"{label}: {_element(element, names) if isinstance(element, dict) else ''}")
    elif kind == "image":
        lines.append(f"[image: {block.get('alt_text', '')}]")
    elif kind == "rich_text":
        lines.append(_rich(block.get("elements"), names))
    else:
        lines.append(f"[{kind} block]")
    return [line for chunk in lines for line in chunk.split("\n")]


def view_text(view: Mapping[str, Any], names: Names) -> str:
    """A view (App Home or modal) top to bottom, one block after another."""
    lines: list[str] = []
    title = _obj_text(view.get("title"), names) if view.get("title") else ""
    if title:
        lines += [title, ""]
    for block in view.get("blocks", []):
        if isinstance(block, dict):
            lines += block_lines(block, names)
    return "\n".join(lines).rstrip() + "\n"
