"""Block Kit surfaces, built with slack_sdk.models so the limits are checked as we build."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.block_elements import CheckboxesElement
from slack_sdk.models.views import View

from bot.incidents.vocabulary import SEVERITIES, STATUS_ORDER, status_label
from bot.incidents.vocabulary import incident_ref as incident_ref  # re-exported: cards name incidents
from bot.incidents.vocabulary import severity_text as severity_text
from bot.slack.text import escape, one_line
from storage.models import Incident

DECLARE_CALLBACK = "declare_incident"
ACTION_STATUS = "incident_set_status"
ACTION_SEVERITY = "incident_set_severity"
ACTION_LEAD = "incident_assign_lead"
ACTION_UPDATE = "incident_post_update"
ACTION_RESOLVE = "incident_resolve"
UPDATE_CALLBACK = "incident_update"
RESOLVE_CALLBACK = "incident_resolve_form"
RESOLVE_FIELDS = (
    ("resolution_summary", "Resolution summary", False),
    ("root_cause", "Root cause", True),
    ("fix", "Fix", True),
    ("customer_impact", "Customer impact", True),
)


def _severity_options() -> list[Option]:
    return [Option(value=s, text=severity_text(s)) for s in SEVERITIES]


def _status_options() -> list[Option]:
    return [Option(value=s, text=status_label(s)) for s in STATUS_ORDER]


def summary_card(incident: Incident, lead: str | None, roles: dict[str, str] | None = None) -> list[Block]:
    ref = incident_ref(incident)
    header = one_line(f"{ref}: {incident.title}", 150)
    status = "Closed" if incident.is_closed else status_label(incident.status)
    fields = [
        MarkdownTextObject(text=f"*Severity*\n{severity_text(incident.severity)}"),
        MarkdownTextObject(text=f"*Status*\n{status}"),
        MarkdownTextObject(text=f"*Lead*\n{f'<@{lead}>' if lead else '_nobody yet_'}"),
        MarkdownTextObject(text=f"*Declared by*\n<@{incident.declarer_id}>"),
    ]
    fields += [
        MarkdownTextObject(text=f"*{escape(role.capitalize())}*\n<@{user}>")
        for role, user in (roles or {}).items()
        if role != "lead"
    ][:6]
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=header)), SectionBlock(fields=fields)]
    if incident.summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=escape(one_line(incident.summary, 2900)))))
    if not incident.is_closed:
        blocks.append(
            ActionsBlock(
                block_id="incident_actions",
                elements=[
                    StaticSelectElement(
                        action_id=ACTION_STATUS,
                        placeholder=PlainTextObject(text="Set status"),
                        options=_status_options(),
                    ),
                    StaticSelectElement(
                        action_id=ACTION_SEVERITY,
                        placeholder=PlainTextObject(text="Set severity"),
                        options=_severity_options(),
                    ),
                    UserSelectElement(action_id=ACTION_LEAD, placeholder=PlainTextObject(text="Assign lead")),
                    ButtonElement(action_id=ACTION_UPDATE, text=PlainTextObject(text="Post update")),
                    ButtonElement(
                        action_id=ACTION_RESOLVE, text=PlainTextObject(text="Resolve"), style="primary"
                    ),
                ],
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(text=f"{ref} · react with :pushpin: to add a message to the timeline")
            ]
        )
    )
    return blocks


def declare_modal(title: str | None, severity: str, private_metadata: str = "") -> View:
    sev_options = _severity_options()
    initial = next(o for o in sev_options if o.value == severity)
    return View(
        type="modal",
        callback_id=DECLARE_CALLBACK,
        title=PlainTextObject(text="Declare an incident"),
        submit=PlainTextObject(text="Declare"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=private_metadata,
        blocks=[
            InputBlock(
                block_id="title",
                label=PlainTextObject(text="Title"),
                element=PlainTextInputElement(action_id="value", max_length=150, initial_value=title or None),
            ),
            InputBlock(
                block_id="severity",
                label=PlainTextObject(text="Severity"),
                element=StaticSelectElement(action_id="value", options=sev_options, initial_option=initial),
            ),
            InputBlock(
                block_id="summary",
                label=PlainTextObject(text="What is happening?"),
                optional=True,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=3000),
            ),
            InputBlock(
                block_id="private",
                label=PlainTextObject(text="Visibility"),
                optional=True,
                element=CheckboxesElement(
                    action_id="value",
                    options=[Option(value="private", text="Private incident (invite-only channel)")],
                ),
            ),
        ],
    )


def update_modal(incident: Incident) -> View:
    return View(
        type="modal",
        callback_id=UPDATE_CALLBACK,
        title=PlainTextObject(text="Post a status update"),
        submit=PlainTextObject(text="Post"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=str(incident.id),
        blocks=[
            InputBlock(
                block_id="text",
                label=PlainTextObject(text=f"Update for {incident_ref(incident)}"),
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=2900),
            )
        ],
    )


def resolve_modal(incident: Incident) -> View:
    """Resolution summary, root cause, fix and customer impact, prefilled with what is known."""
    return View(
        type="modal",
        callback_id=RESOLVE_CALLBACK,
        title=PlainTextObject(text=f"Resolve {incident_ref(incident)}"),
        submit=PlainTextObject(text="Resolve"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=str(incident.id),
        blocks=[
            InputBlock(
                block_id=name,
                label=PlainTextObject(text=label),
                optional=optional,
                element=PlainTextInputElement(
                    action_id="value",
                    multiline=True,
                    max_length=2900,
                    initial_value=getattr(incident, name) or None,
                ),
            )
            for name, label, optional in RESOLVE_FIELDS
        ],
    )
