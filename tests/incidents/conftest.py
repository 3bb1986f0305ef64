from __future__ import annotations

from typing import Any

import pytest

from storage.models import Incident
from tests.support.harness import BotServer
from tests.support.lifecycle_support import declare


@pytest.fixture
def inc(bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]) -> Incident:
    """A declared public incident (sev3) declared by alice; bob is in its channel, carol is not."""
    incident = declare(bot, emulator, people["alice"], channels["general"])
    bot.services.client.conversations_invite(channel=incident.channel_id, users=people["bob"])
    return incident
