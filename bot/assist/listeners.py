"""`/incident assist [summary|update]` and the draft's Use / Edit / Dismiss buttons.

The draft is ephemeral; only a person's click posts it (Use: the status-update path of
`/incident update`), opens it in the status-update form (Edit), or deletes it (Dismiss). A refusal
(off, private) or a failure of the endpoint (timeout, error) is a clear ephemeral line: the
command and everything else go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.assist import blocks
from bot.assist.client import AssistUnavailable
from bot.assist.service import AssistRefused, AssistService
from bot.errors import UsageError
from bot.incidents import blocks as incident_blocks
from bot.incidents.access import Access, Action
from bot.incidents.card_click import card_click, click_key
from bot.incidents.commands import parse_update
from bot.incidents.entry_points import Listeners
from bot.incidents.lifecycle import Actor, LifecycleService
from bot.incidents.vocabulary import incident_ref
from bot.present.pages import Pages
from bot.slack.client import slack_error
from bot.slack.commands import CommandContext, Subcommand
from bot.slack.views import open_view
from storage.repository import Repository

log = logging.getLogger(__name__)

USAGE = "/incident assist [summary | update]"
KINDS = {"": "summary", "summary": "summary", "update": "status_update", "status": "status_update",
         "status-update": "status_update", "draft": "status_update"}  # fmt: skip


@dataclass(frozen=True)
class Ask:
    kind: str  # summary | status_update


def parse_assist(rest: str) -> Ask:
    word = rest.strip().lower()
    if word not in KINDS:
        raise UsageError("Ask for a `summary` or an `update` (a status-update draft).", USAGE)
    return Ask(KINDS[word])


def unavailable(reason: str) -> str:
    return (
        f"The assistant could not draft this: {reason}. Nothing was posted; everything else works as usual."
    )


def assist_command(ctx: CommandContext, args: Ask) -> None:
    assert ctx.incident is not None, "the dispatcher refuses non-incident channels"
    assist = cast(AssistService, ctx.context["assist"])
    try:
        draft = assist.draft(ctx.incident, args.kind)
    except AssistRefused as exc:
        ctx.reply(exc.reason)
        return
    except AssistUnavailable as exc:
        ctx.reply(unavailable(exc.reason))
        return
    ref = incident_ref(ctx.incident)
    ctx.respond(
        text=blocks.draft_text(ref, draft),
        blocks=[b.to_dict() for b in blocks.draft_blocks(ref, draft)],
        response_type="ephemeral",
        replace_original=False,
    )


COMMANDS = (
    Subcommand(
        "assist", USAGE,
        "A summary or a status-update draft from the record, by the configured model (only to you; you choose to use it).",
        parse_assist, assist_command, action=Action.READ,
    ),
)  # fmt: skip


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value")
    return value if isinstance(value, str) else ""


def on_use(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    repo: Repository,
    access: Access,
    lifecycle: LifecycleService,
) -> None:
    """Use: the draft, as shown, posted as a status update (the `/incident update` path)."""
    ack()
    with card_click(body, respond, repo, access, Action.CHANGE) as incident:
        if incident is None:
            return
        try:
            update = parse_update(_value(body))
        except UsageError as exc:
            respond(text=exc.human(), response_type="ephemeral", replace_original=False)
            return
        outcome = lifecycle.post_update(incident, update.text, Actor(body["user"]["id"], click_key(body)))
        if outcome.changed:
            respond(text=f"Posted as a status update of {incident_ref(incident)}.", replace_original=True)
        if outcome.reply_text():
            respond(text=outcome.reply_text(), response_type="ephemeral", replace_original=False)


def on_edit(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    repo: Repository,
    access: Access,
    client: WebClient,
) -> None:
    """Edit: the status-update form, prefilled with the draft; its Post is the form's usual one."""
    ack()
    with card_click(body, respond, repo, access, Action.CHANGE) as incident:
        if incident is None:
            return
        if incident.is_closed:
            respond(
                text=f"*{incident_ref(incident)}* is closed.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        pages = Pages(client)  # the form is plain text: mentions as names, links as their words
        pages.learn([_value(body)])
        view = incident_blocks.update_modal(incident, initial=pages.plain(_value(body)))
        try:
            open_view(
                client, repo, body.get("trigger_id", ""), view, body["user"]["id"], incident_id=incident.id
            )
        except Exception as exc:
            respond(
                text=f"Could not open the form ({slack_error(exc)}); `/incident update` works too.",
                response_type="ephemeral",
                replace_original=False,
            )


def on_dismiss(ack: Ack, respond: Respond) -> None:
    """Dismiss: the draft goes away; nothing was posted."""
    ack()
    respond(delete_original=True)


def register(on: Listeners) -> None:
    on.action(blocks.ACTION_USE, Action.CHANGE)(on_use)
    on.action(blocks.ACTION_EDIT, Action.CHANGE)(on_edit)
    on.action(blocks.ACTION_DISMISS, Action.READ)(on_dismiss)
