"""Checklists (pure): a posted checklist as a Slack message of checkboxes, which item a click
changed, and the open items a close is refused for.

A checklist message has one checkbox group per ten items (Slack's limit for one element), each in
its own actions block ``checklist_<n>``; an option's value is the item's position. A click sends
the whole group's selection: the item it changed is the difference from the group's state in the
message as the person saw it (``message.blocks``), so a stale view never unticks someone else's
item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot.slack.text import escape, one_line
from storage.models import ChecklistItemState, IncidentChecklist

TICK_ACTION = "checklist_tick"
BLOCK_PREFIX = "checklist_"
PER_GROUP = 10  # Slack's limit of options in one checkboxes element


@dataclass(frozen=True)
class Toggle:
    """One item a click ticked (``done``) or unticked."""

    position: int
    done: bool


def _description(item: ChecklistItemState, when: Callable[[datetime], str]) -> MarkdownTextObject | None:
    parts = []
    if item.required:
        parts.append("_required_")
    if item.role:
        parts.append(escape(item.role))
    if item.done_at is not None:
        parts.append(f"done by <@{item.done_by}> at {when(item.done_at)}")
    return MarkdownTextObject(text=" · ".join(parts)) if parts else None


def checklist_blocks(
    checklist: IncidentChecklist,
    items: Sequence[ChecklistItemState],
    when: Callable[[datetime], str],
    holder: str | None = None,
) -> list[Block]:
    """The checklist's message: its heading, its items as checkboxes (the done ones ticked), and
    how many are done. ``when`` formats a time; ``holder``: who held the checklist's role."""
    heading = f":clipboard: *{escape(one_line(checklist.heading, 150))}*"
    if checklist.role:
        heading += f" — for the {escape(checklist.role)}" + (f" (<@{holder}>)" if holder else "")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=heading))]
    for start in range(0, len(items), PER_GROUP):
        group = items[start : start + PER_GROUP]
        options = [
            Option(
                value=str(item.position),
                text=MarkdownTextObject(text=escape(item.text)),
                description=_description(item, when),
            )
            for item in group
        ]
        ticked = [o for o, item in zip(options, group, strict=True) if item.done_at is not None]
        blocks.append(
            ActionsBlock(
                block_id=f"{BLOCK_PREFIX}{start // PER_GROUP}",
                elements=[
                    CheckboxesElement(action_id=TICK_ACTION, options=options, initial_options=ticked or None)
                ],
            )
        )
    done = sum(1 for i in items if i.done_at is not None)
    open_required = sum(1 for i in items if i.required and i.done_at is None)
    summary = f"{done} of {len(items)} done"
    if open_required:
        summary += f" · {open_required} required still open (close waits for them)"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=summary)]))
    return blocks


def checklist_text(checklist: IncidentChecklist) -> str:
    """The message's notification text."""
    return f"Checklist: {escape(one_line(checklist.heading, 150))}"


def _values(options: Any) -> set[str]:
    return {str(o.get("value")) for o in options or [] if isinstance(o, dict)}


def toggles(body: dict[str, Any]) -> list[Toggle]:
    """What a checkboxes click changed: each option whose state differs between the message the
    person clicked on and the selection Slack sent."""
    action = next((a for a in body.get("actions") or [] if a.get("action_id") == TICK_ACTION), None)
    if action is None:
        return []
    block_id = action.get("block_id")
    shown: set[str] = set()
    for block in (body.get("message") or {}).get("blocks") or []:
        if block.get("block_id") == block_id:
            for el in block.get("elements") or []:
                if el.get("action_id") == TICK_ACTION:
                    shown = _values(el.get("initial_options"))
    selected = _values(action.get("selected_options"))
    changed = sorted(shown ^ selected, key=lambda v: (len(v), v))
    return [Toggle(int(v), v in selected) for v in changed if v.isdigit()]


def open_required(rows: Sequence[tuple[IncidentChecklist, ChecklistItemState]]) -> list[str]:
    """The required items not ticked, as people read them: “text” (checklist)."""
    return [
        f"“{escape(item.text)}” ({escape(checklist.heading)})"
        for checklist, item in rows
        if item.required and item.done_at is None
    ]


def open_items_refusal(names: list[str], doing: str) -> str:
    listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"Tick the required checklist items before you {doing}: {listed}. Nothing changed."
