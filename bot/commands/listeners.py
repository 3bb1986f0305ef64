"""`/incident`: parse, check the channel, claim the delivery, dispatch to the subcommand's handler.

The table (``context["commands"]``), the channel's incident (``context["incident"]``) and the
repository come through Bolt's context (see ``bot.slack.app``). A failure reaches the one error
boundary (``bot.slack.app``), which tells the person.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.errors import DATABASE_DOWN, NOT_AN_INCIDENT_CHANNEL, UsageError
from bot.incidents.access import Access
from bot.incidents.vocabulary import incident_ref
from bot.slack.commands import CommandContext, CommandTable, Help, Subcommand, Where, parse_help
from bot.slack.deliveries import delivery
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)


def help_command(ctx: CommandContext, _args: Help) -> None:
    ctx.reply(ctx.table.help_text())


COMMANDS = (
    Subcommand("help", "/incident help", "Show this help.", parse_help, help_command, Where.ANYWHERE),
)


def on_incident(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    context: BoltContext,
    commands: CommandTable,
    incident: Incident | None,
    repo: Repository,
    access: Access,
) -> None:
    try:
        spec, args = commands.parse(command.get("text") or "")
    except UsageError as exc:
        ack(response_type="ephemeral", text=exc.human())
        return
    if context.get("incident_unavailable"):
        log.error("database unavailable for /incident %s", spec.name)
        ack(response_type="ephemeral", text=DATABASE_DOWN)
        return
    if spec.needs_incident and incident is None:
        ack(response_type="ephemeral", text=f"{NOT_AN_INCIDENT_CHANNEL}\nUsage: `{spec.usage}`")
        return
    ack()
    key = f"cmd:{command.get('trigger_id') or command.get('response_url')}"
    context["doing"] = f"`/incident {spec.name}`"  # what the error boundary says failed
    with delivery(repo, key, kind="command") as mine:
        if not mine:
            return
        ctx = CommandContext(
            user_id=command["user_id"],
            channel_id=command["channel_id"],
            trigger_id=command.get("trigger_id", ""),
            respond=respond,
            incident=incident,
            dedupe_key=key,
            context=context,
            table=commands,
        )
        if spec.where == Where.NOT_INCIDENT and incident is not None:
            ctx.reply(f"This channel is already *{incident_ref(incident)}*.")
            return
        if spec.needs_incident and incident is not None:
            refusal = access.refusal(incident, ctx.user_id)  # a private incident's non-member
            if refusal:
                log.warning("%s refused on %s: not a member", ctx.user_id, incident_ref(incident))
                ctx.reply(refusal)
                return
        spec.handle(ctx, args)


def register(app: App) -> None:
    app.command("/incident")(on_incident)
