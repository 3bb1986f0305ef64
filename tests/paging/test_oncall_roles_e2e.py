"""A type's role filled by who is on call in a PagerDuty schedule (the fake, checked against
PagerDuty's description), found in Slack by email; nobody on call is said in the channel; an
on-call filler without a PagerDuty token stops the start in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.serve import StartupError, prepare
from fakes import FakeServer, PagerDutyFake
from storage.models import RoleAssignment, TimelineEvent
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.lifecycle_support import command, incident, rows, texts
from tests.support.paging_support import PD_TOKEN

PD = tuple[PagerDutyFake, FakeServer]

CONFIG = """
[types.security]
private = true

[types.security.roles.lead]
filled_by = "oncall:{schedule}"
"""


def oncall_settings(
    emulator: Any, database_url: str, tmp_path: Path, schedule: str, pd_url: str | None
) -> Settings:
    path = tmp_path / "oncall.toml"
    path.write_text(CONFIG.format(schedule=schedule))
    extra = {"PAGERDUTY_API_TOKEN": PD_TOKEN, "PAGERDUTY_API_URL": pd_url} if pd_url else {}
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
        INCIDENT_BOT_CONFIG=str(path),
        **extra,
    )


@pytest.fixture
def schedule(pagerduty: PD) -> str:
    return pagerduty[0].add_schedule("Security primary", schedule_id="PSEC001")


@pytest.fixture
def oncall_bot(
    emulator: Any, database_url: str, tmp_path: Path, pagerduty: PD, schedule: str
) -> Iterator[BotServer]:
    s = oncall_settings(emulator, database_url, tmp_path, schedule, pagerduty[1].url)
    server = BotServer(s, transport="http").start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()


def test_the_lead_is_who_is_on_call_in_the_schedule(
    oncall_bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    pagerduty: PD,
    schedule: str,
) -> None:
    fake, emu = pagerduty[0], emulator
    dana = emu.add_user("dana", "Dana Diaz")
    pd_user = fake.add_user("Dana Diaz", "dana@emulator.slack.test")
    policy = fake.add_escalation_policy("Security escalation")
    fake.set_oncall(policy, pd_user, level=1, schedule=schedule)
    command(oncall_bot, emu, people["alice"], channels["general"], "declare --type security Leaked keys")
    held = wait_for(lambda: [(r.role, r.user_id) for r in rows(oncall_bot, RoleAssignment)], what="the lead")
    assert held == [("lead", dana)]
    inc = incident(oncall_bot)
    assert dana in emu.members(inc.channel_id)
    [event] = [e for e in rows(oncall_bot, TimelineEvent) if e.kind == "role"]
    assert event.plain_text == f"@{dana} is now the lead by default (on call)"
    assert f"• <@{dana}> is the *lead* (on call)" in "\n".join(texts(emu, inc.channel_id))


def test_nobody_on_call_is_said_in_the_channel_and_the_declare_goes_on(
    oncall_bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    command(oncall_bot, emu, people["alice"], channels["general"], "declare --type security Leaked keys")
    inc = wait_for(lambda: incident(oncall_bot).card_ts and incident(oncall_bot), what="the incident")
    said = wait_for(
        lambda: [t for t in texts(emu, inc.channel_id) if "was not filled" in t], what="the warning"
    )
    assert said == [
        "Roles of a *security* incident, filled by default:\n"
        ":warning: the *lead* was not filled: nobody is on call in PagerDuty schedule PSEC001"
    ]
    assert rows(oncall_bot, RoleAssignment) == []


def test_an_oncall_filler_without_a_pagerduty_token_stops_the_start(
    emulator: Any, database_url: str, tmp_path: Path
) -> None:
    settings = oncall_settings(emulator, database_url, tmp_path, "PSEC001", None)
    with pytest.raises(StartupError) as raised:
        prepare(settings)
    assert "types.security.roles.lead: filled_by = 'oncall:PSEC001' needs PAGERDUTY_API_TOKEN" in str(
        raised.value
    )
