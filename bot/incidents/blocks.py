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

from bot.incidents.fields import ShownField
from bot.incidents.types import DEFAULT_TYPE
from bot.incidents.vocabulary import SEVERITIES, STATUS_ORDER, status_label
from bot.incidents.vocabulary import incident_ref as incident_ref  # re-exported: cards name incidents
from bot.incidents.vocabulary import severity_text as severity_text
from bot.slack.text import clipped, escape, one_line
from storage.models import Incident

DECLARE_CALLBACK = "declare_incident"
ACTION_STATUS = "incident_set_status"
ACTION_SEVERITY = "incident_set_severity"
ACTION_LEAD = "incident_assign_lead"
ACTION_UPDATE = "incident_post_update"
ACTION_RESOLVE = "incident_resolve"
ACTION_CATCHUP = "incident_catchup"  # answered by bot.recall: the catch-up, only to the clicker
ACTION_STATUSPAGE = "incident_statuspage"  # answered by bot.statuspage: the publish form
ACTION_FIELDS = "incident_set_fields"  # the type's custom fields form (bot.incidents.field_forms)
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


def summary_card(
    incident: Incident,
    lead: str | None,
    roles: dict[str, str] | None = None,
    shown: list[ShownField] | None = None,
    status_page: bool = False,
    fields_button: bool = False,
) -> list[Block]:
    """The incident's card; ``status_page`` (components are configured) adds a "Status page" button,
    ``fields_button`` (its type has custom fields) a "Set fields" one."""
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
    custom = [
        MarkdownTextObject(text=f"*{escape(one_line(f.label, 80))}*\n{clipped(f.slack, 1900)}")
        for f in shown or []
    ]
    if incident.incident_type != DEFAULT_TYPE:
        custom.insert(0, MarkdownTextObject(text=f"*Type*\n{escape(incident.incident_type)}"))
    if custom:
        blocks.append(SectionBlock(block_id="incident_fields", fields=custom[:10]))
    if incident.summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=escape(clipped(incident.summary, 2900)))))
    if not incident.is_closed:
        extra: list[ButtonElement] = []
        if fields_button:
            extra.append(ButtonElement(action_id=ACTION_FIELDS, text=PlainTextObject(text="Set fields")))
        if status_page:
            extra.append(ButtonElement(action_id=ACTION_STATUSPAGE, text=PlainTextObject(text="Status page")))
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
                    ButtonElement(action_id=ACTION_CATCHUP, text=PlainTextObject(text="Catch me up")),
                    *extra,
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


def declare_modal(
    title: str | None,
    severity: str,
    types: list[tuple[str, str]] | None = None,
    field_inputs: list[Block] | None = None,
) -> View:
    """The declare form; ``types`` (name, description), when configured, adds a type select;
    ``field_inputs`` are the first type's fields required at declare."""
    sev_options = _severity_options()
    initial = next(o for o in sev_options if o.value == severity)
    type_block: list[Block] = []
    if types:
        type_options = [
            Option(value=name, text=one_line(name, 75), description=one_line(about, 75) if about else None)
            for name, about in types
        ][:100]
        type_block.append(
            InputBlock(
                block_id="type",
                label=PlainTextObject(text="Type"),
                element=StaticSelectElement(
                    action_id="value", options=type_options, initial_option=type_options[0]
                ),
            )
        )
    return View(
        type="modal",
        callback_id=DECLARE_CALLBACK,
        title=PlainTextObject(text="Declare an incident"),
        submit=PlainTextObject(text="Declare"),
        close=PlainTextObject(text="Cancel"),
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
            *type_block,
            *(field_inputs or []),
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


def update_modal(incident: Incident, initial: str | None = None) -> View:
    """The status-update form (``initial``: a draft to start from, e.g. the assistant's)."""
    return View(
        type="modal",
        callback_id=UPDATE_CALLBACK,
        title=PlainTextObject(text="Post a status update"),
        submit=PlainTextObject(text="Post"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            InputBlock(
                block_id="text",
                label=PlainTextObject(text=f"Update for {incident_ref(incident)}"),
                element=PlainTextInputElement(
                    action_id="value", multiline=True, max_length=2900, initial_value=initial or None
                ),
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
