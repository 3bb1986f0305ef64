"""`/incident postmortem`: (re)generate the investigation document (a draft while the incident is open)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App

from bot.commands.listeners import CommandContext, handles
from bot.commands.parser import UsageError, subcommand
from bot.postmortem import DocumentBusy, TemplateProblem
from bot.slack.text import escape
from bot.wiring import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Postmortem:
    pass


@subcommand(
    "postmortem",
    "/incident postmortem",
    "Generate the investigation document now (a draft while the incident is open).",
    aliases=("document", "doc"),
)
def _parse_postmortem(rest: str) -> Postmortem:
    if rest.strip():
        raise UsageError("`postmortem` takes no arguments.")
    return Postmortem()


@handles("postmortem")
def postmortem_command(ctx: CommandContext, _args: Postmortem) -> None:
    incident = ctx.incident
    assert incident is not None and incident.id is not None
    draft = not incident.is_closed
    ctx.reply(f"Generating the {'draft ' if draft else ''}investigation document for INC-{incident.number}…")
    try:
        doc = ctx.services.postmortem.generate(
            incident.id, draft=draft, requested_by=ctx.user_id, request_key=ctx.dedupe_key
        )
    except TemplateProblem as exc:
        ctx.reply(f":x: The document template is broken: {escape(str(exc))}")
        return
    except DocumentBusy:
        ctx.reply("The document is being generated right now; it will appear in the channel shortly.")
        return
    where = (
        f"<{doc.file_permalink}|revision {doc.revision}>"
        if doc.file_permalink
        else f"revision {doc.revision}"
    )
    missing = (
        "\nNothing recorded yet for: " + ", ".join(doc.missing_sections) + "." if doc.missing_sections else ""
    )
    since = ctx.services.postmortem.unchanged_since(doc)
    if since is not None:
        ctx.reply(f"Nothing changed since revision {since}, so it was not posted again.{escape(missing)}")
        return
    ctx.reply(f"Posted {where} of the investigation document.{escape(missing)}")


def register(app: App, services: Services) -> None:
    """The subcommand registers itself on import; nothing else to wire."""
