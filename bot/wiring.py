"""What every listener and job needs, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.followups.service import FollowupService
from bot.incidents.declare import IncidentService
from bot.incidents.lifecycle import LifecycleService
from bot.postmortem import PostmortemService
from bot.timeline.service import TimelineService
from storage.models import utcnow
from storage.repository import Repository


@dataclass
class Services:
    """Each domain service receives this container, so services can call one another."""

    settings: Settings
    engine: Engine
    repo: Repository
    client: WebClient
    bot_user_id: str = ""
    clock: Callable[[], datetime] = utcnow
    """What "now" is for the domain; the demo replays a past incident on the emulator's clock."""
    incidents: IncidentService = field(init=False)
    lifecycle: LifecycleService = field(init=False)
    timeline: TimelineService = field(init=False)
    postmortem: PostmortemService = field(init=False)
    followups: FollowupService = field(init=False)

    def __post_init__(self) -> None:
        self.incidents = IncidentService(
            self.repo, self.client, self.settings, clock=lambda: self.clock(), bot_user_id=self.bot_user_id
        )
        self.lifecycle = LifecycleService(self)
        self.timeline = TimelineService(self)
        self.postmortem = PostmortemService(self)
        self.followups = FollowupService(self)


def build_services(settings: Settings, engine: Engine, client: WebClient, bot_user_id: str = "") -> Services:
    return Services(
        settings=settings, engine=engine, repo=Repository(engine), client=client, bot_user_id=bot_user_id
    )
