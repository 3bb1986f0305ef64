"""The outgoing webhook: an incident event as JSON, signed like Slack signs its requests.

``X-Incident-Bot-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">`` with
``X-Incident-Bot-Request-Timestamp: <unix seconds>``; receivers recompute it with the shared
OUTGOING_WEBHOOK_SECRET, compare in constant time and refuse timestamps older than 5 minutes.
``X-Incident-Bot-Event-Id`` is the same on every retry of one event (receivers may dedupe by it).
A private incident's events go only to endpoints with ``include_private``, and without their title
and channel unless the endpoint also sets ``include_private_details`` (``for_endpoint``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from bot.config import WebhookConfig
from bot.incidents.vocabulary import incident_ref
from storage.models import Incident

SIGNATURE = "X-Incident-Bot-Signature"
TIMESTAMP = "X-Incident-Bot-Request-Timestamp"
EVENT_ID = "X-Incident-Bot-Event-Id"
VERSION = "v0"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str, now: float, max_age: float = 300) -> bool:
    """What a receiver does (the tests' receiver uses it)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now - int(timestamp)) > max_age:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)


def channel_link(incident: Incident) -> str | None:
    if not incident.channel_id:
        return None
    return f"https://slack.com/app_redirect?channel={incident.channel_id}"


def event_body(
    incident: Incident, event: str, event_id: str, at: datetime, details: bool = True
) -> dict[str, Any]:
    """The event as sent; ``details=False`` (a private incident, for an endpoint not trusted with
    its details): the same shape with no title and no channel."""
    return {
        "event_id": event_id,
        "event": event,
        "occurred_at": at.isoformat(),
        "incident": {
            "id": incident_ref(incident),
            "number": incident.number,
            "title": incident.title if details else None,
            "severity": incident.severity,
            "status": "closed" if incident.is_closed else incident.status,
            "private": incident.is_private,
            "channel_id": incident.channel_id if details else None,
            "channel_link": channel_link(incident) if details else None,
        },
    }


def for_endpoint(
    hook: WebhookConfig, incident: Incident, event: str, event_id: str, at: datetime
) -> dict[str, Any] | None:
    """What ``hook`` receives of this event (None: nothing, a private incident it is not sent)."""
    if event not in hook.events:
        return None
    if not incident.is_private:
        return event_body(incident, event, event_id, at)
    if not hook.include_private:
        return None
    return event_body(incident, event, event_id, at, details=hook.include_private_details)


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
