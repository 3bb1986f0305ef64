"""`/incident postmortem`: (re)generate the investigation document (a draft while the incident is open)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import DATABASE_DOWN, IncidentBotError, UsageError, sorry
from bot.incidents.access import Action
from bot.incidents.vocabulary import incident_ref
from bot.ops.failures import database_error
from bot.postmortem import PostmortemService
from bot.postmortem.worker import BUSY, DocumentWorker
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
    """Generation runs on the document worker, so this listener thread is free at once for the
    next person's command; the answer follows through the command's ``response_url``."""
    incident = ctx.incident
    assert incident is not None and incident.id is not None
    draft = not incident.is_closed
    worker = cast(DocumentWorker, ctx.context["documents"])
    ctx.reply(
        f"Generating the {'draft ' if draft else ''}investigation document for {incident_ref(incident)}…"
    )
    if not worker.submit(lambda: _generate(ctx, incident.id or 0, draft)):
        ctx.reply(BUSY)


def _generate(ctx: CommandContext, incident_id: int, draft: bool) -> None:
    """A broken template or a generation already running is told to the person as the error
    boundary would (``TemplateProblem`` and ``DocumentBusy`` carry their message)."""
    try:
        _generate_and_answer(ctx, incident_id, draft)
    except IncidentBotError as exc:
        log.info("refused: %s", exc)
        ctx.reply(exc.user_message)
    except SQLAlchemyError:
        log.exception("%s while generating a document", database_error())
        ctx.reply(DATABASE_DOWN)
    except Exception:
        log.exception("generating the document failed")
        ctx.reply(sorry("`/incident postmortem`"))


def _generate_and_answer(ctx: CommandContext, incident_id: int, draft: bool) -> None:
    service = cast(PostmortemService, ctx.context["postmortem"])
    doc = service.generate(incident_id, draft=draft, requested_by=ctx.user_id, request_key=ctx.dedupe_key)
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
        action=Action.CHANGE,
    ),
)
