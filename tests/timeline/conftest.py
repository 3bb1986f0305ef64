from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import BotServer, wait_for
from tests.support.timeline_support import Incident_, declare_incident


@pytest.fixture
def incident(bot: BotServer, emulator: Any, people: dict[str, str]) -> Incident_:
    """An open incident whose channel alice, bob and carol are in, with its card posted."""
    inc = declare_incident(bot, people)
    wait_for(
        lambda: bot.services.repo.channel_message(inc.channel_id, inc.card_ts or ""), what="card recorded"
    )
    return inc
