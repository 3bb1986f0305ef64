"""Incident listeners: the `/incident` subcommands of the lifecycle, the summary card's buttons,
and its modals. Module-level functions; the lifecycle service, the repository and the Slack
client come through Bolt's context (``bot.slack.app``), the delivery boundary claims each one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import UsageError
from bot.incidents import blocks
from bot.incidents.access import Access
from bot.incidents.commands import (
    AddNote,
    AssignRole,
    Close,
    Convert,
    ListOpen,
    PostUpdate,
    Reopen,
    Resolve,
    SetSeverity,
    SetStatus,
    SetTime,
    ShowTimeline,
    parse_close,
    parse_convert,
    parse_lead,
    parse_list,
    parse_note,
    parse_reopen,
    parse_resolve,
    parse_role,
    parse_severity_args,
    parse_status_args,
    parse_time_args,
    parse_timeline,
    parse_update,
    user_text,
)
from bot.incidents.lifecycle import Actor, LifecycleService, Outcome
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.slack.deliveries import delivery
from bot.slack.text import one_line
from storage.models import Incident
from storage.repository import NotFound, Repository

log = logging.getLogger(__name__)

ROLE_USAGE = "/incident role <role> @user"


def _lifecycle(ctx: CommandContext) -> LifecycleService:
    return cast(LifecycleService, ctx.context["lifecycle"])


def _actor(ctx: CommandContext) -> Actor:
    return Actor(ctx.user_id, ctx.dedupe_key)


def _incident(ctx: CommandContext) -> Incident:
    assert ctx.incident is not None, "the dispatcher refuses non-incident channels"
    return ctx.incident


def _answer(ctx: CommandContext, outcome: Outcome) -> None:
    text = outcome.reply_text()
    if text:
        ctx.reply(text)


def status_command(ctx: CommandContext, args: SetStatus) -> None:
    _answer(ctx, _lifecycle(ctx).set_status(_incident(ctx), args.status, _actor(ctx)))


def severity_command(ctx: CommandContext, args: SetSeverity) -> None:
    _answer(ctx, _lifecycle(ctx).set_severity(_incident(ctx), args.severity, _actor(ctx)))


def role_command(ctx: CommandContext, args: AssignRole) -> None:
    settings: Settings = ctx.context["settings"]
    roles = settings.config.roles
    if args.role not in roles:
        names = ", ".join(f"`{r}`" for r in roles)
        raise UsageError(f"Unknown role `{one_line(args.role, 30)}`: use one of {names}.", ROLE_USAGE)
    _answer(ctx, _lifecycle(ctx).assign_role(_incident(ctx), args.role, args.user_id, _actor(ctx)))


def update_command(ctx: CommandContext, args: PostUpdate) -> None:
    _answer(ctx, _lifecycle(ctx).post_update(_incident(ctx), args.text, _actor(ctx)))


def note_command(ctx: CommandContext, args: AddNote) -> None:
    _answer(ctx, _lifecycle(ctx).add_note(_incident(ctx), args.text, args.when, _actor(ctx)))


def time_command(ctx: CommandContext, args: SetTime) -> None:
    _answer(ctx, _lifecycle(ctx).set_time(_incident(ctx), args.milestone, args.when, _actor(ctx)))


def timeline_command(ctx: CommandContext, args: ShowTimeline) -> None:
    ctx.reply(_lifecycle(ctx).timeline_page(_incident(ctx), args.page))


def resolve_command(ctx: CommandContext, args: Resolve) -> None:
    fields: dict[str, str | None] = {"resolution_summary": args.summary}
    _answer(ctx, _lifecycle(ctx).resolve(_incident(ctx), _actor(ctx), fields))


def close_command(ctx: CommandContext, args: Close) -> None:
    _answer(ctx, _lifecycle(ctx).close(_incident(ctx), _actor(ctx)))


def reopen_command(ctx: CommandContext, args: Reopen) -> None:
    _answer(ctx, _lifecycle(ctx).reopen(_incident(ctx), _actor(ctx)))


def list_command(ctx: CommandContext, args: ListOpen) -> None:
    ctx.reply(_lifecycle(ctx).list_open(ctx.user_id))


def convert_command(ctx: CommandContext, args: Convert) -> None:
    _answer(ctx, _lifecycle(ctx).convert(ctx.channel_id, args.title, args.severity, _actor(ctx)))


COMMANDS = (
    Subcommand(
        "status", "/incident status <status>",
        "Set the status (investigating, identified, fixed, verified…).", parse_status_args, status_command,
    ),
    Subcommand(
        "severity", "/incident severity <sev1-4|critical|high|medium|low>", "Change the severity.",
        parse_severity_args, severity_command, aliases=("sev",),
    ),
    Subcommand("role", ROLE_USAGE, "Assign a role (lead, comms, scribe…).", parse_role, role_command),
    Subcommand("lead", "/incident lead @user", "Assign the incident lead.", parse_lead, role_command),
    Subcommand(
        "update", "/incident update <text>", "Post a status update here and to the announcement channel.",
        parse_update, update_command,
    ),
    Subcommand(
        "note", "/incident note [at <time>] <text>", "Add a note to the timeline (optionally backdated).",
        parse_note, note_command,
    ),
    Subcommand(
        "time", "/incident time <milestone> <time>",
        "Set when started/detected/identified/fixed/verified happened.", parse_time_args, time_command,
    ),
    Subcommand(
        "timeline", "/incident timeline [page]", "Show the timeline (only to you).",
        parse_timeline, timeline_command,
    ),
    Subcommand(
        "resolve", "/incident resolve [summary]", "Mark the incident fixed, with a resolution summary.",
        parse_resolve, resolve_command,
    ),
    Subcommand(
        "close", "/incident close", "Close the incident and write the investigation document.",
        parse_close, close_command,
    ),
    Subcommand("reopen", "/incident reopen", "Reopen a closed incident.", parse_reopen, reopen_command),
    Subcommand(
        "list", "/incident list", "List open incidents.", parse_list, list_command, Where.ANYWHERE
    ),
    Subcommand(
        "convert", "/incident convert [sev1-4] <title>",
        "Turn this channel into an incident, keeping its history.", parse_convert, convert_command,
        Where.NOT_INCIDENT,
    ),
)  # fmt: skip


# -- the summary card ---------------------------------------------------------------------------
# (incident, the block_actions payload, actor, the lifecycle, the client) → what to tell the clicker
CardAction = Callable[[Incident, dict[str, Any], Actor, LifecycleService, WebClient], Outcome | None]


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body["actions"][0])


def _view_values(view: dict[str, Any]) -> dict[str, str]:
    """Plain text inputs of a modal: block_id → stripped text ("" when empty)."""
    values = view.get("state", {}).get("values", {})
    return {block: ((v.get("value") or {}).get("value") or "").strip() for block, v in values.items()}


def _selected(b: dict[str, Any]) -> str:
    """The chosen option's value as sent (the lifecycle checks it against the allowed set)."""
    option = _action(b).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else ""


def _set_status(
    inc: Incident, b: dict[str, Any], actor: Actor, lc: LifecycleService, _: WebClient
) -> Outcome:
    return lc.set_status(inc, _selected(b), actor)


def _set_severity(
    inc: Incident, b: dict[str, Any], actor: Actor, lc: LifecycleService, _: WebClient
) -> Outcome:
    return lc.set_severity(inc, _selected(b), actor)


def _set_lead(inc: Incident, b: dict[str, Any], actor: Actor, lc: LifecycleService, _: WebClient) -> Outcome:
    user = _action(b).get("selected_user")
    return lc.assign_role(inc, "lead", user if isinstance(user, str) else "", actor)


def _modal_opener(build: Callable[[Incident], Any]) -> CardAction:
    def run(
        inc: Incident, body: dict[str, Any], _a: Actor, _l: LifecycleService, client: WebClient
    ) -> Outcome | None:
        if inc.is_closed:
            return Outcome(False, f"*{incident_ref(inc)}* is closed.")
        try:
            client.views_open(trigger_id=body.get("trigger_id", ""), view=build(inc))
        except Exception as exc:
            return Outcome(False, f"Could not open the form ({slack_error(exc)}); the command works too.")
        return None

    return run


CARD_ACTIONS: dict[str, CardAction] = {
    blocks.ACTION_STATUS: _set_status,
    blocks.ACTION_SEVERITY: _set_severity,
    blocks.ACTION_LEAD: _set_lead,
    blocks.ACTION_UPDATE: _modal_opener(blocks.update_modal),
    blocks.ACTION_RESOLVE: _modal_opener(blocks.resolve_modal),
}


def on_card(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    repo: Repository,
    lifecycle: LifecycleService,
    access: Access,
    client: WebClient,
) -> None:
    ack()
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id", "")
    incident = repo.incident_by_channel(channel)
    if incident is None:
        respond(
            text="This card's incident no longer exists.", response_type="ephemeral", replace_original=False
        )
        return
    run = CARD_ACTIONS[_action(body)["action_id"]]
    key = f"action:{body.get('trigger_id')}"
    with delivery(repo, key, kind="action") as mine:
        if not mine:
            return
        refusal = access.refusal(incident, user)
        if refusal:
            respond(text=refusal, response_type="ephemeral", replace_original=False)
            return
        outcome = run(incident, body, Actor(user, key), lifecycle, client)
        if outcome is not None and outcome.reply_text():
            respond(text=outcome.reply_text(), response_type="ephemeral", replace_original=False)


# -- the card's modals --------------------------------------------------------------------------
def _metadata_incident(repo: Repository, view: dict[str, Any]) -> Incident | None:
    """The incident a modal's ``private_metadata`` names (its id, as the card wrote it)."""
    raw = view.get("private_metadata")
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 12):
        return None
    try:
        return repo.incident(int(raw))
    except NotFound:
        return None


def _on_modal(
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    access: Access,
    client: WebClient,
    run: Callable[[Incident, Actor], Outcome],
) -> None:
    user = body["user"]["id"]
    key = f"view:{view['id']}"
    with delivery(repo, key, kind="view") as mine:
        if not mine:
            return
        incident = _metadata_incident(repo, view)
        if incident is None:
            log.warning("view %s names no incident", view.get("id"))
            return
        refusal = access.refusal(incident, user)
        if refusal:
            # Not in the incident's channel (a private one they left, or forged metadata): say so
            # where they are, never in the channel the metadata names.
            log.warning("%s refused on %s: not a member", user, incident_ref(incident))
            _tell_directly(client, user, refusal)
            return
        context["reply_channel"] = incident.channel_id  # where the error boundary answers
        outcome = run(incident, Actor(user, key))
        if outcome.reply_text() and incident.channel_id:
            try:
                client.chat_postEphemeral(channel=incident.channel_id, user=user, text=outcome.reply_text())
            except Exception as exc:
                log.info("could not tell %s: %s", user, slack_error(exc))


def _tell_directly(client: WebClient, user: str, text: str) -> None:
    try:
        client.chat_postMessage(channel=user, text=text)
    except Exception as exc:
        log.info("could not tell %s: %s", user, slack_error(exc))


def on_update_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    lifecycle: LifecycleService,
    access: Access,
    client: WebClient,
) -> None:
    try:
        text = user_text(_view_values(view).get("text", ""), "update", slack_formatted=False)
    except UsageError as exc:
        ack(response_action="errors", errors={"text": exc.message})
        return
    ack()
    _on_modal(
        body, view, context, repo, access, client, lambda inc, actor: lifecycle.post_update(inc, text, actor)
    )


def on_resolve_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    lifecycle: LifecycleService,
    access: Access,
    client: WebClient,
) -> None:
    values = _view_values(view)
    if not values.get("resolution_summary"):
        ack(response_action="errors", errors={"resolution_summary": "Say in a sentence how it was resolved."})
        return
    ack()
    fields: dict[str, str | None] = {name: values.get(name) or None for name, _, _ in blocks.RESOLVE_FIELDS}
    _on_modal(
        body, view, context, repo, access, client, lambda inc, actor: lifecycle.resolve(inc, actor, fields)
    )


def on_membership(event: dict[str, Any], access: Access) -> None:
    """member_joined_channel / member_left_channel: the channel's cached member list is stale."""
    channel = event.get("channel")
    if isinstance(channel, str) and channel:
        access.members.forget(channel)


def register(app: App) -> None:
    app.event("member_joined_channel")(on_membership)
    app.event("member_left_channel")(on_membership)
    for action_id in CARD_ACTIONS:
        app.action(action_id)(on_card)
    app.view(blocks.UPDATE_CALLBACK)(on_update_submit)
    app.view(blocks.RESOLVE_CALLBACK)(on_resolve_submit)
