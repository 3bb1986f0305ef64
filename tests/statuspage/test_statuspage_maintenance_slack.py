"""Maintenance from Slack: `/incident maintenance` schedules a window (checked as the CLI checks
it, stored once per delivery); a reminder goes out before it starts, once across replicas; an
alert for one of its components during it still arrives, marked "during maintenance"."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from bot.statuspage.maintenance_form import MAINTENANCE_CALLBACK
from fakes.alerts import alert, alertmanager_payload
from storage.models import MaintenanceReminder, MaintenanceWindow
from tests.support.alert_support import BEARER, card_of, card_shows, post
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, command, rows, submit

EXTRA = """
[[statuspage.components]]
id = "checkout"
name = "Checkout"
slack_channel = "{channel}"
alert_labels = {{ service = "checkout" }}

[alerts]
triage_channel = "{triage}"
card_update_every = 0.5
"""


def firing(service: str, name: str) -> Any:
    return alertmanager_payload(
        [alert(name, labels={"service": service, "severity": "warning"}, annotations={"summary": "errors"})]
    )


def open_form(bot: BotServer, emu: Any, user: str, channel: str) -> str:
    before = set(emu.views)
    command(bot, emu, user, channel, "maintenance")
    view_id = wait_for(lambda: next(iter(set(emu.views) - before), None), what="the maintenance form")
    assert emu.views[view_id]["callback_id"] == MAINTENANCE_CALLBACK
    return str(view_id)


def test_maintenance_from_slack_reminds_once_and_marks_the_alerts_of_its_components(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    status_channel = str(emulator.add_channel("status-checkout", members=[]))
    triage = str(emulator.add_channel("alerts-triage", members=list(people.values())))
    bot = statuspage_bot(
        EXTRA.format(channel=status_channel, triage=triage), alerts_bearer_token=SecretStr(BEARER)
    )
    alice = people["alice"]
    now = bot.services.clock()
    at = lambda delta: int((now + delta).timestamp())  # noqa: E731  (the pickers' Unix seconds)

    view_id = open_form(bot, emulator, alice, channels["general"])
    bad = emulator.submit_view(alice, view_id, {
        "components": {"value": ["checkout"]}, "from": {"value": at(timedelta(hours=2))},
        "to": {"value": at(timedelta(hours=1))}, "title": {"value": "Checkout database upgrade"},
    })  # fmt: skip
    assert bad.json["response_action"] == "errors"
    assert bad.json["errors"] == {"to": "End must be after Start."}
    bot.duplicate_deliveries(emulator, times=2)  # Slack delivers the submission twice
    submit(bot, emulator, alice, view_id, {
        "components": {"value": ["checkout"]}, "from": {"value": at(-timedelta(minutes=10))},
        "to": {"value": at(timedelta(hours=1))}, "title": {"value": "Checkout database upgrade"},
        "message": {"value": "Orders may fail for a few minutes."},
    })  # fmt: skip
    said = wait_for(lambda: [a for a in answers(emulator, alice) if a.startswith("Scheduled:")] or None)
    assert said == ["Scheduled: #1 in progress: Checkout database upgrade (" + said[0].split("(", 1)[1]]
    [stored] = rows(bot, MaintenanceWindow)
    assert stored.components == ["checkout"] and stored.message == "Orders may fail for a few minutes."
    data = json.loads(httpx.get(f"{bot.base}/status.json", timeout=10).text)
    impacts = {c["id"]: c["impact"] for c in data["components"]}
    assert impacts["checkout"] == "under_maintenance" and impacts["api"] == "operational"

    # Alerts still arrive; the checkout's is marked, another service's is not.
    checkout, search = firing("checkout", "CheckoutErrors"), firing("search", "SearchSlow")
    assert post(bot, checkout).status == 200 and post(bot, search).status == 200
    marked = card_shows(bot, emulator, checkout.groupKey, "During maintenance")
    assert "Checkout database upgrade (Checkout), until" in json.dumps(marked["blocks"])
    assert "(during maintenance)" in marked["text"]
    other = card_of(bot, emulator, search.groupKey)
    assert "maintenance" not in json.dumps(other["blocks"]).lower() and "maintenance" not in other["text"]

    # A window starting in 30 minutes: reminded once (two replicas' sweeps, and again), in the
    # announce channel and the component's channel.
    view_id = open_form(bot, emulator, alice, channels["general"])
    submit(bot, emulator, alice, view_id, {
        "components": {"value": ["checkout", "payments"]}, "from": {"value": at(timedelta(minutes=30))},
        "to": {"value": at(timedelta(minutes=90))}, "title": {"value": "Payment provider switch"},
    })  # fmt: skip
    for owner in ("replica-a", "replica-b", "replica-a"):
        bot.services.reminder_sweeper(owner=owner, clock=bot.services.clock).sweep()

    def reminders(channel: str) -> list[str]:
        return [
            m.get("text", "")
            for m in emulator.messages(channel)
            if "Scheduled maintenance starts" in m.get("text", "")
        ]

    announce = bot.settings.announce_channel or ""
    [text] = wait_for(lambda: reminders(announce) or None, what="the reminder")
    assert "starts in 30 minutes: *Payment provider switch* (Card payments, Checkout)" in text
    assert reminders(status_channel) == [text]
    assert "Checkout database upgrade" not in text  # already in progress: no reminder
    claims = rows(bot, MaintenanceReminder)
    assert sorted(c.slot for c in claims) == sorted([f"60m:{announce}", f"60m:{status_channel}"])
    assert {c.state for c in claims} == {"sent"}


def test_a_guest_cannot_schedule_maintenance(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = statuspage_bot()
    carol = people["carol"]
    with emulator.ws.lock:  # Slack's side: carol is a multi-channel guest
        emulator.ws.users[carol]["is_restricted"] = True
    before = set(emulator.views)
    command(bot, emulator, carol, channels["general"], "maintenance")
    wait_for(lambda: any("Guests" in a for a in answers(emulator, carol)) or None, what="the refusal")
    assert set(emulator.views) == before and rows(bot, MaintenanceWindow) == []
