"""Helpers shared by the scheduler tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from bot.config import ReminderConfig
from bot.incidents.commands import parse_declare
from storage.models import Incident
from tests.support.harness import BotServer

SHORT = ReminderConfig(
    status_update_every={"sev1": 2, "sev2": 4, "sev3": 8, "sev4": 0},
    lead_nudge_after=0,
    postmortem_every=0,
    archive_after=None,
    recheck_every=0,
    sweep_every=0.1,
)
STATUS_MARK = "has had no status update"


class Clock:
    """The time the sweeper sees; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, start: datetime, seconds: float) -> datetime:
        self.now = start + timedelta(seconds=seconds)
        return self.now


def all_incidents(engine: Any) -> list[Incident]:
    with Session(engine) as s:
        return list(s.exec(select(Incident)).all())


def declare(bot: BotServer, user: str, text: str) -> Incident:
    """Declare through the domain service (real Slack-shaped HTTP to the emulator).

    The scheduler's tests need incidents, not the slash-command path, which has its own tests.
    """
    parsed = parse_declare(text)
    assert parsed.title is not None
    return bot.services.incidents.declare(
        title=parsed.title, severity=parsed.severity, declarer=user
    ).incident


def posts(emu: Any, channel: str, marker: str) -> list[dict[str, Any]]:
    return [m for m in emu.messages(channel) if marker in m.get("text", "")]


def command(bot: BotServer, emu: Any, user: str, channel: str, text: str) -> None:
    """Run `/incident <text>` through the emulator; return once the bot has finished handling it."""
    from storage.models import ProcessedEvent
    from tests.support.harness import wait_for

    d = emu.slash_command(user, channel, text)
    assert d.status == 200, d.body
    if isinstance(d.json, dict) and d.json.get("text"):
        raise AssertionError(f"/incident {text} was refused: {d.json['text']}")

    def done() -> bool:
        with Session(bot.services.engine) as s:
            row = s.get(ProcessedEvent, f"cmd:{d.trigger_id}")
            finished = row is not None and row.state == "done"
        return finished and bot.services.documents.wait_idle(timeout=30)  # a document it started

    wait_for(done, what=f"/incident {text}")
