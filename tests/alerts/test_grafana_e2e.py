"""POST /alerts/grafana with the body Grafana's webhook contact point really sends (payload version
"1", its own "[FIRING:n] …" title): accepted, the card reads well, and auto-declare works."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakes.alerts import rfc3339
from tests.support.alert_support import card_shows, incidents, post
from tests.support.harness import BotServer, wait_for

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "grafana" / "webhook-firing.json"


def test_a_grafana_notification_is_accepted_read_and_auto_declared(
    alert_bot: BotServer, emulator: Any
) -> None:
    body = json.loads(SAMPLE.read_text(encoding="utf-8"))
    body["alerts"][0]["startsAt"] = rfc3339()
    sent = post(alert_bot, body, source="grafana")
    assert sent.status == 200, sent.error

    # severity=critical routes to auto-declare (tests/support/alert_support.CONFIG)
    card = card_shows(alert_bot, emulator, body["groupKey"], "Auto-declared as")
    assert card["blocks"][0]["text"]["text"] == "Firing: HighLatency Checkout (api critical)"
    assert card["text"].startswith("[FIRING] HighLatency Checkout (api critical) — 1 firing")
    incident = wait_for(
        lambda: next((i for i in incidents(alert_bot) if i.card_ts), None), what="the incident"
    )
    assert incident.title == "HighLatency Checkout (api critical)"
    refused = [(c.method, c.error) for c in emulator.calls if not c.ok]
    assert refused == [], "the bot asked Slack for something it refused (it invited itself?)"
