"""`/incident postmortem`: (re)generate the investigation document (a draft while the incident is open)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from bot.errors import UsageError
from bot.incidents.vocabulary import incident_ref
from bot.postmortem import PostmortemService
from bot.slack.commands import CommandContext, Subcommand
from bot.slack.text import escape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Postmortem:
    pass


def parse_postmortem(rest: str) -> Postmortem:
    if rest.strip():
        raise UsageError("`postmortem` takes no arguments.")
    return Postmortem()


def postmortem_command(ctx: CommandContext, _args: Postmortem) -> None:
    """A broken template or a generation already running reaches the person through the error
    boundary (``TemplateProblem`` and ``DocumentBusy`` carry their message)."""
    incident = ctx.incident
    assert incident is not None and incident.id is not None
    draft = not incident.is_closed
    ctx.reply(
        f"Generating the {'draft ' if draft else ''}investigation document for {incident_ref(incident)}…"
    )
    service = cast(PostmortemService, ctx.context["postmortem"])
    doc = service.generate(incident.id, draft=draft, requested_by=ctx.user_id, request_key=ctx.dedupe_key)
    where = (
        f"<{doc.file_permalink}|revision {doc.revision}>"
        if doc.file_permalink
        else f"revision {doc.revision}"
    )
    missing = (
        "\nNothing recorded yet for: " + ", ".join(doc.missing_sections) + "." if doc.missing_sections else ""
    )
    since = service.unchanged_since(doc)
    if since is not None:
        ctx.reply(f"Nothing changed since revision {since}, so it was not posted again.{escape(missing)}")
        return
    ctx.reply(f"Posted {where} of the investigation document.{escape(missing)}")


COMMANDS = (
    Subcommand(
        "postmortem",
        "/incident postmortem",
        "Generate the investigation document now (a draft while the incident is open).",
        parse_postmortem,
        postmortem_command,
        aliases=("document", "doc"),
    ),
)
