"""Who may page, and what outgoing webhooks learn of private incidents: `[permissions] page`
(members of the incident's channel by default), an alert card's Page button on a private incident
refused to its non-members, and private incidents sent only to endpoints that ask for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.alerts import blocks
from bot.config import Settings, load_config
from fakes import FakeServer, PagerDutyFake
from fakes.alerts import Bearer, alert, alertmanager_payload, send
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, command, declare
from tests.support.paging_support import Receiver, paging_settings

PD = tuple[PagerDutyFake, FakeServer]


def events(fake: PagerDutyFake) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.operation == "createV2Event" and r.status == 202]


@pytest.fixture
def bot_with(
    settings: Settings, emulator: Any, pagerduty: PD, receiver: Receiver, tmp_path: Path
) -> Iterator[Callable[[str], BotServer]]:
    """Start the paging bot with ``extra`` appended to its config (alert intake when it has [alerts])."""
    started: list[BotServer] = []

    def start(extra: str) -> BotServer:
        base = paging_settings(settings, tmp_path, pagerduty[1].url, receiver.url)
        config = Path(str(base.config_file))
        config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
        intake = {"alerts_bearer_token": SecretStr("tok")} if "[alerts]" in extra else {}
        s = base.model_copy(update={"config": load_config(config), **intake})
        started.append(BotServer(s, transport="http").start().attach(emulator))
        return started[-1]

    yield start
    for bot in started:
        bot.stop()


def test_a_non_member_cannot_page_for_a_private_incident_from_its_alert_card(
    bot_with: Callable[[str], BotServer], emulator: Any, people: dict[str, str], pagerduty: PD
) -> None:
    triage = emulator.add_channel("alerts-triage", members=list(people.values()))
    bot = bot_with(f'\n[alerts]\ntriage_channel = "{triage}"\ncard_update_every = 0.2\n')
    secret = bot.services.incidents.declare(
        title="Leaked signing key", declarer=people["alice"], private=True
    ).incident
    p = alertmanager_payload([alert("KeyUse", labels={"severity": "warning"})])
    assert send(f"{bot.base}/alerts/alertmanager", p, auth=Bearer("tok"), retries=0).status == 200
    [group] = wait_for(
        lambda: [
            g
            for g in [bot.services.repo.alert_group_by_key(p.groupKey)]
            if g and g.card_ts and g.card_ts != "posting"
        ],
        what="the card",
    )
    bot.services.alerts.attach(group.id or 0, secret, people["alice"])  # alice is in it

    def page_button() -> dict[str, Any] | None:
        m = emulator.message(triage, group.card_ts)
        return m if m and "alert_page" in str(m.get("blocks")) else None

    card = wait_for(page_button, what="the card's Page button")
    d = emulator.click_button(people["bob"], triage, card["ts"], blocks.ACTION_PAGE)
    assert d.status == 200
    wait_for(lambda: any("private incident" in a for a in answers(emulator, people["bob"])), what="refusal")
    assert events(pagerduty[0]) == []
    emulator.click_button(people["alice"], triage, card["ts"], blocks.ACTION_PAGE)
    [trigger] = wait_for(lambda: events(pagerduty[0]), what="alice's page")
    assert trigger["dedup_key"] == f"INC-{secret.number}"


def test_page_permission_members_by_default_or_the_roles_it_names(
    bot_with: Callable[[str], BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    pagerduty: PD,
) -> None:
    bot = bot_with('\n[permissions]\npage = ["lead"]\n')
    inc = declare(bot, emulator, people["alice"], channels["general"], "sev2 Search slow")
    command(bot, emulator, people["alice"], inc.channel_id, f"lead <@{people['bob']}>")
    command(bot, emulator, people["alice"], inc.channel_id, "page checkout")
    assert any("Only the lead may page" in a for a in answers(emulator, people["alice"]))
    assert events(pagerduty[0]) == []
    command(bot, emulator, people["bob"], inc.channel_id, "page checkout")
    wait_for(lambda: events(pagerduty[0]), what="the lead's page")


def test_private_incidents_reach_only_webhooks_that_ask_and_without_details_unless_asked(
    bot_with: Callable[[str], BotServer], people: dict[str, str], receiver: Receiver
) -> None:
    bot = bot_with(
        f'\n[[webhooks]]\nurl = "{receiver.url}/neutral"\nevents = ["declared"]\ninclude_private = true\n'
        f'\n[[webhooks]]\nurl = "{receiver.url}/full"\nevents = ["declared"]\n'
        "include_private = true\ninclude_private_details = true\n"
    )
    secret = bot.services.incidents.declare(
        title="Leaked signing key", declarer=people["alice"], private=True
    ).incident
    wait_for(lambda: len(receiver.delivered()) >= 2, what="the private incident's deliveries")
    bot.services.incidents.declare(title="Search slow", declarer=people["alice"])
    wait_for(lambda: len(receiver.delivered()) >= 5, what="the public incident on all three")
    got = [g for g in receiver.delivered() if g["body"]["incident"]["number"] == secret.number]
    by_path = {g["path"].rsplit("/", 1)[-1]: g["body"]["incident"] for g in got}
    assert sorted(by_path) == ["full", "neutral"]  # the first endpoint did not ask for private ones
    assert by_path["full"]["title"] == "Leaked signing key"
    assert by_path["full"]["channel_id"] == secret.channel_id
    neutral = by_path["neutral"]
    assert neutral["private"] is True and neutral["severity"] == secret.severity
    assert neutral["title"] is None and neutral["channel_id"] is None and neutral["channel_link"] is None
    assert "Leaked" not in str(neutral) and str(secret.channel_id) not in str(neutral)
