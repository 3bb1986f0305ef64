"""PagerDuty out: page and resolve with the same dedup key, retries, on-call lookup, the start-up
check; the outgoing webhook: signed, retried after a 500, delivered once across replicas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import Settings, load_config
from bot.serve import StartupError, prepare
from fakes import FakeServer, PagerDutyFake
from fakes.alerts import Bearer, alert, alertmanager_payload, send
from tests.support.harness import BotServer, holds, wait_for
from tests.support.lifecycle_support import answers, command, declare
from tests.support.paging_support import PD_KEY, PD_TOKEN, Receiver, paging_settings

PD = tuple[PagerDutyFake, FakeServer]


def events(fake: PagerDutyFake) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.operation == "createV2Event" and r.status == 202]


def test_page_then_resolve_and_close_use_the_incident_id_as_dedup_key(
    paging_bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], pagerduty: PD
) -> None:
    fake, _ = pagerduty
    inc = declare(paging_bot, emulator, people["alice"], channels["general"], "sev1 Checkout down")
    fake.inject_fault("createV2Event", status=429, retry_after=0, times=1)  # PagerDuty busy once
    command(paging_bot, emulator, people["alice"], inc.channel_id, "page checkout")
    assert any("Paging `checkout`" in a for a in answers(emulator, people["alice"]))
    [trigger] = wait_for(lambda: events(fake), what="the trigger, after one 429")
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == "INC-1"
    assert trigger["routing_key"] == PD_KEY and trigger["payload"]["severity"] == "critical"
    assert fake.alerts["INC-1"].status == "triggered"
    command(paging_bot, emulator, people["alice"], inc.channel_id, "resolve Rolled back")
    wait_for(lambda: len(events(fake)) == 2, what="the resolve")
    assert events(fake)[1] == {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": "INC-1"}
    assert fake.alerts["INC-1"].status == "resolved"
    command(paging_bot, emulator, people["alice"], inc.channel_id, "close")
    outbox = paging_bot.services.repo.outbox_like("pd:")
    assert [row.state for row in outbox] == ["done", "done"]  # close found that page resolved already
    assert len(events(fake)) == 2


def test_page_refuses_an_unknown_target_and_outside_incidents(
    paging_bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], pagerduty: PD
) -> None:
    inc = declare(paging_bot, emulator, people["alice"], channels["general"])
    command(paging_bot, emulator, people["bob"], inc.channel_id, "page checkout")
    assert any("Only the incident channel's members may page" in a for a in answers(emulator, people["bob"]))
    emulator.join_channel(people["bob"], inc.channel_id)  # [permissions] page: members (the default)
    command(paging_bot, emulator, people["bob"], inc.channel_id, "page nobody")
    assert any(
        "No PagerDuty service or escalation policy called `nobody`" in a
        for a in answers(emulator, people["bob"])
    )
    assert events(pagerduty[0]) == []
    command(paging_bot, emulator, people["bob"], inc.channel_id, "page Database on-call")
    [trigger] = wait_for(lambda: events(pagerduty[0]), what="trigger")
    assert trigger["routing_key"] != PD_KEY  # the escalation policy's own key


def test_oncall_from_pagerduty_with_a_short_cache(
    paging_bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], pagerduty: PD
) -> None:
    fake, _ = pagerduty
    user = fake.add_user("Dana On-Call", "dana@example.com")
    policy = fake.add_escalation_policy("Checkout escalation")
    fake.set_oncall(policy, user, level=1)
    command(paging_bot, emulator, people["carol"], channels["general"], "oncall")
    wait_for(
        lambda: any("Dana On-Call" in a for a in answers(emulator, people["carol"])), what="on-call answer"
    )
    assert any("Checkout escalation · level 1" in a for a in answers(emulator, people["carol"]))
    command(paging_bot, emulator, people["carol"], channels["general"], "oncall")
    wait_for(
        lambda: len([a for a in answers(emulator, people["carol"]) if "Dana" in a]) == 2, what="second answer"
    )
    assert len([r for r in fake.requests if r.operation == "listOnCalls"]) == 1  # cached
    command(paging_bot, emulator, people["carol"], channels["general"], "help")
    offered = answers(emulator, people["carol"])[-1]
    assert "`/incident page [service" in offered and "`/incident oncall`" in offered  # configured here


def test_a_token_pagerduty_refuses_stops_the_start_in_one_line(
    settings: Settings, emulator: Any, pagerduty: PD, receiver: Receiver, tmp_path: Path
) -> None:
    bad = paging_settings(settings, tmp_path, pagerduty[1].url, receiver.url, token="wrong-token")
    with pytest.raises(StartupError) as err:
        prepare(bad)
    assert str(err.value) == "PagerDuty rejected PAGERDUTY_API_TOKEN (HTTP 401)"
    assert "wrong-token" not in str(err.value)
    good = paging_settings(settings, tmp_path, pagerduty[1].url, receiver.url, token=PD_TOKEN)
    prepare(good)  # starts


def test_webhook_is_signed_retried_after_a_500_and_delivered_once_across_replicas(
    settings: Settings,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    pagerduty: PD,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    s = paging_settings(settings, tmp_path, pagerduty[1].url, receiver.url)
    replicas = [BotServer(s, transport="http").start() for _ in range(2)]
    try:
        replicas[0].attach(emulator)
        receiver.answers = [500]  # the receiver fails the first attempt
        inc = declare(replicas[0], emulator, people["alice"], channels["general"], "sev2 Search slow")
        [declared] = wait_for(receiver.delivered, what="the declared event, after a retry")
        assert declared["valid"] and declared["body"]["event"] == "declared"
        assert declared["body"]["incident"] == {
            "id": "INC-1",
            "number": 1,
            "title": "Search slow",
            "severity": "sev2",
            "status": inc.status,
            "private": False,
            "channel_id": inc.channel_id,
            "channel_link": f"https://slack.com/app_redirect?channel={inc.channel_id}",
        }
        command(replicas[0], emulator, people["alice"], inc.channel_id, "severity sev1")
        command(replicas[0], emulator, people["alice"], inc.channel_id, "resolve Fixed the index")
        command(replicas[0], emulator, people["alice"], inc.channel_id, "close")
        wait_for(lambda: len(receiver.delivered()) == 4, what="four events")
        # Both replicas sweep the outbox every 0.1 s; give them time to (wrongly) send again.
        holds(lambda: len(receiver.delivered()) == 4, 1.0, what="four events, none sent twice")
        delivered = receiver.delivered()
        assert [d["body"]["event"] for d in delivered] == [
            "declared",
            "severity_changed",
            "resolved",
            "closed",
        ]
        assert len({d["event_id"] for d in delivered}) == 4
        assert len(receiver.got) == 5  # four events, one retried
        assert receiver.got[0]["status"] == 500 and receiver.got[0]["event_id"] == declared["event_id"]
        assert all(g["valid"] for g in receiver.got)
        assert delivered[-1]["body"]["incident"]["status"] == "closed"
    finally:
        for r in replicas:
            r.stop()


def test_the_page_button_of_a_declared_alert_pages_the_default_service(
    settings: Settings,
    emulator: Any,
    people: dict[str, str],
    pagerduty: PD,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    triage = emulator.add_channel("alerts-triage", members=list(people.values()))
    base = paging_settings(settings, tmp_path, pagerduty[1].url, receiver.url)
    config = Path(str(base.config_file))
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[alerts]\ntriage_channel = "{triage}"\ncard_update_every = 0.2\n'
        + '[[alerts.routes]]\nmatch = { severity = "critical" }\nseverity = "sev1"\nauto_declare = true\n',
        encoding="utf-8",
    )
    s = base.model_copy(update={"config": load_config(config), "alerts_bearer_token": SecretStr("tok")})
    bot = BotServer(s, transport="http").start().attach(emulator)
    try:
        p = alertmanager_payload([alert("CheckoutDown", labels={"severity": "critical"})])
        assert send(f"{bot.base}/alerts/alertmanager", p, auth=Bearer("tok"), retries=0).status == 200

        def page_button() -> dict[str, Any] | None:
            for m in emulator.messages(triage):
                if "alert_page" in str(m.get("blocks")):
                    return m
            return None

        card = wait_for(page_button, what="the declared alert's card with its Page button")
        incident_id = next(
            e["value"]
            for b in card["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "alert_page"
        )
        d = emulator.click_button(people["bob"], triage, card["ts"], "alert_page", value=incident_id)
        assert d.status == 200
        wait_for(lambda: any("join <#" in a for a in answers(emulator, people["bob"])), what="refusal")
        assert events(pagerduty[0]) == []  # bob is not in the incident's channel yet
        channel = bot.services.repo.incident(int(incident_id)).channel_id or ""
        emulator.join_channel(people["bob"], channel)
        d = emulator.click_button(people["bob"], triage, card["ts"], "alert_page", value=incident_id)
        assert d.status == 200
        [trigger] = wait_for(lambda: events(pagerduty[0]), what="trigger from the button")
        assert trigger["dedup_key"] == "INC-1" and trigger["routing_key"] == PD_KEY
    finally:
        bot.stop()
