"""Who may triage an alert: a private incident's non-members cannot attach alerts to it (and the
form answers them as for a number that does not exist), the card names no private channel, guests
do not triage, and a button acts on the card clicked whatever value comes back with the click."""

from __future__ import annotations

from typing import Any

from bot.alerts import blocks
from fakes.alerts import alert, alertmanager_payload
from tests.support.alert_support import card_of, card_shows, groups, post
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers


def _payload(name: str) -> Any:
    return alertmanager_payload([alert(name, labels={"severity": "warning", "instance": name})])


def _attach(bot: BotServer, emu: Any, user: str, channel: str, group_key: str, number: str) -> Any:
    card = card_of(bot, emu, group_key)
    before = set(emu.views)
    d = emu.click_button(user, channel, card["ts"], blocks.ACTION_ATTACH)
    assert d.status == 200
    view_id = wait_for(lambda: next(iter(set(emu.views) - before), None), what="attach form")
    return emu.submit_view(user, view_id, {"incident": {"value": number}})


def test_a_non_member_cannot_attach_an_alert_to_a_private_incident_nor_learn_it_exists(
    alert_bot: BotServer, emulator: Any, people: dict[str, str], triage: dict[str, str]
) -> None:
    secret = alert_bot.services.incidents.declare(
        title="Leaked signing key", declarer=people["alice"], private=True
    ).incident
    assert people["bob"] not in emulator.members(secret.channel_id)
    p = _payload("KeyUse")
    post(alert_bot, p)
    missing = _attach(alert_bot, emulator, people["bob"], triage["triage"], p.groupKey, "INC-99")
    private = _attach(
        alert_bot, emulator, people["bob"], triage["triage"], p.groupKey, f"INC-{secret.number}"
    )
    assert private.json == missing.json and missing.json["response_action"] == "errors"
    [g] = groups(alert_bot)
    assert g.triage == "open" and g.incident_id is None
    assert not any("attached alert" in m.get("text", "") for m in emulator.messages(secret.channel_id))

    ok = _attach(alert_bot, emulator, people["alice"], triage["triage"], p.groupKey, f"INC-{secret.number}")
    assert ok.status == 200 and not (ok.json or {}).get("errors")
    shown = card_shows(alert_bot, emulator, p.groupKey, "Attached to a private incident")
    assert secret.channel_id not in str(shown) and f"INC-{secret.number}" not in str(shown)


def test_a_button_acts_on_the_card_clicked_not_on_the_value_sent_back(
    alert_bot: BotServer, emulator: Any, people: dict[str, str], triage: dict[str, str]
) -> None:
    first, second = _payload("First"), _payload("Second")
    post(alert_bot, first)
    post(alert_bot, second)
    card = card_of(alert_bot, emulator, first.groupKey)
    card_of(alert_bot, emulator, second.groupKey)
    other = next(g for g in groups(alert_bot) if g.group_key == second.groupKey)
    d = emulator.click_button(
        people["bob"], triage["triage"], card["ts"], blocks.ACTION_IGNORE, value=str(other.id)
    )
    assert d.status == 200
    card_shows(alert_bot, emulator, first.groupKey, "Ignored by")
    assert {g.group_key: g.triage for g in groups(alert_bot)} == {
        first.groupKey: "ignored",
        second.groupKey: "open",
    }


def test_a_guest_does_not_declare_from_an_alert_card(
    alert_bot: BotServer, emulator: Any, people: dict[str, str], triage: dict[str, str]
) -> None:
    with emulator.ws.lock:  # Slack's side: carol is a multi-channel guest
        emulator.ws.users[people["carol"]]["is_restricted"] = True
    p = _payload("Guarded")
    post(alert_bot, p)
    card = card_of(alert_bot, emulator, p.groupKey)
    d = emulator.click_button(people["carol"], triage["triage"], card["ts"], blocks.ACTION_DECLARE)
    assert d.status == 200
    wait_for(lambda: any("Guests" in a for a in answers(emulator, people["carol"])), what="the refusal")
    [g] = groups(alert_bot)
    assert g.triage == "open" and g.incident_id is None
