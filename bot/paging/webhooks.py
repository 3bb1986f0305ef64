"""The outgoing webhook: an incident event as JSON, signed like Slack signs its requests.

``X-Incident-Bot-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">`` with
``X-Incident-Bot-Request-Timestamp: <unix seconds>``; receivers recompute it with the shared
OUTGOING_WEBHOOK_SECRET, compare in constant time and refuse timestamps older than 5 minutes.
``X-Incident-Bot-Event-Id`` is the same on every retry of one event (receivers may dedupe by it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

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


def event_body(incident: Incident, event: str, event_id: str, at: datetime) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event": event,
        "occurred_at": at.isoformat(),
        "incident": {
            "id": incident_ref(incident),
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity,
            "status": "closed" if incident.is_closed else incident.status,
            "channel_id": incident.channel_id,
            "channel_link": channel_link(incident),
        },
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
