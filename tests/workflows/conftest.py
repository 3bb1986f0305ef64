"""Workflow fixtures: the bot configured with a security type, a PagerDuty fake (checked against
PagerDuty's published description), a signed-webhook receiver, and the rules of each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from fakes import FakeServer, PagerDutyFake
from storage.models import Incident
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import command, rows
from tests.support.paging_support import PD_KEY, PD_TOKEN, WEBHOOK_SECRET, Receiver, receiving

BASE = """
[pagerduty]
routing_keys = {{ security = "{pd_key}" }}
default = "security"

[outgoing]
retry_base_seconds = 0.1
retry_max_seconds = 0.5
sweep_every_seconds = 0.1

[fields.data_exposed]
label = "Data exposed?"
kind = "single_select"
options = ["yes", "no", "unknown"]

[types.security]
description = "Suspected breach or exposure"
private = true
channel_prefix = "sec"
fields = ["data_exposed"]
required = {{ close = ["data_exposed"] }}
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving("/hooks/workflows") as rec:
        yield rec


@pytest.fixture
def pagerduty() -> Iterator[tuple[PagerDutyFake, FakeServer]]:
    fake = PagerDutyFake({PD_TOKEN}, {PD_KEY: "Security"}, validate_responses=True)
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.violations == [], f"calls off PagerDuty's description: {fake.violations}"


MakeSettings = Callable[..., Settings]


@pytest.fixture
def rules_settings(
    settings: Settings, tmp_path: Path, pagerduty: tuple[PagerDutyFake, FakeServer], receiver: Receiver
) -> MakeSettings:
    """Settings whose config is the base above plus ``rules`` (``{hook}`` is the receiver's URL);
    ``env``: more of the environment (a tracker's token, say)."""

    def make(rules: str, **env: str) -> Settings:
        path = tmp_path / "bot.toml"
        url = pagerduty[1].url
        path.write_text(BASE.format(pd_key=PD_KEY) + rules.replace("{hook}", receiver.url), encoding="utf-8")
        base = settings
        return load_settings(
            SLACK_BOT_TOKEN=base.slack_bot_token.get_secret_value() if base.slack_bot_token else "",
            SLACK_SIGNING_SECRET=base.slack_signing_secret.get_secret_value()
            if base.slack_signing_secret
            else "",
            SLACK_API_URL=base.slack_api_url,
            DATABASE_URL=base.database_url,
            INCIDENT_ANNOUNCE_CHANNEL=base.announce_channel or "",
            INCIDENT_OUTPUT_DIR=str(base.output_dir),
            INCIDENT_BOT_CONFIG=str(path),
            PAGERDUTY_API_TOKEN=PD_TOKEN,
            PAGERDUTY_API_URL=url,
            PAGERDUTY_EVENTS_URL=f"{url}/v2/enqueue",
            OUTGOING_WEBHOOK_SECRET=WEBHOOK_SECRET,
            **env,
        )

    return make


@pytest.fixture
def start_bot(emulator: Any, rules_settings: MakeSettings) -> Iterator[Callable[..., BotServer]]:
    started: list[BotServer] = []

    def start(rules: str, **env: str) -> BotServer:
        server = BotServer(rules_settings(rules, **env), transport="http").start().attach(emulator)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def declare_incident(bot: BotServer, emu: Any, user: str, channel: str, text: str, number: int) -> Incident:
    command(bot, emu, user, channel, f"declare {text}")
    return wait_for(
        lambda: next(
            (i for i in rows(bot, Incident) if i.number == number and i.state == "active" and i.card_ts), None
        ),
        what=f"INC-{number} declared with its card",
    )
