"""POST /alerts/alertmanager and /alerts/grafana: authenticate, parse, record; the HTTP edge
(`bot.slack.app`) admits the request head (``admit``), reads the size-limited body and turns the
answer into a response."""

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
from bot.ops.failures import database_error
from bot.ops.request_values import MAX_NUMBER_DIGITS, hex_digest, number

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


def bearer_ok(settings: Settings, headers: Mapping[str, str]) -> bool:
    """A bearer token equal to ALERTS_BEARER_TOKEN."""
    token = settings.alerts_bearer_token
    if token is None:
        return False
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.get_secret_value().encode()
    )


def admit(settings: Settings, headers: Mapping[str, str], now: float | None = None) -> Answer | None:
    """What the request head alone can settle, before a byte of the body is read: intake is on,
    and the request carries a good bearer token or a well-formed (and, when one is required or
    sent, recent) signature, which ``authenticated`` then checks against the body."""
    if not configured(settings):
        return Answer(401, {"error": "alert intake is off: set ALERTS_BEARER_TOKEN or ALERTS_HMAC_SECRET"})
    if bearer_ok(settings, headers) or _signature_head_ok(settings, headers, now):
        return None
    return Answer(401, {"error": "missing or wrong credentials"})


def _signature_head_ok(settings: Settings, headers: Mapping[str, str], now: float | None) -> bool:
    if settings.alerts_hmac_secret is None or hex_digest(headers.get(SIGNATURE_HEADER)) is None:
        return False
    timestamp = headers.get(TIMESTAMP_HEADER)
    if timestamp is None:
        return not settings.config.alerts.require_signature_timestamp
    sent = number(timestamp, MAX_NUMBER_DIGITS)
    return sent is not None and abs((now or time.time()) - sent) <= MAX_SKEW_S


def authenticated(
    settings: Settings, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> bool:
    """A bearer token equal to ALERTS_BEARER_TOKEN, or an HMAC-SHA256 of the body (of
    ``"<timestamp>:" + body`` when a timestamp is sent, which must then be recent; ``[alerts]
    require_signature_timestamp`` makes it required) with ALERTS_HMAC_SECRET, as Grafana's webhook
    contact point signs."""
    if bearer_ok(settings, headers):
        return True
    if not _signature_head_ok(settings, headers, now):
        return False
    secret, signature = settings.alerts_hmac_secret, hex_digest(headers.get(SIGNATURE_HEADER))
    assert secret is not None and signature is not None
    timestamp = headers.get(TIMESTAMP_HEADER)
    signed = body if timestamp is None else timestamp.encode() + b":" + body
    expected = hmac.new(secret.get_secret_value().encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def configured(settings: Settings) -> bool:
    return settings.alerts_bearer_token is not None or settings.alerts_hmac_secret is not None


def handle(
    alerts: AlertService, settings: Settings, source: str, headers: Mapping[str, str], body: bytes
) -> Answer:
    refused = admit(settings, headers)
    if refused is not None:
        return refused
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
        log.exception("alert intake: %s", database_error())
        return Answer(503, {"error": "the database is unavailable; retry"})
    if got is None:
        return Answer(200, {"status": "summarised", "reason": "over [alerts] new_groups_per_minute"})
    return Answer(200, {"status": "ok", "group": got.group.id, "alerts": len(notification.alerts)})
