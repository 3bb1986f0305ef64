"""The `/incident maintenance` form: components, start and end (Slack's date-and-time pickers),
public title and message; read into the same request the CLI checks (``maintenance.window``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DateTimePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.blocks.block_elements import StaticMultiSelectElement
from slack_sdk.models.views import View

from bot.statuspage.config import StatuspageConfig
from bot.statuspage.maintenance import Problem, window
from storage.models import MaintenanceWindow

MAINTENANCE_CALLBACK = "statuspage_maintenance"
LABELS = {
    "components": "Components",
    "from": "Start",
    "to": "End",
    "title": "Public title",
    "message": "Message",
}


def maintenance_modal(config: StatuspageConfig) -> View:
    options = [
        Option(value=c.id, text=f"{c.group} · {c.name}" if c.group else c.name) for c in config.components
    ]

    def field(block: str, element: Any, optional: bool = False) -> InputBlock:
        return InputBlock(
            block_id=block, label=PlainTextObject(text=LABELS[block]), element=element, optional=optional
        )

    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Shown on the public status page as scheduled maintenance; while it runs its "
                    "components show _Under maintenance_ and their alerts are marked on the triage card."
                )
            ]
        ),
        field("components", StaticMultiSelectElement(action_id="value", options=options)),
        field("from", DateTimePickerElement(action_id="value")),
        field("to", DateTimePickerElement(action_id="value")),
        field(
            "title",
            PlainTextInputElement(
                action_id="value", max_length=200, placeholder=PlainTextObject(text="e.g. Database upgrade")
            ),
        ),
        field(
            "message",
            PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
            optional=True,
        ),
    ]
    return View(
        type="modal",
        callback_id=MAINTENANCE_CALLBACK,
        title=PlainTextObject(text="Schedule maintenance"),
        submit=PlainTextObject(text="Schedule"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    )


def _state(values: dict[str, Any], block: str) -> dict[str, Any]:
    found = (values.get(block) or {}).get("value")
    return found if isinstance(found, dict) else {}


def _iso(values: dict[str, Any], block: str) -> str:
    """A picker's Unix time as ISO 8601 in UTC ("" when not picked)."""
    picked = _state(values, block).get("selected_date_time")
    if not isinstance(picked, int | float) or isinstance(picked, bool):
        return ""
    return datetime.fromtimestamp(picked, UTC).isoformat()


def read_maintenance(
    values: dict[str, Any], config: StatuspageConfig, now: datetime
) -> MaintenanceWindow | dict[str, str]:
    """The window to store, or Slack's per-block errors."""
    chosen = [
        str(o.get("value"))
        for o in _state(values, "components").get("selected_options") or []
        if isinstance(o, dict)
    ]
    start, end = _iso(values, "from"), _iso(values, "to")
    if not start or not end:
        return {"from" if not start else "to": "Pick a date and time."}
    found = window(
        config,
        ",".join(chosen),
        start,
        end,
        str(_state(values, "title").get("value") or ""),
        str(_state(values, "message").get("value") or ""),
        now,
        names=LABELS,
    )
    if isinstance(found, Problem):
        return {found.field or "components": found.reason[:1].upper() + found.reason[1:] + "."}
    return found
