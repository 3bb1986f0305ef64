"""Scheduler test fixtures: second-scale cadences and a sweeper on a controlled clock."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.reminders.scheduler import ReminderSweeper
from storage.models import utcnow
from tests.support.harness import BotServer
from tests.support.scheduler_helpers import SHORT, Clock


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with second-scale reminder cadences (tests adjust them further)."""
    settings.config.reminders = SHORT.model_copy(deep=True)
    return settings


@pytest.fixture
def clock() -> Clock:
    return Clock(utcnow())


@pytest.fixture
def sweeper(bot: BotServer, clock: Clock) -> ReminderSweeper:
    return bot.services.reminder_sweeper(owner="test", clock=clock)
