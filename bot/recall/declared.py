"""At declare, the past incidents most like the new one, posted once in its channel: public ones
only (everyone in the channel reads it), each sharing at least two words with it; nothing when
none is similar enough."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.incidents.access import may_name_publicly
from bot.incidents.vocabulary import incident_ref
from bot.present.pages import Pages
from bot.recall.blocks import similar_line
from bot.search.similar import MIN_REQUIRED, Candidate, readable, similar_to
from bot.slack.client import slack_error
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)


def similar_text(found: list[Candidate]) -> str:
    return "\n".join(["*Similar:*", *(similar_line(c) for c in found)])


def post_similar(repo: Repository, client: WebClient, incident: Incident) -> None:
    """Never raises: a declare does not depend on it."""
    if not incident.channel_id:
        return
    try:
        # A title of one telling word matches too much to be worth a message in everyone's channel.
        found = [c for c in similar_to(repo, incident, may_name_publicly) if c.words >= MIN_REQUIRED]
        found = readable(found, Pages(client).readable)
        if found:
            client.chat_postMessage(channel=incident.channel_id, text=similar_text(found), unfurl_links=False)
    except Exception as exc:
        log.warning("%s: could not post similar incidents: %s", incident_ref(incident), slack_error(exc))
