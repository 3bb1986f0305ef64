"""Declare: the command with a title, or the modal without one."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App

from bot.commands.listeners import CommandContext, handles
from bot.commands.parser import Declare, clean_title
from bot.incidents import blocks
from bot.incidents.declare import DeclareFailed, DeclareResult
from bot.slack.client import slack_error
from bot.wiring import Services

log = logging.getLogger(__name__)


def _declared_text(result: DeclareResult) -> str:
    inc = result.incident
    text = (
        f"Declared *{blocks.incident_ref(inc)}* ({blocks.severity_text(inc.severity)}): <#{inc.channel_id}>"
    )
    if result.duplicate:
        text = f"Already declared: *{blocks.incident_ref(inc)}* <#{inc.channel_id}>"
    if result.warnings:
        text += "\nSome set-up steps failed: " + "; ".join(result.warnings)
    return text


@handles("declare")
def declare_command(ctx: CommandContext, args: Declare) -> None:
    services = ctx.services
    if args.title is None:
        view = blocks.declare_modal(
            None,
            args.severity or services.settings.config.default_severity,
            private_metadata=json.dumps({"channel": ctx.channel_id}),
        )
        try:
            services.client.views_open(trigger_id=ctx.trigger_id, view=view)
        except Exception as exc:
            ctx.reply(
                f"Could not open the declare form ({slack_error(exc)}). "
                "You can declare directly: `/incident declare [sev1-4] <title>`"
            )
        return
    try:
        result = services.incidents.declare(
            title=args.title, severity=args.severity, declarer=ctx.user_id, dedupe_key=ctx.dedupe_key
        )
    except DeclareFailed as exc:
        ctx.reply(f":x: {exc}")
        return
    ctx.reply(_declared_text(result) + args.notice)


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


def register(app: App, services: Services) -> None:
    @app.view(blocks.DECLARE_CALLBACK)
    def on_declare_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = _modal_values(view)
        title = clean_title(values["title"])
        if not title:
            ack(
                response_action="errors",
                errors={"title": "Give the incident a title with visible characters."},
            )
            return
        ack()
        user = body["user"]["id"]
        key = f"view:{view['id']}"
        if not services.repo.claim(key, kind="view"):
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        try:
            result = services.incidents.declare(
                title=title,
                severity=values["severity"],
                declarer=user,
                summary=values["summary"].strip(),
                private=values["private"],
                dedupe_key=key,
            )
            text = _declared_text(result)
        except DeclareFailed as exc:
            text = f":x: {exc}"
        origin = meta.get("channel")
        if origin:
            try:
                services.client.chat_postEphemeral(channel=origin, user=user, text=text)
            except Exception as exc:
                log.info("could not confirm declare to %s: %s", user, slack_error(exc))
        services.repo.finish_claim(key)  # "done" once the person has their answer
