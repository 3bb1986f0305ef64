"""Pure rules: routing by labels, intake authentication, notification parsing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.alerts.intake import authenticated
from bot.alerts.payloads import BadNotification, parse
from bot.alerts.routing import Route, route
from bot.config import BotConfig, load_settings
from fakes.alerts import alert, alertmanager_payload, grafana_payload


def test_first_matching_route_wins_and_fills_in_defaults() -> None:
    cfg = BotConfig.model_validate(
        {
            "default_severity": "sev3",
            "alerts": {
                "triage_channel": "CTRIAGE",
                "routes": [
                    {"match": {"severity": "critical"}, "severity": "sev1", "auto_declare": True},
                    {"match": {"team": "db"}, "channel": "CDB"},
                ],
            },
        }
    )
    assert route(cfg, {"severity": "critical", "team": "db"}) == Route("CTRIAGE", "sev1", True)
    assert route(cfg, {"team": "db"}) == Route("CDB", "sev3", False)
    assert route(cfg, {"team": "web"}) == Route("CTRIAGE", "sev3", False)


def test_bad_routes_and_routing_keys_are_refused_at_load() -> None:
    with pytest.raises(ValueError, match="must be one of"):
        BotConfig.model_validate({"alerts": {"routes": [{"severity": "p1"}]}})
    with pytest.raises(ValueError, match="routing keys are 32 letters or digits"):
        BotConfig.model_validate({"pagerduty": {"routing_keys": {"checkout": "short"}}})
    with pytest.raises(ValueError, match="unknown event"):
        BotConfig.model_validate({"webhooks": [{"url": "https://x.example", "events": ["opened"]}]})


def test_bearer_and_grafana_hmac() -> None:
    s = load_settings(ALERTS_BEARER_TOKEN="tok", ALERTS_HMAC_SECRET="sec")
    body = b'{"a":1}'
    assert authenticated(s, {"authorization": "Bearer tok"}, body)
    assert not authenticated(s, {"authorization": "Bearer tok2"}, body)
    assert not authenticated(s, {"authorization": "Basic tok"}, body)
    sig = hmac.new(b"sec", b"1700000000:" + body, hashlib.sha256).hexdigest()
    headers = {"x-grafana-alerting-signature": sig, "x-grafana-alerting-signature-timestamp": "1700000000"}
    assert authenticated(s, headers, body, now=1700000100)
    assert not authenticated(s, headers, body, now=1700001000)  # too old: a replay
    assert not authenticated(s, headers, body + b" ", now=1700000100)
    plain = hmac.new(b"sec", body, hashlib.sha256).hexdigest()
    assert authenticated(s, {"x-grafana-alerting-signature": plain}, body)
    assert not authenticated(load_settings(), {"authorization": "Bearer "}, body)


def test_parsing_keeps_what_the_card_needs_and_names_what_is_wrong() -> None:
    am = alertmanager_payload([alert("Up", annotations={"summary": "down"})])
    n = parse("alertmanager", am.model_dump_json().encode())
    assert n.title == "Up: down" and n.alerts[0].endsAt is None  # the zero time means no end yet
    g = grafana_payload([alert("Disk")])
    assert parse("grafana", g.model_dump_json().encode()).alerts[0].dashboardURL.endswith("/d/fake-dash")
    body = json.loads(am.model_dump_json())
    body["version"] = "3"
    with pytest.raises(BadNotification, match="version"):
        parse("alertmanager", json.dumps(body).encode())
    body["version"], body["alerts"] = "4", []
    with pytest.raises(BadNotification, match="alerts"):
        parse("alertmanager", json.dumps(body).encode())


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("[FIRING:2, RESOLVED:1] Disk db (prod)", "Disk db (prod)"),
        ("[RESOLVED] Disk db", "Disk db"),
        ("[FIRING:1]  (val1)", "Disk: almost full"),  # no group labels: the alert's own name
        ("Disk on [FIRING:1] db", "Disk on [FIRING:1] db"),  # a custom title is kept
    ],
)
def test_grafana_titles_lose_their_state_prefix(title: str, shown: str) -> None:
    body = json.loads(
        grafana_payload([alert("Disk", annotations={"summary": "almost full"})]).model_dump_json()
    )
    body["title"] = title
    assert parse("grafana", json.dumps(body).encode()).title == shown
