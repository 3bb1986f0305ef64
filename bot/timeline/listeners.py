"""Timeline listeners: message events are recorded; reactions, pins and the "Add to timeline"
shortcut put messages on the timeline. Each delivery is claimed by its id, so it runs once.

Module-level functions: the channel's incident (``incident``), the timeline service and the
repository come through Bolt's context (``bot.slack.app``). The incident is the one of the
event's channel (for a reaction or a pin, the channel of the message it is on).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond

from bot.errors import NOT_AN_INCIDENT_CHANNEL
from bot.incidents.access import Access, Action
from bot.incidents.entry_points import Listeners
from bot.slack.deliveries import delivery, note_duplicate
from bot.timeline.service import PIN, TIMELINE_KIND, TimelineService
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

SHORTCUT_CALLBACK = "add_to_timeline"


def in_a_channel(event: dict[str, Any]) -> bool:
    return event.get("channel_type") in ("channel", "group")


def on_message(
    body: dict[str, Any],
    event: dict[str, Any],
    incident: Incident | None,
    timeline: TimelineService,
    repo: Repository,
) -> None:
    if incident is None:
        return
    key = f"ev:{body.get('event_id')}"
    if event.get("subtype") == "message_deleted":
        with delivery(repo, key) as mine:
            if mine:
                timeline.on_message(incident, event)
    elif timeline.on_message(incident, event, claim_key=key).action == "duplicate":
        note_duplicate()  # the delivery was claimed with the message it records: one unit of work


def on_reaction(
    body: dict[str, Any],
    event: dict[str, Any],
    own_user_id: str,
    incident: Incident | None,
    timeline: TimelineService,
) -> None:
    item = event.get("item") or {}
    user = event.get("user") or ""
    if item.get("type") != "message" or not user or user == own_user_id:
        return
    if timeline.kind_of(event.get("reaction") or "") is None or incident is None:
        return
    timeline.on_reaction(
        incident,
        str(item["ts"]),
        event["reaction"],
        user,
        event["type"] == "reaction_added",
        str(event.get("event_ts") or item["ts"]),
        claim_key=f"ev:{body.get('event_id')}",
    )


def on_pin(
    body: dict[str, Any],
    event: dict[str, Any],
    own_user_id: str,
    incident: Incident | None,
    timeline: TimelineService,
) -> None:
    item = event.get("item") or {}
    message = item.get("message") or {}
    user = event.get("user") or ""
    channel = event.get("channel_id") or item.get("channel")
    if item.get("type") != "message" or not message.get("ts") or not user:
        return
    if user == own_user_id or incident is None or channel is None:
        return
    # The pin's copy of the message is not recorded: Slack sends it without its files. A message
    # whose own event has not been recorded (still on its way, or lost) is read from Slack instead.
    timeline.mark(
        incident,
        str(message["ts"]),
        TIMELINE_KIND,
        PIN,
        user,
        active=event["type"] == "pin_added",
        changed_ts=str(event.get("event_ts") or message["ts"]),
        source="pin",
        claim_key=f"ev:{body.get('event_id')}",  # claimed with the mark, in one unit of work
    )


def on_shortcut(
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    incident: Incident | None,
    timeline: TimelineService,
    repo: Repository,
    access: Access,
) -> None:
    ack()
    channel = (body.get("channel") or {}).get("id")
    message = body.get("message") or {}
    user = (body.get("user") or {}).get("id") or ""
    if incident is None or channel is None or not message.get("ts"):
        respond(text=NOT_AN_INCIDENT_CHANNEL, response_type="ephemeral")
        return
    with delivery(repo, f"shortcut:{body.get('trigger_id')}", kind="event") as mine:
        if not mine:
            return
        refusal = access.check(user, Action.CHANGE, incident)
        if refusal:
            respond(text=refusal, response_type="ephemeral")
            return
        answer = timeline.add_from_shortcut(incident, channel, message, user, body.get("action_ts"))
        respond(text=answer, response_type="ephemeral")


def register(on: Listeners) -> None:
    on.event("message", Action.CAPTURE, matchers=[in_a_channel])(on_message)
    on.event("reaction_added", Action.CAPTURE)(on_reaction)
    on.event("reaction_removed", Action.CAPTURE)(on_reaction)
    on.event("pin_added", Action.CAPTURE)(on_pin)
    on.event("pin_removed", Action.CAPTURE)(on_pin)
    on.shortcut(SHORTCUT_CALLBACK, Action.CHANGE)(on_shortcut)
