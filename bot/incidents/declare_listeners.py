"""Declare: the command with a title, or the modal without one."""

from __future__ import annotations

import logging
from typing import Any, cast

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.config import Settings
from bot.incidents import blocks, field_forms
from bot.incidents.access import Access, Action
from bot.incidents.commands import Declare, clean_title, parse_declare
from bot.incidents.declare import DeclareFailed, DeclareResult, IncidentService
from bot.incidents.entry_points import Listeners
from bot.incidents.fields import declare_form_refusal, declare_refusal
from bot.incidents.lifecycle import LifecycleService
from bot.incidents.outcome import Actor
from bot.incidents.types import DEFAULT_TYPE, Stage, incident_type, type_choices
from bot.incidents.vocabulary import incident_ref, severity_text
from bot.slack.client import slack_error
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.slack.deliveries import delivery
from bot.slack.views import NOT_OPEN, open_view, target_of
from storage.repository import Repository

log = logging.getLogger(__name__)


def _declared_text(result: DeclareResult) -> str:
    inc = result.incident
    text = f"Declared *{incident_ref(inc)}* ({severity_text(inc.severity)}): <#{inc.channel_id}>"
    if result.duplicate:
        text = f"Already declared: *{incident_ref(inc)}* <#{inc.channel_id}>"
    if result.warnings:
        text += "\nSome set-up steps failed: " + "; ".join(result.warnings)
    return text


def declare_command(ctx: CommandContext, args: Declare) -> None:
    settings = cast(Settings, ctx.context["settings"])
    incidents = cast(IncidentService, ctx.context["incidents"])
    if args.kind is not None:
        refusal = incidents.unknown_type(args.kind)
        if refusal:
            ctx.reply(refusal)
            return
    config = settings.config
    kind = args.kind or DEFAULT_TYPE
    required = incident_type(config.types, kind).required_at(Stage.DECLARE)
    if args.title is None:
        view = blocks.declare_modal(
            None,
            args.severity or config.default_severity,
            type_choices(config.types, args.kind),
            field_forms.field_inputs(required, config.fields, config.services, {}, optional=False),
        )
        try:
            open_view(
                cast(WebClient, ctx.context.client),
                cast(Repository, ctx.context["repo"]),
                ctx.trigger_id,
                view,
                ctx.user_id,
                channel_id=ctx.channel_id,
            )
        except Exception as exc:
            ctx.reply(
                f"Could not open the declare form ({slack_error(exc)}). "
                "You can declare directly: `/incident declare [sev1-4] <title>`"
            )
        return
    if required:
        ctx.reply(declare_refusal(kind, required, config.fields))
        return
    result = incidents.declare(
        title=args.title,
        severity=args.severity,
        declarer=ctx.user_id,
        dedupe_key=ctx.dedupe_key,
        kind=args.kind,
    )
    ctx.reply(_declared_text(result) + args.notice)


COMMANDS = (
    Subcommand(
        "declare",
        "/incident declare [--type <type>] [sev1-4] <title>",
        "Declare an incident (no title opens a form).",
        parse_declare,
        declare_command,
        Where.ANYWHERE,
        aliases=("new", "start"),
        action=Action.DECLARE,
    ),
)


def _modal_values(view: dict[str, Any]) -> dict[str, Any]:
    values = view.get("state", {}).get("values", {})

    def value(block: str) -> Any:
        return values.get(block, {}).get("value", {})

    sev = (value("severity").get("selected_option") or {}).get("value")
    kind = (value("type").get("selected_option") or {}).get("value")
    checked = value("private").get("selected_options") or []
    return {
        "title": value("title").get("value") or "",
        "severity": sev,
        "summary": value("summary").get("value") or "",
        "private": any(o.get("value") == "private" for o in checked),
        "kind": kind if isinstance(kind, str) else None,
    }


def _with_fields(
    lifecycle: LifecycleService, result: DeclareResult, typed: dict[str, str], actor: Actor
) -> str:
    """The fields the form gave, set on the new incident (on its timeline and card)."""
    outcome = lifecycle.set_fields(result.incident, typed, actor)
    return f"\n{outcome.reply_text()}" if outcome.changed and outcome.reply_text() else ""


def on_declare_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    incidents: IncidentService,
    client: WebClient,
    access: Access,
    lifecycle: LifecycleService,
) -> None:
    values = _modal_values(view)
    title = clean_title(values["title"])
    if not title:
        ack(response_action="errors", errors={"title": "Give the incident a title with visible characters."})
        return
    config = incidents.settings.config
    kind = values["kind"] or DEFAULT_TYPE
    required = incident_type(config.types, kind).required_at(Stage.DECLARE)
    in_form = view.get("state", {}).get("values", {})
    if any(field_forms.block_id(n) not in in_form for n in required):
        where = "type" if "type" in in_form else "title"
        ack(response_action="errors", errors={where: declare_form_refusal(kind, required, config.fields)})
        return
    typed = field_forms.submitted(view, required, config.fields)
    wrong = field_forms.missing_inputs(required, typed, config.fields) | field_forms.errors(
        typed, config.fields, config.services
    )
    if wrong:
        ack(response_action="errors", errors=wrong)
        return
    user = body["user"]["id"]
    target = target_of(repo, body, view)
    refusal = NOT_OPEN if target is None else access.check(user, Action.DECLARE, None)
    if refusal:
        ack(response_action="errors", errors={"title": refusal})
        return
    ack()
    key = f"view:{view['id']}"
    origin = target.channel_id if target is not None else None  # where the form was opened
    context["reply_channel"] = origin  # where the error boundary answers
    with delivery(repo, key, kind="view") as mine:
        if not mine:
            return
        try:
            result = incidents.declare(
                title=title,
                severity=values["severity"],
                declarer=user,
                summary=values["summary"].strip(),
                private=values["private"],
                dedupe_key=key,
                kind=values["kind"],
            )
            text = _declared_text(result)
            if typed and not result.duplicate:
                text += _with_fields(lifecycle, result, typed, Actor(user, key))
        except DeclareFailed as exc:
            text = exc.user_message
        if origin:
            try:
                client.chat_postEphemeral(channel=origin, user=user, text=text)
            except Exception as exc:
                log.info("could not confirm declare to %s: %s", user, slack_error(exc))


def register(on: Listeners) -> None:
    on.view(blocks.DECLARE_CALLBACK, Action.DECLARE)(on_declare_submit)
