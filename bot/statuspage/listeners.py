"""`/incident statuspage` (the publish form), its submission, and the resolve prompt's button."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.errors import UsageError
from bot.incidents.access import Access, Action
from bot.incidents.blocks import ACTION_STATUSPAGE
from bot.incidents.card_click import card_click, click_key, form_submit, view_key
from bot.incidents.entry_points import Listeners
from bot.slack.client import slack_error, tell
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.slack.deliveries import delivery
from bot.slack.text import escape
from bot.slack.views import NOT_OPEN, incident_of_view, open_view, target_of
from bot.statuspage.blocks import (
    ACTION_PREVIEW,
    ACTION_RESOLVE_PUBLIC,
    PUBLISH_CALLBACK,
    PublicForm,
    parse_form,
    publish_modal,
    read_draft,
)
from bot.statuspage.maintenance import listing
from bot.statuspage.maintenance_form import MAINTENANCE_CALLBACK, maintenance_modal, read_maintenance
from bot.statuspage.service import StatuspageService
from storage.repository import Repository

log = logging.getLogger(__name__)

PROMPT_GONE = "This prompt's incident no longer exists."


@dataclass(frozen=True)
class OpenForm:
    pass


def parse_statuspage(rest: str) -> OpenForm:
    if rest.strip():
        raise UsageError("`/incident statuspage` takes no arguments: it opens the form.")
    return OpenForm()


def statuspage_command(ctx: CommandContext, _args: OpenForm) -> None:
    """The dispatcher has checked ``Action.STATUSPAGE`` (``[permissions] statuspage``)."""
    assert ctx.incident is not None
    service = cast(StatuspageService, ctx.context["statuspage"])
    if not service.enabled:
        ctx.reply("The status page is off: list its components under `[statuspage]` in the config.")
        return
    repo = cast(Repository, ctx.context["repo"])
    view = publish_modal(ctx.incident, service.config, repo.public_incident(ctx.incident.id or 0))
    try:
        open_view(
            cast(WebClient, ctx.context["client"]),
            repo,
            ctx.trigger_id,
            view,
            ctx.user_id,
            incident_id=ctx.incident.id,
        )
    except Exception as exc:
        ctx.reply(f"Could not open the form ({slack_error(exc)}); try again.")


def on_publish_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    access: Access,
    client: WebClient,
    statuspage: StatuspageService,
) -> None:
    form = parse_form(view.get("state", {}).get("values", {}), statuspage.config)
    if not isinstance(form, PublicForm):
        ack(response_action="errors", errors=form)
        return
    ack()
    user = body["user"]["id"]
    with form_submit(body, view, context, repo, access, client, Action.STATUSPAGE) as incident:
        if incident is None:
            return
        answer = statuspage.publish(incident, form, user, view_key(view))
        if answer:
            tell(client, user, answer, incident.channel_id)


def on_preview(
    ack: Ack,
    body: dict[str, Any],
    repo: Repository,
    access: Access,
    client: WebClient,
    statuspage: StatuspageService,
) -> None:
    """An input of the form changed: the form again (what was typed is kept: same block and
    action ids) with the public page as this update would leave it. A stale change loses to a
    newer one (``hash``); nothing is recorded."""
    ack()
    user = body["user"]["id"]
    view = body.get("view") or {}
    if view.get("callback_id") != PUBLISH_CALLBACK:
        return
    incident = incident_of_view(repo, body, view)
    if incident is None or access.check(user, Action.STATUSPAGE, incident):
        return  # the submission says why; a preview shows nothing it may not
    draft = read_draft((view.get("state") or {}).get("values") or {}, statuspage.config)
    updated = publish_modal(
        incident,
        statuspage.config,
        repo.public_incident(incident.id or 0),
        draft=draft,
        preview=statuspage.preview(incident, draft),
    )
    updated.external_id = view.get("external_id")  # the bot's record of what the form is for
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
    except Exception as exc:
        if "hash_conflict" not in slack_error(exc):  # a newer change updates it
            log.warning("status page preview not shown: %s", slack_error(exc))


def on_statuspage_button(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    repo: Repository,
    access: Access,
    client: WebClient,
    statuspage: StatuspageService,
) -> None:
    """The card's "Status page": the same form as `/incident statuspage`."""
    ack()
    user = body["user"]["id"]
    with card_click(body, respond, repo, access, Action.STATUSPAGE) as incident:
        if incident is None:
            return
        if not statuspage.enabled:
            respond(
                text="The status page is off: list its components under `[statuspage]` in the config.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        view = publish_modal(incident, statuspage.config, repo.public_incident(incident.id or 0))
        try:
            open_view(client, repo, body.get("trigger_id", ""), view, user, incident_id=incident.id)
        except Exception as exc:
            respond(
                text=f"Could not open the form ({slack_error(exc)}); try again.",
                response_type="ephemeral",
                replace_original=False,
            )


def on_resolve_public(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    repo: Repository,
    access: Access,
    statuspage: StatuspageService,
) -> None:
    ack()
    with card_click(body, respond, repo, access, Action.STATUSPAGE, gone=PROMPT_GONE) as incident:
        if incident is None:
            return
        answer = statuspage.resolve_public(incident, body["user"]["id"], click_key(body))
        if answer:
            respond(text=answer, response_type="ephemeral", replace_original=False)


def parse_maintenance(rest: str) -> OpenForm:
    if rest.strip():
        raise UsageError("`/incident maintenance` takes no arguments: it opens the form.")
    return OpenForm()


def maintenance_command(ctx: CommandContext, _args: OpenForm) -> None:
    """The form scheduling a maintenance window (``Action.STATUSPAGE``: not a guest)."""
    service = cast(StatuspageService, ctx.context["statuspage"])
    if not service.enabled:
        ctx.reply("The status page is off: list its components under `[statuspage]` in the config.")
        return
    repo = cast(Repository, ctx.context["repo"])
    client = cast(WebClient, ctx.context["client"])
    try:
        open_view(
            client,
            repo,
            ctx.trigger_id,
            maintenance_modal(service.config),
            ctx.user_id,
            channel_id=ctx.channel_id,
        )
    except Exception as exc:
        ctx.reply(f"Could not open the form ({slack_error(exc)}); try again.")


def on_maintenance_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    repo: Repository,
    access: Access,
    client: WebClient,
    statuspage: StatuspageService,
) -> None:
    """Checked as the CLI checks it (errors under their fields), then stored once per delivery."""
    found = read_maintenance(view.get("state", {}).get("values", {}), statuspage.config, statuspage.clock())
    if isinstance(found, dict):
        ack(response_action="errors", errors=found)
        return
    ack()
    user = body["user"]["id"]
    with delivery(repo, f"view:{view['id']}", kind="view") as mine:
        if not mine:
            return
        target = target_of(repo, body, view)
        if target is None:
            tell(client, user, NOT_OPEN)
            return
        refusal = access.check(user, Action.STATUSPAGE, None)
        if refusal:
            tell(client, user, refusal)
            return
        stored = repo.add_maintenance(found)
        statuspage.public.forget()
        log.info("%s scheduled maintenance #%s", user, stored.id)
        tell(
            client, user, f"Scheduled: {escape(listing([stored], statuspage.clock())[0])}", target.channel_id
        )


COMMANDS = (
    Subcommand(
        "statuspage",
        "/incident statuspage",
        "Publish an update to the public status page (opens a form).",
        parse_statuspage,
        statuspage_command,
        Where.INCIDENT,
        aliases=("status-page",),
        offered=lambda context: cast(StatuspageService, context["statuspage"]).enabled,
        action=Action.STATUSPAGE,
    ),
    Subcommand(
        "maintenance",
        "/incident maintenance",
        "Schedule a maintenance window on the public status page (opens a form).",
        parse_maintenance,
        maintenance_command,
        Where.ANYWHERE,
        offered=lambda context: cast(StatuspageService, context["statuspage"]).enabled,
        action=Action.STATUSPAGE,
    ),
)


def register(on: Listeners) -> None:
    on.view(PUBLISH_CALLBACK, Action.STATUSPAGE)(on_publish_submit)
    on.action(ACTION_RESOLVE_PUBLIC, Action.STATUSPAGE)(on_resolve_public)
    on.action(ACTION_PREVIEW, Action.STATUSPAGE)(on_preview)
    on.view(MAINTENANCE_CALLBACK, Action.STATUSPAGE)(on_maintenance_submit)
    on.action(ACTION_STATUSPAGE, Action.STATUSPAGE)(on_statuspage_button)
