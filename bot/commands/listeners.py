"""`/incident`: parse, check the channel, claim the delivery, dispatch to the subcommand's handler.

The table (``context["commands"]``), the channel's incident (``context["incident"]``) and the
repository come through Bolt's context (see ``bot.slack.app``). A failure reaches the one error
boundary (``bot.slack.app``), which tells the person.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

from slack_bolt import Ack, BoltContext, Respond

from bot.config import Settings
from bot.errors import DATABASE_DOWN, NOT_AN_INCIDENT_CHANNEL, IncidentBotError, UsageError
from bot.incidents.access import Access, Action
from bot.incidents.vocabulary import incident_ref
from bot.slack.commands import CommandContext, CommandTable, Help, Subcommand, Where, parse_help
from bot.slack.deliveries import delivery
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)


def help_command(ctx: CommandContext, _args: Help) -> None:
    settings = cast(Settings, ctx.context["settings"])
    ctx.reply(f"{ctx.table.help_text(ctx.context)}\n{reactions_help(settings.config.reactions)}")


def reactions_help(reactions: Mapping[str, str]) -> str:
    """The reactions that record the incident (the main way to use the bot), as configured."""
    marks = " · ".join(f":{emoji}: {kind.replace('_', ' ')}" for emoji, kind in reactions.items())
    return (
        "*Reactions* (in an incident channel) put a message on the timeline and in the document: "
        f"{marks}. Removing the reaction takes it off."
    )


COMMANDS = (
    Subcommand(
        "help",
        "/incident help",
        "Show this help.",
        parse_help,
        help_command,
        Where.ANYWHERE,
        action=Action.PUBLIC,
    ),
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
        log.error("%s for /incident %s", context["incident_unavailable"], spec.name)
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
        # The subcommand's declared action, on the channel's incident (none for what makes one).
        target = None if spec.where == Where.NOT_INCIDENT else incident
        refusal = access.check(ctx.user_id, Action(spec.action), target)
        if refusal:
            log.warning("%s refused /incident %s%s", ctx.user_id, spec.name, _on(target))
            ctx.reply(refusal)
            return
        try:
            spec.handle(ctx, args)
        except IncidentBotError as exc:
            # Told here, inside the delivery: it is marked done only once the person has the answer.
            log.info("refused: %s", exc)
            respond(text=exc.user_message, response_type="ephemeral")


def _on(incident: Incident | None) -> str:
    return f" on {incident_ref(incident)}" if incident is not None else ""
