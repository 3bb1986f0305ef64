"""What people see in Slack: the "Create ticket" button under each action item, the ticket's
status in the item's thread, and the closing offer "Create tickets for all N action items"."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.followups.trackers import STATE_LABELS
from bot.slack.text import escape, one_line
from storage.models import TicketLink

CREATE = "followup_create"
CREATE_CONFIRMED = "followup_create_confirmed"
CREATE_ALL = "followup_create_all"
TRACKER_NAMES = {"github": "GitHub", "jira": "Jira"}


Message = tuple[str, list[dict[str, Any]]]  # (fallback text, blocks)


def _blocks(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def _with_button(text: str, button: ButtonElement, block_id: str | None = None) -> Message:
    """A line of mrkdwn with one button under it."""
    return text, _blocks(
        [SectionBlock(text=MarkdownTextObject(text=text)), ActionsBlock(block_id=block_id, elements=[button])]
    )


OFFER_PREFIX = ":memo: Action item recorded: "


def offer_text(item_text: str) -> str:
    """The offer's text: how the item's reply is found again in the channel's record, to become
    the ticket's status once the ticket is asked for from anywhere (not only its button)."""
    return f"{OFFER_PREFIX}{escape(one_line(item_text, 200))}"


def offer(event_id: int, item_text: str, tracker: str) -> Message:
    """The thread reply under a new action item."""
    text = offer_text(item_text)
    name = TRACKER_NAMES.get(tracker, tracker)
    button = ButtonElement(text=f"Create ticket in {name}", action_id=CREATE, value=str(event_id))
    return _with_button(text, button, f"followup:{event_id}")


def status(link: TicketLink, item_text: str) -> Message:
    """The item's ticket as it stands: created (with its URL), pending, or refused."""
    item = escape(one_line(item_text, 200))
    if link.key and link.url:
        state = STATE_LABELS.get(link.state, link.state)
        who = f", assigned to {escape(link.assignee)}" if link.assignee else ""
        verb = "Linked" if link.linked else "Ticket created"
        return notice(f":ticket: {verb}: <{link.url}|{escape(link.key)}> ({state}{who}) for: {item}")
    if link.state == "error":
        text = (
            f":warning: The ticket for “{item}” was not created: {escape(link.error or 'refused')}. "
            "Fix the follow-up settings, then press the button to try again."
        )
        button = ButtonElement(text="Try again", action_id=CREATE, value=str(link.event_id))
        return _with_button(text, button, f"followup-retry:{link.event_id}")
    why = f" ({escape(link.error)})" if link.error else ""
    text = (
        f":hourglass_flowing_sand: Ticket pending for “{item}”{why}. "
        f"It will be created in {TRACKER_NAMES.get(link.tracker, link.tracker)} automatically; nothing else waits for it."
    )
    return text, _blocks([ContextBlock(elements=[MarkdownTextObject(text=text)])])


def notice(text: str) -> Message:
    """A plain line; as a replacement it brings its own blocks, so a message's buttons go."""
    return text, _blocks([SectionBlock(text=MarkdownTextObject(text=text))])


def create_all(incident_id: int, count: int, ref: str) -> Message:
    noun = "action item" if count == 1 else "action items"
    text = f":memo: {ref} has {count} {noun} without a ticket."
    button = ButtonElement(
        text=f"Create tickets for all {count} {noun}",
        action_id=CREATE_ALL,
        value=str(incident_id),
        style="primary",
    )
    return _with_button(text, button, f"followup-all:{incident_id}")


def private_confirmation(event_id: int, ref: str, place: str) -> Message:
    text = (
        f":lock: {ref} is private and no private repository or project is configured. "
        f"The ticket would go to *{escape(place)}* with a neutral title and only links back to Slack "
        "(no channel content). Create it?"
    )
    button = ButtonElement(
        text="Create the ticket", action_id=CREATE_CONFIRMED, value=str(event_id), style="danger"
    )
    return _with_button(text, button)


def listing(rows: list[tuple[int, str, TicketLink | None]], ref: str) -> str:
    """`/incident followup list`: numbered items with their tickets."""
    if not rows:
        return f"{ref} has no action items yet. React with :memo: to a message to record one."
    lines = [f"Follow-ups of {ref}:"]  # ref is bold already (Slack has no nested bold)
    for n, text, link in rows:
        item = escape(one_line(text, 120))
        if link is None:
            ticket = "no ticket"
        elif link.key and link.url:
            ticket = f"<{link.url}|{escape(link.key)}> ({STATE_LABELS.get(link.state, link.state)})"
            if link.assignee:
                ticket += f", {escape(link.assignee)}"
        elif link.state == "error":
            ticket = f"not created: {escape(link.error or 'refused')}"
        else:
            ticket = "ticket pending"
        lines.append(f"{n}. {item} — {ticket}")
    lines.append(
        "`/incident followup create <n>|all` creates tickets; `/incident followup link <n> <url|key>` links one."
    )
    return "\n".join(lines)
