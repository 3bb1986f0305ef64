"""The `alert_attached` trigger and conditions on the alert's labels: an Alertmanager notification
auto-declares an incident (the real intake, signed), and the rule for the database team's alerts
invites its group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Settings
from fakes.alerts import alert, alertmanager_payload
from storage.models import Incident, WorkflowRun
from tests.support.alert_support import alert_settings, post
from tests.support.harness import BotServer, holds, wait_for
from tests.support.lifecycle_support import rows, texts

CONFIG = """
[alerts]
triage_channel = "{triage}"
card_update_every = 0.5

[[alerts.routes]]
match = {{ severity = "critical" }}
severity = "sev1"
auto_declare = true

[[workflows]]
name = "db-alerts"
trigger = {{ on = "alert_attached" }}
conditions = {{ all = [ {{ field = "alert.labels.team", is = "db" }} ], none = [ {{ field = "alert.labels.env", matches = "^staging" }} ] }}
steps = [
  {{ kind = "invite", groups = ["@db-oncall"] }},
  {{ kind = "post", text = "The database team is in: {{{{ incident.title }}}}" }},
]
"""


def test_an_alert_from_the_database_team_brings_its_on_call_in(
    settings: Settings, emulator: Any, people: dict[str, str], tmp_path: Path
) -> None:
    emu = emulator
    triage = {"triage": emu.add_channel("alerts-triage", members=list(people.values()))}
    oncall = emu.add_user("dana", "Dana Db")
    emu.add_usergroup("db-oncall", users=[oncall])
    bot = BotServer(alert_settings(settings, tmp_path, triage, CONFIG), transport="http").start().attach(emu)
    try:
        web = alertmanager_payload(
            [alert("CheckoutDown", labels={"severity": "critical", "team": "web", "env": "prod"})]
        )
        post(bot, web)
        first = wait_for(lambda: next((i for i in rows(bot, Incident) if i.card_ts), None), what="INC-1")
        db = alertmanager_payload(
            [alert("ReplicaLag", labels={"severity": "critical", "team": "db", "env": "prod"})]
        )
        post(bot, db)
        second = wait_for(
            lambda: next((i for i in rows(bot, Incident) if i.card_ts and i.id != first.id), None),
            what="INC-2",
        )
        channel = second.channel_id or ""
        wait_for(lambda: oncall in emu.members(channel), what="the db on-call invited")
        wait_for(
            lambda: "The database team is in: ReplicaLag" in " ".join(texts(emu, channel)), what="the post"
        )
        holds(lambda: [r.incident_id for r in rows(bot, WorkflowRun)] == [second.id], 0.5, what="one run")
        assert oncall not in emu.members(first.channel_id or "")
    finally:
        bot.stop()
