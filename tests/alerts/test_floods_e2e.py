"""Alert floods over POST /alerts/…: new groups per sender per minute (beyond it one "N more groups"
card), an auto-declare limit, retention of resolved groups, replayed notifications, and a required
signature timestamp."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import blocks, floods
from bot.config import Settings
from fakes.alerts import Hmac, alert, alertmanager_payload, grafana_payload
from tests.support.alert_support import (
    HMAC_SECRET,
    alert_settings,
    card_of,
    card_shows,
    cards,
    groups,
    incidents,
    post,
)
from tests.support.harness import BotServer, wait_for

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

FLOOD_CONFIG = """
[alerts]
triage_channel = "{triage}"
card_update_every = 0.5
new_groups_per_minute = 3
auto_declare_max = 1
require_signature_timestamp = true

[[alerts.routes]]
match = {{ severity = "critical" }}
severity = "sev1"
auto_declare = true
"""


@pytest.fixture
def flood_bot(
    settings: Settings, emulator: Any, triage: dict[str, str], tmp_path: Path
) -> Iterator[BotServer]:
    config = alert_settings(settings, tmp_path, triage, config=FLOOD_CONFIG)
    server = BotServer(config, transport="http").start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()


def group(
    name: str, status: str = "firing", severity: str = "warning", ends_at: datetime | None = None
) -> Any:
    return alertmanager_payload(
        [
            alert(
                name,
                status=status,  # type: ignore[arg-type]
                labels={"severity": severity},
                annotations={"summary": f"{name} is failing"},
                starts_at=T0,
                ends_at=ends_at,
            )
        ]
    )


def test_past_the_new_group_limit_one_summary_card_counts_the_rest(
    flood_bot: BotServer, emulator: Any, triage: dict[str, str]
) -> None:
    for i in range(10):
        assert post(flood_bot, group(f"Flood{i}")).status == 200
    summary = wait_for(
        lambda: next((c for c in cards(emulator, triage["triage"]) if "7 more alert groups" in str(c)), None),
        what="the summary card",
    )
    assert "Flood9 is failing" in str(summary["blocks"])
    for i in range(3):
        card_of(flood_bot, emulator, group(f"Flood{i}").groupKey)
    assert len(cards(emulator, triage["triage"])) == 4  # three groups and one summary, not ten cards
    assert (
        post(flood_bot, group("Flood0", status="resolved", ends_at=T0 + timedelta(minutes=5))).status == 200
    )
    card_shows(flood_bot, emulator, group("Flood0").groupKey, "[RESOLVED]")  # known groups carry on


def test_auto_declare_stops_at_its_limit_and_the_rest_wait_for_a_person(
    flood_bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    triage: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.alerts.service")
    for i in range(3):
        assert post(flood_bot, group(f"Critical{i}", severity="critical")).status == 200
    wait_for(lambda: caplog.text.count("auto_declare_max reached") == 2, what="two groups left to people")
    assert len(incidents(flood_bot)) == 1
    waiting = [g for g in groups(flood_bot) if g.triage == "open"]
    assert len(waiting) == 2
    card = card_of(flood_bot, emulator, waiting[0].group_key)
    assert blocks.ACTION_DECLARE in str(card["blocks"])
    emulator.click_button(
        people["alice"], triage["triage"], card["ts"], blocks.ACTION_DECLARE, value=str(waiting[0].id)
    )
    wait_for(lambda: len(incidents(flood_bot)) == 2, what="a person's declare")  # people are not limited


def test_a_replayed_firing_does_not_reopen_a_resolved_group(flood_bot: BotServer, emulator: Any) -> None:
    firing = group("Replayed")
    assert post(flood_bot, firing).status == 200
    assert (
        post(flood_bot, group("Replayed", status="resolved", ends_at=T0 + timedelta(minutes=10))).status
        == 200
    )
    assert post(flood_bot, firing).status == 200  # captured earlier, sent again
    [g] = groups(flood_bot)
    assert g.status == "resolved"
    card_shows(flood_bot, emulator, firing.groupKey, "[RESOLVED]")
    again = group("Replayed")
    again.alerts[0].startsAt = (T0 + timedelta(minutes=20)).isoformat().replace("+00:00", "Z")
    assert post(flood_bot, again).status == 200  # it really fires again: a later start
    assert groups(flood_bot)[0].status == "firing"


def test_resolved_groups_no_incident_holds_expire_after_the_retention(flood_bot: BotServer) -> None:
    assert post(flood_bot, group("Old")).status == 200
    assert post(flood_bot, group("Old", status="resolved", ends_at=T0 + timedelta(minutes=1))).status == 200
    assert post(flood_bot, group("StillFiring")).status == 200
    cfg = flood_bot.settings.config.alerts
    now = datetime.now(UTC)
    assert floods.expire(flood_bot.services.repo, cfg, now + timedelta(days=cfg.retention_days - 1)) == 0
    assert floods.expire(flood_bot.services.repo, cfg, now + timedelta(days=cfg.retention_days + 1)) == 1
    assert [g.title for g in groups(flood_bot)] == ["StillFiring: StillFiring is failing"]


def test_a_signature_without_its_timestamp_is_refused_when_one_is_required(flood_bot: BotServer) -> None:
    g = grafana_payload([alert("DiskFull")])
    assert post(flood_bot, g, source="grafana", auth=Hmac(HMAC_SECRET, timestamp_header=None)).status == 401
    assert groups(flood_bot) == []
    assert post(flood_bot, g, source="grafana", auth=Hmac(HMAC_SECRET)).status == 200
