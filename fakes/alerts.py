"""An Alertmanager / Grafana webhook *sender* for tests and benches.

Builds real-shaped payloads (Alertmanager `webhook_config` version 4; Grafana's webhook contact
point, the same plus Grafana fields) and POSTs them the way Alertmanager does: JSON, optional
bearer or HMAC auth, retried on 5xx and connection errors with bounded exponential backoff (4xx is
final). The pydantic models here are for *building*; the bot parses intake with its own models.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert with no end yet


def rfc3339(t: datetime | None = None) -> str:
    return (t or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit id of a label set (Alertmanager's is a 64-bit hash of the labels too)."""
    canon = "\xff".join(f"{k}\xff{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


class AlertmanagerAlert(BaseModel):
    status: Literal["firing", "resolved"] = "firing"
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = Field(default_factory=rfc3339)
    endsAt: str = ZERO_TIME
    generatorURL: str = ""
    fingerprint: str = ""

    def model_post_init(self, __context: Any) -> None:
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.labels)


class AlertmanagerPayload(BaseModel):
    version: Literal["4"] = "4"
    groupKey: str
    truncatedAlerts: int = 0
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str]
    commonLabels: dict[str, str]
    commonAnnotations: dict[str, str]
    externalURL: str
    alerts: list[AlertmanagerAlert]


class GrafanaAlert(AlertmanagerAlert):
    dashboardURL: str = ""
    panelURL: str = ""
    silenceURL: str = ""
    values: dict[str, float] | None = None


class GrafanaPayload(AlertmanagerPayload):
    version: Literal["1"] = "1"  # type: ignore[assignment]  # Grafana's own payload version
    alerts: list[GrafanaAlert]  # type: ignore[assignment]
    orgId: int = 1
    state: Literal["alerting", "ok"]
    title: str
    message: str


def alert(
    alertname: str,
    *,
    status: Literal["firing", "resolved"] = "firing",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    generator_url: str = "http://prometheus.local:9090/graph?g0.expr=up+%3D%3D+0",
) -> AlertmanagerAlert:
    """One alert; a resolved alert gets `endsAt` (now unless given)."""
    all_labels = {"alertname": alertname, **(labels or {})}
    end = rfc3339(ends_at) if ends_at or status == "resolved" else ZERO_TIME
    return AlertmanagerAlert(
        status=status,
        labels=all_labels,
        annotations=annotations or {},
        startsAt=rfc3339(starts_at),
        endsAt=end,
        generatorURL=generator_url,
    )


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    return {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])}


def _group_key(receiver: str, group_labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return f'{{}}/{{receiver="{receiver}"}}:{{{inner}}}'


def alertmanager_payload(
    alerts: list[AlertmanagerAlert],
    *,
    receiver: str = "incident-bot",
    group_by: tuple[str, ...] = ("alertname",),
    external_url: str = "http://alertmanager.local:9093",
    max_alerts: int = 0,
) -> AlertmanagerPayload:
    """Group `alerts` the way Alertmanager notifies: firing if any alert fires; `max_alerts` > 0
    truncates the list and counts the rest in `truncatedAlerts`. The same `group_by` values give
    the same `groupKey` across notifications (firing, then resolved)."""
    labels = [a.labels for a in alerts]
    common = _common(labels)
    group_labels = {k: common[k] for k in group_by if k in common}
    kept = alerts[:max_alerts] if max_alerts > 0 else alerts
    return AlertmanagerPayload(
        groupKey=_group_key(receiver, group_labels),
        truncatedAlerts=len(alerts) - len(kept),
        status="firing" if any(a.status == "firing" for a in alerts) else "resolved",
        receiver=receiver,
        groupLabels=group_labels,
        commonLabels=common,
        commonAnnotations=_common([a.annotations for a in alerts]),
        externalURL=external_url,
        alerts=list(kept),
    )


def grafana_payload(
    alerts: list[AlertmanagerAlert],
    *,
    receiver: str = "incident-bot",
    grafana_url: str = "http://grafana.local:3000",
    org_id: int = 1,
    values: dict[str, float] | None = None,
    group_by: tuple[str, ...] = ("alertname",),
) -> GrafanaPayload:
    """Grafana's webhook contact point body for `alerts` (dashboard/panel/silence links per alert)."""
    base = alertmanager_payload(alerts, receiver=receiver, group_by=group_by, external_url=grafana_url)
    firing = sum(1 for a in alerts if a.status == "firing")
    gal = []
    for a in alerts:
        silence = f"{grafana_url}/alerting/silence/new?alertmanager=grafana&matcher=alertname%3D{a.labels['alertname']}"
        gal.append(
            GrafanaAlert(
                **a.model_dump(),
                dashboardURL=f"{grafana_url}/d/fake-dash",
                panelURL=f"{grafana_url}/d/fake-dash?viewPanel=1",
                silenceURL=silence,
                values=values if values is not None else {"A": 1.0},
            )
        )
    resolved = len(alerts) - firing
    state = f"FIRING:{firing}" + (f", RESOLVED:{resolved}" if resolved else "") if firing else "RESOLVED"
    extra = [v for k, v in sorted(base.commonLabels.items()) if k not in base.groupLabels]
    subject = " ".join(v for _k, v in sorted(base.groupLabels.items()))  # Grafana's default title
    title = f"[{state}] {subject} " + (f"({' '.join(extra)})" if extra else "")
    message = "\n".join(
        f"{'Firing' if a.status == 'firing' else 'Resolved'}: {a.annotations.get('summary', a.labels['alertname'])}"
        for a in alerts
    )
    return GrafanaPayload(
        **{k: v for k, v in base.model_dump().items() if k not in ("alerts", "version")},
        alerts=gal,
        orgId=org_id,
        state="alerting" if firing else "ok",
        title=title,
        message=message,
    )


@dataclass(frozen=True)
class Bearer:
    token: str


@dataclass(frozen=True)
class Hmac:
    """Grafana's webhook HMAC: hex HMAC-SHA256 of the body (prefixed by "<timestamp>:" when a
    timestamp header is configured) in `header`."""

    secret: str
    header: str = "X-Grafana-Alerting-Signature"
    timestamp_header: str | None = "X-Grafana-Alerting-Signature-Timestamp"


@dataclass
class SendResult:
    status: int | None  # last HTTP status (None: never got an answer)
    attempts: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send(
    url: str,
    payload: BaseModel | dict[str, Any],
    *,
    auth: Bearer | Hmac | None = None,
    retries: int = 3,
    backoff: float = 0.1,
    max_backoff: float = 2.0,
    timeout: float = 5.0,
    client: httpx.Client | None = None,
) -> SendResult:
    """POST `payload` like Alertmanager: up to `retries` more attempts after a 5xx or a connection
    error/timeout, sleeping `backoff` * 2^n (capped at `max_backoff`) between them."""
    data = payload.model_dump() if isinstance(payload, BaseModel) else payload
    body = json.dumps(data, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.27.0 (fakes.alerts)"}
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    result = SendResult(None, 0)
    try:
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(min(max_backoff, backoff * 2 ** (attempt - 1)))
            hdrs = dict(headers)
            if isinstance(auth, Bearer):
                hdrs["Authorization"] = f"Bearer {auth.token}"
            elif isinstance(auth, Hmac):
                signed = body
                if auth.timestamp_header:
                    ts = str(int(time.time()))
                    hdrs[auth.timestamp_header] = ts
                    signed = ts.encode() + b":" + body
                hdrs[auth.header] = hmac.new(auth.secret.encode(), signed, hashlib.sha256).hexdigest()
            result.attempts = attempt + 1
            try:
                response = http.post(url, content=body, headers=hdrs)
            except httpx.TransportError as exc:
                result.status, result.error = None, f"{type(exc).__name__}: {exc}"
                continue
            result.status, result.error = response.status_code, None
            if response.status_code < 500:
                break
        return result
    finally:
        if own:
            http.close()
