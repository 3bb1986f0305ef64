"""Fixtures for paging: the PagerDuty fake (every call checked against PagerDuty's published
descriptions; a violation fails the test), a webhook receiver that verifies signatures, and the
bot configured for both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from fakes import FakeServer, PagerDutyFake
from tests.support.harness import BotServer
from tests.support.paging_support import DB_KEY, PD_KEY, PD_TOKEN, Receiver, paging_settings, receiving


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving("/hooks/incidents") as rec:
        yield rec


@pytest.fixture
def pagerduty() -> Iterator[tuple[PagerDutyFake, FakeServer]]:
    fake = PagerDutyFake({PD_TOKEN}, {PD_KEY: "Checkout", DB_KEY: "Database"}, validate_responses=True)
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.violations == [], f"calls off PagerDuty's description: {fake.violations}"
    assert fake.response_problems == []


@pytest.fixture
def paging_bot(
    settings: Settings,
    emulator: Any,
    pagerduty: tuple[PagerDutyFake, FakeServer],
    receiver: Receiver,
    tmp_path: Path,
) -> Iterator[BotServer]:
    s = paging_settings(settings, tmp_path, pagerduty[1].url, receiver.url)
    server = BotServer(s, transport="http").start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()
