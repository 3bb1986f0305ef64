"""Incident listeners: the `/incident` subcommands of the lifecycle, the summary card's buttons,
and its modals. Module-level functions; the lifecycle service, the repository and the Slack
client come through Bolt's context (``bot.slack.app``), the delivery boundary claims each one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import UsageError
from bot.incidents import blocks, field_forms
from bot.incidents.access import Access, Action
from bot.incidents.card_click import card_click, click_key, form_submit, view_key
from bot.incidents.commands import (
    AddNote,
    AssignRole,
    Close,
    Convert,
    ListOpen,
    PostUpdate,
    Reopen,
    Resolve,
    SetField,
    SetSeverity,
    SetStatus,
    SetTime,
    SetType,
    ShowTimeline,
    parse_close,
    parse_convert,
    parse_lead,
    parse_list,
    parse_note,
    parse_reopen,
    parse_resolve,
    parse_role,
    parse_set,
    parse_severity_args,
    parse_status_args,
    parse_time_args,
    parse_timeline,
    parse_type,
    parse_update,
    user_text,
)
from bot.incidents.entry_points import Listeners
from bot.incidents.lifecycle import Actor, LifecycleService, Outcome
from bot.incidents.types import incident_type, type_roles
from bot.incidents.vocabulary import incident_ref
from bot.slack.client import slack_error, tell
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.slack.mrkdwn import plain_to_mrkdwn
from bot.slack.text import one_line
from bot.slack.views import open_view
from storage.models import Incident
from storage.repository import Repository

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
    config = settings.config
    roles = type_roles(config.roles, incident_type(config.types, _incident(ctx).incident_type))
    if args.role not in roles:
        names = ", ".join(f"`{r}`" for r in roles)
        raise UsageError(f"Unknown role `{one_line(args.role, 30)}`: use one of {names}.", ROLE_USAGE)
    _answer(ctx, _lifecycle(ctx).assign_role(_incident(ctx), args.role, args.user_id, _actor(ctx)))


def set_command(ctx: CommandContext, args: SetField) -> None:
    try:
        outcome = _lifecycle(ctx).set_field(_incident(ctx), args.name, args.raw, _actor(ctx))
    except UsageError as exc:
        ctx.reply(exc.human())
        return
    _answer(ctx, outcome)


def type_command(ctx: CommandContext, args: SetType) -> None:
    _answer(ctx, _lifecycle(ctx).set_type(_incident(ctx), args.kind, _actor(ctx)))


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
    _answer(ctx, _lifecycle(ctx).resolve(_incident(ctx), _actor(ctx), fields, replace=False))


def close_command(ctx: CommandContext, args: Close) -> None:
    _answer(ctx, _lifecycle(ctx).close(_incident(ctx), _actor(ctx)))


def reopen_command(ctx: CommandContext, args: Reopen) -> None:
    _answer(ctx, _lifecycle(ctx).reopen(_incident(ctx), _actor(ctx)))


def list_command(ctx: CommandContext, args: ListOpen) -> None:
    access = cast(Access, ctx.context["access"])
    ctx.reply(_lifecycle(ctx).list_open(lambda incident: access.may_see(incident, ctx.user_id)))


def convert_command(ctx: CommandContext, args: Convert) -> None:
    _answer(ctx, _lifecycle(ctx).convert(ctx.channel_id, args.title, args.severity, _actor(ctx)))


COMMANDS = (
    Subcommand(
        "status", "/incident status <status>",
        "Set the status (investigating, identified, fixed, verified…).", parse_status_args, status_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "severity", "/incident severity <sev1-4|critical|high|medium|low>", "Change the severity.",
        parse_severity_args, severity_command, aliases=("sev",),
        action=Action.CHANGE,
    ),
    Subcommand(
        "role", ROLE_USAGE, "Assign a role (lead, comms, scribe…).", parse_role, role_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "lead", "/incident lead @user", "Assign the incident lead.", parse_lead, role_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "set", "/incident set <field> <value>",
        "Set one of the incident type's fields (options by name, numbers, @people, services).",
        parse_set, set_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "type", "/incident type <name>", "Change the incident's type.", parse_type, type_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "update", "/incident update <text>", "Post a status update here and to the announcement channel.",
        parse_update, update_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "note", "/incident note [at <time>] <text>", "Add a note to the timeline (optionally backdated).",
        parse_note, note_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "time", "/incident time <milestone> <time>",
        "Set when started/detected/identified/fixed/verified happened.", parse_time_args, time_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "timeline", "/incident timeline [page]", "Show the timeline (only to you).",
        parse_timeline, timeline_command,
        action=Action.READ,
    ),
    Subcommand(
        "resolve", "/incident resolve [summary]", "Mark the incident fixed, with a resolution summary.",
        parse_resolve, resolve_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "close", "/incident close", "Close the incident and write the investigation document.",
        parse_close, close_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "reopen", "/incident reopen", "Reopen a closed incident.", parse_reopen, reopen_command,
        action=Action.CHANGE,
    ),
    Subcommand(
        "list", "/incident list", "List open incidents.", parse_list, list_command, Where.ANYWHERE,
        action=Action.READ,
    ),
    Subcommand(
        "convert", "/incident convert [sev1-4] <title>",
        "Turn this channel into an incident, keeping its history.", parse_convert, convert_command,
        Where.NOT_INCIDENT,
        action=Action.DECLARE,
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


def _modal_opener(build: Callable[[Incident, LifecycleService], Any]) -> CardAction:
    def run(
        inc: Incident, body: dict[str, Any], actor: Actor, lc: LifecycleService, client: WebClient
    ) -> Outcome | None:
        if inc.is_closed:
            return Outcome(False, f"*{incident_ref(inc)}* is closed.")
        try:
            trigger = body.get("trigger_id", "")
            open_view(client, lc.repo, trigger, build(inc, lc), actor.user_id, incident_id=inc.id)
        except Exception as exc:
            return Outcome(False, f"Could not open the form ({slack_error(exc)}); the command works too.")
        return None

    return run


CARD_ACTIONS: dict[str, CardAction] = {
    blocks.ACTION_STATUS: _set_status,
    blocks.ACTION_SEVERITY: _set_severity,
    blocks.ACTION_LEAD: _set_lead,
    blocks.ACTION_UPDATE: _modal_opener(lambda inc, _: blocks.update_modal(inc)),
    blocks.ACTION_RESOLVE: _modal_opener(lambda inc, _: blocks.resolve_modal(inc)),
    blocks.ACTION_FIELDS: _modal_opener(lambda inc, lc: lc.fields_form(inc)),
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
    run = CARD_ACTIONS[_action(body)["action_id"]]
    with card_click(body, respond, repo, access, Action.CHANGE) as incident:
        if incident is None:
            return
        outcome = run(incident, body, Actor(body["user"]["id"], click_key(body)), lifecycle, client)
        if outcome is not None and outcome.reply_text():
            respond(text=outcome.reply_text(), response_type="ephemeral", replace_original=False)


# -- the card's modals --------------------------------------------------------------------------
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
    with form_submit(body, view, context, repo, access, client, Action.CHANGE) as incident:
        if incident is None:
            return
        outcome = run(incident, Actor(user, view_key(view)))
        if outcome.reply_text() and incident.channel_id:
            tell(client, user, outcome.reply_text(), incident.channel_id)


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
        text = plain_to_mrkdwn(user_text(_view_values(view).get("text", ""), "update", slack_formatted=False))
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


def on_fields_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    lifecycle: LifecycleService,
    access: Access,
    client: WebClient,
) -> None:
    """The "Set fields" form: values checked as `/incident set` checks them (inline errors, nothing
    stored), then each changed field set on the incident the form was opened on."""
    config = lifecycle.settings.config
    names = [n for n in config.fields if field_forms.block_id(n) in view.get("state", {}).get("values", {})]
    typed = field_forms.submitted(view, names, config.fields)
    wrong = field_forms.errors(typed, config.fields, config.services)
    if wrong:
        ack(response_action="errors", errors=wrong)
        return
    ack()
    _on_modal(
        body, view, context, repo, access, client, lambda inc, actor: lifecycle.set_fields(inc, typed, actor)
    )


def on_membership(
    event: dict[str, Any], access: Access, context: BoltContext, incident: Incident | None, own_user_id: str
) -> None:
    """member_joined_channel / member_left_channel: the channel's cached member list is stale; a
    person joining an incident channel is a workflow event (once per delivery: its key)."""
    channel = event.get("channel")
    if isinstance(channel, str) and channel:
        access.members.forget(channel)
    user = event.get("user")
    if event.get("type") == "member_joined_channel" and incident is not None and user and user != own_user_id:
        key = f"join:{user}:{event.get('event_ts') or ''}"
        context["services"].workflow_event(incident, "member_joined", {"key": key, "user": user})


def on_user_change(event: dict[str, Any], access: Access) -> None:
    """user_change (deactivated, made a guest, promoted): the cached profile is stale."""
    user = event.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), str):
        access.people.forget(user["id"])


def register(on: Listeners) -> None:
    # The bot's own bookkeeping: what Slack says changed, forgotten from the access caches.
    on.event("member_joined_channel", Action.PUBLIC)(on_membership)
    on.event("member_left_channel", Action.PUBLIC)(on_membership)
    on.event("user_change", Action.PUBLIC)(on_user_change)
    for action_id in CARD_ACTIONS:
        on.action(action_id, Action.CHANGE)(on_card)
    on.view(blocks.UPDATE_CALLBACK, Action.CHANGE)(on_update_submit)
    on.view(blocks.RESOLVE_CALLBACK, Action.CHANGE)(on_resolve_submit)
    on.view(field_forms.FIELDS_CALLBACK, Action.CHANGE)(on_fields_submit)
