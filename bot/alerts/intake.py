"""POST /alerts/alertmanager and /alerts/grafana: authenticate, parse, record; the HTTP edge
(`bot.slack.app`) reads the size-limited body and turns the answer into a response."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from bot.alerts.payloads import BadNotification, parse
from bot.alerts.service import AlertService, NoTriageChannel
from bot.config import Settings

log = logging.getLogger(__name__)

SOURCES = ("alertmanager", "grafana")
SIGNATURE_HEADER = "x-grafana-alerting-signature"
TIMESTAMP_HEADER = "x-grafana-alerting-signature-timestamp"
MAX_SKEW_S = 300


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, object]

    def json(self) -> bytes:
        return json.dumps(self.body).encode()


def authenticated(
    settings: Settings, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> bool:
    """A bearer token equal to ALERTS_BEARER_TOKEN, or an HMAC-SHA256 of the body (of
    ``"<timestamp>:" + body`` when a timestamp is sent, which must then be recent) with
    ALERTS_HMAC_SECRET, as Grafana's webhook contact point signs."""
    token = settings.alerts_bearer_token
    if token is not None:
        given = headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.get_secret_value().encode()
        ):
            return True
    secret = settings.alerts_hmac_secret
    signature = headers.get(SIGNATURE_HEADER, "")
    if secret is not None and signature:
        signed = body
        timestamp = headers.get(TIMESTAMP_HEADER)
        if timestamp is not None:
            if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
                return False
            if abs((now or time.time()) - int(timestamp)) > MAX_SKEW_S:
                return False
            signed = timestamp.encode() + b":" + body
        expected = hmac.new(secret.get_secret_value().encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.strip().lower())
    return False


def configured(settings: Settings) -> bool:
    return settings.alerts_bearer_token is not None or settings.alerts_hmac_secret is not None


def handle(
    alerts: AlertService, settings: Settings, source: str, headers: Mapping[str, str], body: bytes
) -> Answer:
    if not configured(settings):
        return Answer(401, {"error": "alert intake is off: set ALERTS_BEARER_TOKEN or ALERTS_HMAC_SECRET"})
    if not authenticated(settings, headers, body):
        return Answer(401, {"error": "missing or wrong credentials"})
    try:
        notification = parse(source, body)
    except BadNotification as exc:
        return Answer(400, {"error": f"not an {source} notification: {exc}"})
    try:
        got = alerts.receive(source, notification)
    except NoTriageChannel as exc:
        return Answer(503, {"error": str(exc)})
    except SQLAlchemyError:
        log.exception("alert intake: the database failed")
        return Answer(503, {"error": "the database is unavailable; retry"})
    return Answer(200, {"status": "ok", "group": got.group.id, "alerts": len(notification.alerts)})
