"""Lifecycle listeners: `/incident` subcommands, the summary card's buttons, and its modals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands.listeners import CommandContext, handles
from bot.commands.parser import REGISTRY, UsageError
from bot.incidents import blocks
from bot.incidents.commands import (
    AddNote,
    AssignRole,
    Close,
    Convert,
    ListOpen,
    PostUpdate,
    Reopen,
    Resolve,
    SetSeverity,
    SetStatus,
    SetTime,
    ShowTimeline,
    user_text,
)
from bot.incidents.lifecycle import Actor, Outcome
from bot.slack.client import slack_error
from bot.slack.text import one_line
from bot.wiring import Services
from storage.models import Incident

log = logging.getLogger(__name__)


def _actor(ctx: CommandContext) -> Actor:
    return Actor(ctx.user_id, ctx.dedupe_key)


def _incident(ctx: CommandContext) -> Incident:
    assert ctx.incident is not None, "the dispatcher refuses non-incident channels"
    return ctx.incident


def _answer(ctx: CommandContext, outcome: Outcome) -> None:
    text = outcome.reply_text()
    if text:
        ctx.reply(text)


@handles("status")
def status_command(ctx: CommandContext, args: SetStatus) -> None:
    _answer(ctx, ctx.services.lifecycle.set_status(_incident(ctx), args.status, _actor(ctx)))


@handles("severity")
def severity_command(ctx: CommandContext, args: SetSeverity) -> None:
    _answer(ctx, ctx.services.lifecycle.set_severity(_incident(ctx), args.severity, _actor(ctx)))


def _role_command(ctx: CommandContext, args: AssignRole) -> None:
    roles = ctx.services.settings.config.roles
    if args.role not in roles:
        names = ", ".join(f"`{r}`" for r in roles)
        raise UsageError(
            f"Unknown role `{one_line(args.role, 30)}`: use one of {names}.", REGISTRY["role"].usage
        )
    _answer(ctx, ctx.services.lifecycle.assign_role(_incident(ctx), args.role, args.user_id, _actor(ctx)))


handles("role")(_role_command)
handles("lead")(_role_command)


@handles("update")
def update_command(ctx: CommandContext, args: PostUpdate) -> None:
    _answer(ctx, ctx.services.lifecycle.post_update(_incident(ctx), args.text, _actor(ctx)))


@handles("note")
def note_command(ctx: CommandContext, args: AddNote) -> None:
    _answer(ctx, ctx.services.lifecycle.add_note(_incident(ctx), args.text, args.when, _actor(ctx)))


@handles("time")
def time_command(ctx: CommandContext, args: SetTime) -> None:
    _answer(ctx, ctx.services.lifecycle.set_time(_incident(ctx), args.milestone, args.when, _actor(ctx)))


@handles("timeline")
def timeline_command(ctx: CommandContext, args: ShowTimeline) -> None:
    ctx.reply(ctx.services.lifecycle.timeline_page(_incident(ctx), args.page))


@handles("resolve")
def resolve_command(ctx: CommandContext, args: Resolve) -> None:
    fields: dict[str, str | None] = {"resolution_summary": args.summary}
    _answer(ctx, ctx.services.lifecycle.resolve(_incident(ctx), _actor(ctx), fields))


@handles("close")
def close_command(ctx: CommandContext, args: Close) -> None:
    _answer(ctx, ctx.services.lifecycle.close(_incident(ctx), _actor(ctx)))


@handles("reopen")
def reopen_command(ctx: CommandContext, args: Reopen) -> None:
    _answer(ctx, ctx.services.lifecycle.reopen(_incident(ctx), _actor(ctx)))


@handles("list")
def list_command(ctx: CommandContext, args: ListOpen) -> None:
    ctx.reply(ctx.services.lifecycle.list_open(ctx.user_id))


@handles("convert")
def convert_command(ctx: CommandContext, args: Convert) -> None:
    if ctx.incident is not None:
        ctx.reply(f"This channel is already *{blocks.incident_ref(ctx.incident)}*.")
        return
    outcome = ctx.services.lifecycle.convert(ctx.channel_id, args.title, args.severity, _actor(ctx))
    _answer(ctx, outcome)


# -- the summary card ---------------------------------------------------------------------------
# (incident, the block_actions payload, actor) → what to tell the clicker, if anything
CardAction = Callable[[Incident, dict[str, Any], Actor], Outcome | None]


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body["actions"][0])


def _view_values(view: dict[str, Any]) -> dict[str, str]:
    """Plain text inputs of a modal: block_id → stripped text ("" when empty)."""
    values = view.get("state", {}).get("values", {})
    return {block: ((v.get("value") or {}).get("value") or "").strip() for block, v in values.items()}


def register(app: App, services: Services) -> None:
    lifecycle = services.lifecycle

    def on_card(ack: Ack, body: dict[str, Any], respond: Respond, run: CardAction) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id", "")
        incident = services.repo.incident_by_channel(channel)

        def tell(text: str) -> None:
            respond(text=text, response_type="ephemeral", replace_original=False)

        if incident is None:
            tell("This card's incident no longer exists.")
            return
        key = f"action:{body.get('trigger_id')}"
        if not services.repo.claim(key, kind="action"):
            log.info("duplicate delivery of a card action ignored")
            return
        try:
            outcome = run(incident, body, Actor(user, key))
        except Exception:
            log.exception("card action failed")
            services.repo.release_claim(key)
            tell("Sorry, that failed on our side; nothing was lost. Please try again.")
            return
        if outcome is not None and outcome.reply_text():
            tell(outcome.reply_text())
        services.repo.finish_claim(key)  # "done" once the person has their answer

    def card(action_id: str, run: CardAction) -> None:
        @app.action(action_id)
        def _listener(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            on_card(ack, body, respond, run)

    card(
        blocks.ACTION_STATUS,
        lambda inc, b, actor: lifecycle.set_status(inc, _action(b)["selected_option"]["value"], actor),
    )
    card(
        blocks.ACTION_SEVERITY,
        lambda inc, b, actor: lifecycle.set_severity(inc, _action(b)["selected_option"]["value"], actor),
    )
    card(
        blocks.ACTION_LEAD,
        lambda inc, b, actor: lifecycle.assign_role(inc, "lead", _action(b)["selected_user"], actor),
    )

    def modal_opener(build: Callable[[Incident], Any]) -> CardAction:
        def run(inc: Incident, body: dict[str, Any], actor: Actor) -> Outcome | None:
            if inc.is_closed:
                return Outcome(False, f"*{blocks.incident_ref(inc)}* is closed.")
            try:
                services.client.views_open(trigger_id=body.get("trigger_id", ""), view=build(inc))
            except Exception as exc:
                return Outcome(False, f"Could not open the form ({slack_error(exc)}); the command works too.")
            return None

        return run

    card(blocks.ACTION_UPDATE, modal_opener(blocks.update_modal))
    card(blocks.ACTION_RESOLVE, modal_opener(blocks.resolve_modal))

    def on_modal(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], run: Callable[[Incident, Actor], Outcome]
    ) -> None:
        ack()
        user = body["user"]["id"]
        key = f"view:{view['id']}"
        if not services.repo.claim(key, kind="view"):
            return
        incident = services.repo.incident(int(view.get("private_metadata") or 0))
        try:
            outcome = run(incident, Actor(user, key))
        except Exception:
            log.exception("modal submission failed")
            services.repo.release_claim(key)
            outcome = Outcome(False, "Sorry, that failed on our side; nothing was lost. Please try again.")
            failed = True
        else:
            failed = False
        if outcome.reply_text() and incident.channel_id:
            try:
                services.client.chat_postEphemeral(
                    channel=incident.channel_id, user=user, text=outcome.reply_text()
                )
            except Exception as exc:
                log.info("could not tell %s: %s", user, slack_error(exc))
        if not failed:
            services.repo.finish_claim(key)  # "done" once the person has their answer

    @app.view(blocks.UPDATE_CALLBACK)
    def on_update(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            text = user_text(_view_values(view).get("text", ""), "update", slack_formatted=False)
        except UsageError as exc:
            ack(response_action="errors", errors={"text": exc.message})
            return
        on_modal(ack, body, view, lambda inc, actor: lifecycle.post_update(inc, text, actor))

    @app.view(blocks.RESOLVE_CALLBACK)
    def on_resolve(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = _view_values(view)
        if not values.get("resolution_summary"):
            ack(
                response_action="errors",
                errors={"resolution_summary": "Say in a sentence how it was resolved."},
            )
            return
        fields: dict[str, str | None] = {
            name: values.get(name) or None for name, _, _ in blocks.RESOLVE_FIELDS
        }
        on_modal(ack, body, view, lambda inc, actor: lifecycle.resolve(inc, actor, fields))
