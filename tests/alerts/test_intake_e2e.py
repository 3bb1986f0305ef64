"""POST /alerts/{alertmanager,grafana}: who may send, what is refused, and that nothing refused is stored."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fakes.alerts import Bearer, Hmac, alert, alertmanager_payload, grafana_payload
from tests.support.alert_support import BEARER, HMAC_SECRET, alert_rows, card_of, groups, post
from tests.support.harness import BotServer


def firing(name: str = "HighLatency", **labels: str) -> Any:
    return alertmanager_payload(
        [alert(name, labels={"service": "checkout", **labels}, annotations={"summary": "p99 over 2 s"})]
    )


def test_bearer_and_hmac_are_accepted_and_the_group_is_stored(alert_bot: BotServer, emulator: Any) -> None:
    assert post(alert_bot, firing()).status == 200
    g = grafana_payload([alert("DiskFull", labels={"service": "db-1"})])
    assert post(alert_bot, g, source="grafana", auth=Hmac(HMAC_SECRET)).status == 200
    stored = {x.source: x for x in groups(alert_bot)}
    assert set(stored) == {"alertmanager", "grafana"}
    assert len(alert_rows(alert_bot)) == 2
    card = card_of(alert_bot, emulator, g.groupKey)
    assert "Silence" in str(card["blocks"]) and "Dashboard" in str(card["blocks"])


def test_wrong_or_missing_credentials_are_refused_and_nothing_is_stored(alert_bot: BotServer) -> None:
    p = firing()
    assert post(alert_bot, p, auth=Bearer("wrong")).status == 401
    assert post(alert_bot, p, source="grafana", auth=Hmac("wrong-secret")).status == 401
    url = f"{alert_bot.base}/alerts/alertmanager"
    assert httpx.post(url, json=p.model_dump()).status_code == 401
    # A signature made for another body does not carry over.
    assert (
        httpx.post(url, content=b"{}", headers={"X-Grafana-Alerting-Signature": "00" * 32}).status_code == 401
    )
    assert groups(alert_bot) == [] and alert_rows(alert_bot) == []


def test_malformed_bodies_are_refused_with_the_reason(alert_bot: BotServer) -> None:
    url = f"{alert_bot.base}/alerts/alertmanager"
    auth = {"Authorization": f"Bearer {BEARER}", "Content-Type": "application/json"}
    r = httpx.post(url, content=b"{not json", headers=auth)
    assert r.status_code == 400 and "not an alertmanager notification" in r.json()["error"]
    body = firing().model_dump()
    del body["groupKey"]
    r = httpx.post(url, content=json.dumps(body), headers=auth)
    assert r.status_code == 400 and "groupKey" in r.json()["error"]
    body = firing().model_dump()
    body["alerts"][0]["startsAt"] = "yesterday"
    r = httpx.post(url, content=json.dumps(body), headers=auth)
    assert r.status_code == 400 and "alerts.0.startsAt" in r.json()["error"]
    r = httpx.post(f"{alert_bot.base}/alerts/nagios", content=json.dumps(firing().model_dump()), headers=auth)
    assert r.status_code == 404
    r = httpx.post(url, content=b"x" * 2_000_000, headers=auth)
    assert r.status_code == 413 and "too large" in r.text
    assert groups(alert_bot) == [] and alert_rows(alert_bot) == []


def test_a_non_ascii_signature_is_refused_not_500(alert_bot: BotServer) -> None:
    url = f"{alert_bot.base}/alerts/grafana"
    body = json.dumps(grafana_payload([alert("DiskFull")]).model_dump()).encode()
    r = httpx.post(url, content=body, headers={"X-Grafana-Alerting-Signature": "éé".encode()})
    assert r.status_code == 401
    assert groups(alert_bot) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("truncatedAlerts", 10**30), ("startsAt", "0001-01-01T00:00:00+05:00")],
    ids=["huge-truncated-count", "start-before-year-1-in-utc"],
)
def test_out_of_range_numbers_and_dates_are_400_not_500(alert_bot: BotServer, field: str, value: Any) -> None:
    body = firing().model_dump()
    if field == "startsAt":
        body["alerts"][0][field] = value
    else:
        body[field] = value
    auth = {"Authorization": f"Bearer {BEARER}", "Content-Type": "application/json"}
    r = httpx.post(f"{alert_bot.base}/alerts/alertmanager", content=json.dumps(body), headers=auth)
    assert r.status_code == 400 and field in r.json()["error"], r.text
    assert groups(alert_bot) == []
