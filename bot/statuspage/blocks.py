"""The publish form (`/incident statuspage`), its parsing, and the resolve prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import DispatchActionConfig
from slack_sdk.models.blocks.block_elements import StaticMultiSelectElement
from slack_sdk.models.views import View

from bot.slack.text import escape, strip_control
from bot.statuspage.config import IMPACT_LABELS, IMPACTS, OPERATIONAL, STATE_LABELS, STATES, StatuspageConfig
from storage.models import Incident, PublicIncident

PUBLISH_CALLBACK = "statuspage_publish"
ACTION_PREVIEW = "statuspage_preview"  # every input of the form: a change asks for a fresh preview
IMPACT_BLOCK = "impact:"  # + component id: that component's impact
DEFAULT_IMPACT = "partial_outage"
ACTION_RESOLVE_PUBLIC = "statuspage_resolve"
TITLE_MAX = 150
MESSAGE_MAX = 2000
RESOLVED_MESSAGE = "This incident has been resolved."


@dataclass(frozen=True)
class PublicForm:
    title: str
    state: str
    message: str
    impacts: dict[str, str]  # every component id → its impact (unaffected: operational)


@dataclass(frozen=True)
class Draft:
    """The form as filled in so far (a preview's input: nothing is checked yet)."""

    title: str
    state: str
    message: str
    chosen: tuple[str, ...]  # component ids, in the config's order
    impacts: dict[str, str]  # chosen component id → its impact


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=label)


def _impact_block(cid: str) -> str:
    return f"{IMPACT_BLOCK}{cid}"


def _dispatching(block_id: str, label: str, element: Any, optional: bool = False) -> InputBlock:
    """An input whose every change asks the bot for a fresh preview (``ACTION_PREVIEW``)."""
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=element,
        optional=optional,
        dispatch_action=True,
    )


def publish_modal(
    incident: Incident,
    config: StatuspageConfig,
    current: PublicIncident | None,
    draft: Draft | None = None,
    preview: str = "",
) -> View:
    """Public title, state, the affected components with an impact each, the message, and a
    preview of the public page. Nothing is prefilled from the incident: public text is written for
    the public. ``draft``: the form as filled in so far (the preview's update keeps it)."""
    impacts = current.impacts if current else {}
    if draft is None:
        chosen = [c.id for c in config.components if impacts.get(c.id, OPERATIONAL) != OPERATIONAL]
        chosen_impacts = {cid: impacts[cid] for cid in chosen}
    else:
        chosen, chosen_impacts = list(draft.chosen), draft.impacts
    comp_options = [_option(c.id, f"{c.group} · {c.name}" if c.group else c.name) for c in config.components]
    note = (
        "This incident is private: what you publish here never reaches the public status page."
        if incident.is_private
        else "Shown on the public status page and its feed exactly as written. "
        "Never paste internal names, people or channels."
    )
    state_options = [_option(s, STATE_LABELS[s]) for s in STATES]
    impact_options = [_option(i, IMPACT_LABELS[i]) for i in IMPACTS if i != OPERATIONAL]
    typing = DispatchActionConfig(trigger_actions_on=["on_character_entered"])
    state = draft.state if draft and draft.state in STATES else (current.state if current else STATES[0])
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=escape(note))]),
        _dispatching(
            "title",
            "Public title",
            PlainTextInputElement(
                action_id=ACTION_PREVIEW,
                max_length=TITLE_MAX,
                initial_value=(draft.title if draft else current.title if current else None) or None,
                placeholder=PlainTextObject(text="e.g. Some customers cannot sign in"),
                dispatch_action_config=typing,
            ),
        ),
        _dispatching(
            "state",
            "State",
            StaticSelectElement(
                action_id=ACTION_PREVIEW,
                options=state_options,
                initial_option=state_options[STATES.index(state)],
            ),
        ),
        _dispatching(
            "components",
            "Affected components",
            StaticMultiSelectElement(
                action_id=ACTION_PREVIEW,
                options=comp_options,
                initial_options=[o for o in comp_options if o.value in set(chosen)] or None,
            ),
            optional=True,
        ),
    ]
    for c in config.components:
        if c.id not in chosen:
            continue
        level = chosen_impacts.get(c.id, DEFAULT_IMPACT)
        blocks.append(
            _dispatching(
                _impact_block(c.id),
                f"Impact on {c.name}"[:150],
                StaticSelectElement(
                    action_id=ACTION_PREVIEW,
                    options=impact_options,
                    initial_option=next(
                        (o for o in impact_options if o.value == level),
                        impact_options[IMPACTS.index(DEFAULT_IMPACT) - 1],
                    ),
                ),
            )
        )
    blocks += [
        _dispatching(
            "message",
            "Message to the public",
            PlainTextInputElement(
                action_id=ACTION_PREVIEW,
                multiline=True,
                max_length=MESSAGE_MAX,
                initial_value=(draft.message if draft else None) or None,
                dispatch_action_config=typing,
            ),
        ),
        DividerBlock(),
        SectionBlock(
            block_id="preview",
            text=MarkdownTextObject(
                text=preview or "_The preview of the public page appears as you fill the form in._"
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=PUBLISH_CALLBACK,
        title=PlainTextObject(text="Status page update"),
        submit=PlainTextObject(text="Publish"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    )


def _first(values: dict[str, Any], block: str) -> dict[str, Any]:
    """The one element's state in ``block`` (whatever its action id), or {}."""
    found = next(iter((values.get(block) or {}).values()), None)
    return found if isinstance(found, dict) else {}


def read_draft(values: dict[str, Any], config: StatuspageConfig) -> Draft:
    """The form's ``state.values`` as filled in so far: unknown options and components dropped."""

    def text(block: str, keep_newlines: bool = True) -> str:
        typed = str(_first(values, block).get("value") or "")
        return strip_control(typed, keep_newlines=keep_newlines).strip()  # the feed is XML: no controls

    def selected(block: str) -> str:
        option = _first(values, block).get("selected_option") or {}
        return str(option.get("value") or "") if isinstance(option, dict) else ""

    options = _first(values, "components").get("selected_options") or []
    picked = {str(o.get("value")) for o in options if isinstance(o, dict)}
    chosen = tuple(c.id for c in config.components if c.id in picked)
    impacts = {}
    for cid in chosen:
        level = selected(_impact_block(cid))
        if level in IMPACTS and level != OPERATIONAL:
            impacts[cid] = level
    return Draft(
        title=text("title", keep_newlines=False),
        state=selected("state"),
        message=text("message"),
        chosen=chosen,
        impacts=impacts,
    )


def parse_form(values: dict[str, Any], config: StatuspageConfig) -> PublicForm | dict[str, str]:
    """The submitted form, or Slack's per-block errors. Each chosen component needs its impact; a
    resolved update clears every impact."""
    draft = read_draft(values, config)
    options = _first(values, "components").get("selected_options") or []
    picked = {str(o.get("value")) for o in options if isinstance(o, dict)}
    errors: dict[str, str] = {}
    if not draft.title:
        errors["title"] = "Give the public a title."
    elif len(draft.title) > TITLE_MAX:
        errors["title"] = f"At most {TITLE_MAX} characters."
    if not draft.message:
        errors["message"] = "Tell the public what is happening."
    elif len(draft.message) > MESSAGE_MAX:
        errors["message"] = f"At most {MESSAGE_MAX} characters."
    if draft.state not in STATES:
        errors["state"] = "Choose a state."
    if picked - {c.id for c in config.components}:
        errors["components"] = "A component is no longer configured; open the form again."
    elif draft.state != "resolved" and set(draft.chosen) - set(draft.impacts):
        names = [c.name for c in config.components if c.id in set(draft.chosen) - set(draft.impacts)]
        errors["components"] = f"Choose the impact on {', '.join(names)} (a choice per component below)."
    if errors:
        return errors
    return PublicForm(
        title=draft.title,
        state=draft.state,
        message=draft.message,
        impacts={
            c.id: draft.impacts[c.id] if draft.state != "resolved" and c.id in draft.chosen else OPERATIONAL
            for c in sorted(config.components, key=lambda c: c.id)
        },
    )


def resolve_prompt(current: PublicIncident) -> list[Block]:
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":globe_with_meridians: The public status page still shows *{escape(current.title)}* "
                f"as {STATE_LABELS.get(current.state, current.state).lower()}. Resolve it there too?"
            )
        ),
        ActionsBlock(
            block_id="statuspage_prompt",
            elements=[
                ButtonElement(
                    action_id=ACTION_RESOLVE_PUBLIC,
                    text=PlainTextObject(text="Resolve on the status page"),
                    value=str(current.id),
                    style="primary",
                )
            ],
        ),
    ]
