"""`/incident workflows`: each run of the rules in this incident (ephemeral)."""

from __future__ import annotations

from typing import cast

from bot.errors import UsageError
from bot.incidents.access import Action
from bot.incidents.vocabulary import incident_ref
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.workflows.runs import runs_text
from bot.workflows.service import WorkflowService


def parse_workflows(rest: str) -> None:
    if rest.strip():
        raise UsageError("`/incident workflows` takes no arguments.")


def workflows_command(ctx: CommandContext, _args: None) -> None:
    assert ctx.incident is not None
    service = cast(WorkflowService, ctx.context["workflows"])
    views = service.run_views(ctx.incident.id or 0)
    ctx.reply(runs_text(views, service.settings.config.tz, incident_ref(ctx.incident)))


COMMANDS = (
    Subcommand(
        "workflows",
        "/incident workflows",
        "What the workflow rules did in this incident: each run, each step's outcome and time.",
        parse_workflows,
        workflows_command,
        Where.INCIDENT,
        offered=lambda context: cast(WorkflowService, context["workflows"]).enabled,
        action=Action.READ,
    ),
)
