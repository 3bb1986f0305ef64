"""Timeline listeners: message events are recorded; reactions, pins and the "Add to timeline"
shortcut put messages on the timeline. Each delivery is claimed by its id, so it runs once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands.listeners import NOT_AN_INCIDENT_CHANNEL
from bot.timeline.service import PIN, TIMELINE_KIND
from bot.wiring import Services
from storage.models import Incident

log = logging.getLogger(__name__)

SHORTCUT_CALLBACK = "add_to_timeline"


def once(services: Services, key: str, work: Callable[[], object]) -> None:
    """Run ``work`` for a delivery unless it already ran (or is running) elsewhere."""
    if not services.repo.claim(key):
        log.debug("duplicate delivery %s ignored", key)
        return
    try:
        work()
    except Exception:
        services.repo.release_claim(key)
        raise
    services.repo.finish_claim(key)


def accepting(executor: Executor) -> Callable[[], bool]:
    """Whether this process still takes events: its listener pool accepts work."""

    def alive() -> bool:
        try:
            executor.submit(_noop)
        except RuntimeError:
            return False
        return True

    return alive


def _noop() -> None:
    return None


def register(app: App, services: Services) -> None:
    timeline = services.timeline

    def incident_for(channel: str | None) -> Incident | None:
        return timeline.incidents.get(channel) if channel else None

    def in_a_channel(event: dict[str, Any]) -> bool:
        return event.get("channel_type") in ("channel", "group")

    @app.event("message", matchers=[in_a_channel])
    def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        incident = incident_for(event.get("channel"))
        if incident is None:
            return
        key = f"ev:{body.get('event_id')}"
        if event.get("subtype") == "message_deleted":
            once(services, key, lambda: timeline.on_message(incident, event))
        else:  # the delivery is claimed with the message it records: one unit of work
            timeline.on_message(incident, event, claim_key=key)

    def on_reaction(body: dict[str, Any], event: dict[str, Any], added: bool) -> None:
        item = event.get("item") or {}
        user = event.get("user") or ""
        if item.get("type") != "message" or not user or user == services.bot_user_id:
            return
        if timeline.kind_of(event.get("reaction") or "") is None:
            return
        incident = incident_for(item.get("channel"))
        if incident is None:
            return
        timeline.on_reaction(
            incident,
            str(item["ts"]),
            event["reaction"],
            user,
            added,
            str(event.get("event_ts") or item["ts"]),
            claim_key=f"ev:{body.get('event_id')}",
        )

    @app.event("reaction_added")
    def on_reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_reaction(body, event, True)

    @app.event("reaction_removed")
    def on_reaction_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_reaction(body, event, False)

    def on_pin(body: dict[str, Any], event: dict[str, Any], added: bool) -> None:
        item = event.get("item") or {}
        message = item.get("message") or {}
        user = event.get("user") or ""
        channel = event.get("channel_id") or item.get("channel")
        if item.get("type") != "message" or not message.get("ts") or not user or user == services.bot_user_id:
            return
        incident = incident_for(channel)
        if incident is None or channel is None:
            return

        def work() -> None:
            timeline.record_copy(channel, message)
            timeline.mark(
                incident,
                str(message["ts"]),
                TIMELINE_KIND,
                PIN,
                user,
                active=added,
                changed_ts=str(event.get("event_ts") or message["ts"]),
                source="pin",
            )

        once(services, f"ev:{body.get('event_id')}", work)

    @app.event("pin_added")
    def on_pin_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_pin(body, event, True)

    @app.event("pin_removed")
    def on_pin_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_pin(body, event, False)

    @app.shortcut(SHORTCUT_CALLBACK)
    def on_shortcut(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        user = (body.get("user") or {}).get("id") or ""
        incident = incident_for(channel)
        if incident is None or channel is None or not message.get("ts"):
            respond(text=NOT_AN_INCIDENT_CHANNEL, response_type="ephemeral")
            return

        def work() -> None:
            answer = timeline.add_from_shortcut(incident, channel, message, user, body.get("action_ts"))
            respond(text=answer, response_type="ephemeral")

        once(services, f"shortcut:{body.get('trigger_id')}", work)

    timeline.start_background(accepting(app.listener_runner.listener_executor))
