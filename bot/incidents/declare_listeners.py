"""Declare: the command with a title, or the modal without one."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.config import Settings
from bot.incidents import blocks
from bot.incidents.commands import Declare, clean_title, parse_declare
from bot.incidents.declare import DeclareFailed, DeclareResult, IncidentService
from bot.incidents.vocabulary import incident_ref, severity_text
from bot.slack.client import slack_error
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.slack.deliveries import delivery
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
    if args.title is None:
        view = blocks.declare_modal(
            None,
            args.severity or settings.config.default_severity,
            private_metadata=json.dumps({"channel": ctx.channel_id}),
        )
        try:
            cast(WebClient, ctx.context.client).views_open(trigger_id=ctx.trigger_id, view=view)
        except Exception as exc:
            ctx.reply(
                f"Could not open the declare form ({slack_error(exc)}). "
                "You can declare directly: `/incident declare [sev1-4] <title>`"
            )
        return
    result = incidents.declare(
        title=args.title, severity=args.severity, declarer=ctx.user_id, dedupe_key=ctx.dedupe_key
    )
    ctx.reply(_declared_text(result) + args.notice)


COMMANDS = (
    Subcommand(
        "declare",
        "/incident declare [sev1-4] <title>",
        "Declare an incident (no title opens a form).",
        parse_declare,
        declare_command,
        Where.ANYWHERE,
        aliases=("new", "start"),
    ),
)


def _modal_values(view: dict[str, Any]) -> dict[str, Any]:
    values = view.get("state", {}).get("values", {})

    def value(block: str) -> Any:
        return values.get(block, {}).get("value", {})

    sev = (value("severity").get("selected_option") or {}).get("value")
    checked = value("private").get("selected_options") or []
    return {
        "title": value("title").get("value") or "",
        "severity": sev,
        "summary": value("summary").get("value") or "",
        "private": any(o.get("value") == "private" for o in checked),
    }


def on_declare_submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    repo: Repository,
    incidents: IncidentService,
    client: WebClient,
) -> None:
    values = _modal_values(view)
    title = clean_title(values["title"])
    if not title:
        ack(response_action="errors", errors={"title": "Give the incident a title with visible characters."})
        return
    ack()
    user = body["user"]["id"]
    key = f"view:{view['id']}"
    origin = json.loads(view.get("private_metadata") or "{}").get("channel")
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
            )
            text = _declared_text(result)
        except DeclareFailed as exc:
            text = exc.user_message
        if origin:
            try:
                client.chat_postEphemeral(channel=origin, user=user, text=text)
            except Exception as exc:
                log.info("could not confirm declare to %s: %s", user, slack_error(exc))


def register(app: App) -> None:
    app.view(blocks.DECLARE_CALLBACK)(on_declare_submit)
