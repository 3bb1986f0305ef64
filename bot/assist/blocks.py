"""What the person who asked sees: the draft (only to them), labelled as the model's, with Use /
Edit / Dismiss; nothing is posted until they choose."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.assist.service import Draft

ACTION_USE = "assist_use"
ACTION_EDIT = "assist_edit"
ACTION_DISMISS = "assist_dismiss"
TITLES = {"summary": "Summary", "status_update": "Status update draft"}


def draft_text(ref: str, draft: Draft) -> str:
    return f"{TITLES[draft.kind]} of {ref}, drafted by the assistant: {draft.text}"


def draft_blocks(ref: str, draft: Draft) -> list[Block]:
    note = f"Drafted by the assistant from {ref}'s record ({draft.prompt}); check it before you use it."
    if draft.dropped:
        note += f" {len(draft.dropped)} links or mentions not in the record were left out."
    buttons = [
        ButtonElement(action_id=ACTION_USE, text=PlainTextObject(text="Use as status update"), value=draft.text, style="primary"),
        ButtonElement(action_id=ACTION_EDIT, text=PlainTextObject(text="Edit"), value=draft.text),
        ButtonElement(action_id=ACTION_DISMISS, text=PlainTextObject(text="Dismiss"), value="dismiss"),
    ]  # fmt: skip
    return [
        SectionBlock(text=MarkdownTextObject(text=f"*{TITLES[draft.kind]} of {ref}*\n{draft.text}")),
        ContextBlock(elements=[MarkdownTextObject(text=note)]),
        ActionsBlock(elements=buttons),
    ]
