"""`/incident`: parse, find the incident the channel belongs to, claim the delivery, dispatch."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from sqlalchemy.exc import SQLAlchemyError

from bot.commands.parser import Help, UsageError, help_text, parse
from bot.wiring import Services
from storage.models import Incident

log = logging.getLogger(__name__)


@dataclass
class CommandContext:
    services: Services
    user_id: str
    channel_id: str
    trigger_id: str
    respond: Respond
    incident: Incident | None
    dedupe_key: str

    def reply(self, text: str) -> None:
        """An ephemeral answer to whoever ran the command."""
        self.respond(text=text, response_type="ephemeral")


Handler = Callable[[CommandContext, Any], None]
HANDLERS: dict[str, Handler] = {}


def handles(name: str) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return wrap


@handles("help")
def _help(ctx: CommandContext, _args: Help) -> None:
    ctx.reply(help_text())


DATABASE_DOWN = (
    ":warning: The incident database is unreachable right now, so nothing was changed. "
    "Please try again in a minute."
)
NOT_AN_INCIDENT_CHANNEL = (
    "This is not an incident channel. Run it in the incident's channel, "
    "or see open incidents with `/incident list`."
)


def register(app: App, services: Services) -> None:
    @app.command("/incident")
    def on_incident(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            spec, args = parse(command.get("text") or "")
        except UsageError as exc:
            ack(response_type="ephemeral", text=exc.human())
            return
        handler = HANDLERS.get(spec.name)
        if handler is None:
            ack(response_type="ephemeral", text=f"`/incident {spec.name}` is not available yet.")
            return
        try:
            incident = services.timeline.incidents.get(command["channel_id"])
        except SQLAlchemyError:
            log.exception("database unavailable for /incident %s", spec.name)
            ack(response_type="ephemeral", text=DATABASE_DOWN)
            return
        if spec.needs_incident and incident is None:
            ack(response_type="ephemeral", text=f"{NOT_AN_INCIDENT_CHANNEL}\nUsage: `{spec.usage}`")
            return
        ack()
        key = f"cmd:{command.get('trigger_id') or command.get('response_url')}"
        try:
            claimed = services.repo.claim(key, kind="command")
        except SQLAlchemyError:
            respond(text=DATABASE_DOWN, response_type="ephemeral")
            return
        if not claimed:
            log.info("duplicate delivery of /incident %s ignored", spec.name)
            return
        ctx = CommandContext(
            services=services,
            user_id=command["user_id"],
            channel_id=command["channel_id"],
            trigger_id=command.get("trigger_id", ""),
            respond=respond,
            incident=incident,
            dedupe_key=key,
        )
        try:
            handler(ctx, args)
        except UsageError as exc:
            ctx.reply(exc.human())
        except Exception as exc:
            log.exception("/incident %s failed", spec.name)
            with contextlib.suppress(SQLAlchemyError):
                services.repo.release_claim(key)
            if isinstance(exc, SQLAlchemyError):
                ctx.reply(DATABASE_DOWN)
                return
            ctx.reply(
                f"Sorry, `/incident {spec.name}` failed on our side; nothing was lost. Please try again."
            )
            return
        services.repo.finish_claim(key)
