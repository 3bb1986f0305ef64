"""Helpers shared by the timeline tests."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from storage.models import Incident, TimelineEvent, TimelineMark
from tests.support.harness import BotServer, wait_for

Incident_ = Incident


def declare_incident(bot: BotServer, people: dict[str, str], title: str = "Checkout is slow") -> Incident:
    services = bot.services
    result = services.incidents.declare(title=title, declarer=people["alice"], severity="sev2")
    inc = result.incident
    others = ",".join(u for name, u in people.items() if name != "alice")
    services.client.conversations_invite(channel=inc.channel_id, users=others)
    return wait_for(
        lambda: services.repo.incident(inc.id) if services.repo.incident(inc.id).card_ts else None
    )


def events(bot: BotServer, incident: Incident, include_hidden: bool = True) -> list[TimelineEvent]:
    return [
        e
        for e in bot.services.repo.timeline(incident.id, include_hidden=include_hidden)
        if e.message_ts is not None
    ]


def event_at(bot: BotServer, incident: Incident, ts: str) -> TimelineEvent | None:
    return bot.services.repo.event_for_message(incident.id, ts)


def visible_event(bot: BotServer, incident: Incident, ts: str) -> TimelineEvent | None:
    e = event_at(bot, incident, ts)
    return e if e is not None and not e.hidden else None


def marks(bot: BotServer, event_id: int, active_only: bool = False) -> list[TimelineMark]:
    with Session(bot.services.engine) as s:
        q = select(TimelineMark).where(TimelineMark.event_id == event_id)
        rows = list(s.exec(q).all())
    return [m for m in rows if m.removed_at is None] if active_only else rows


def bot_reactions(emu: Any, channel: str, ts: str) -> list[str]:
    return [r["name"] for r in emu.reactions(channel, ts) if emu.bot_user_id in r["users"]]


def post(emu: Any, user: str, channel: str, text: str, **kw: Any) -> str:
    """Post as a user; the ts of the new message (whether or not the bot got the event)."""
    return str(emu.post_message(user, channel, text, **kw).ts)


def recorded(bot: BotServer, channel: str, ts: str) -> Any:
    return wait_for(lambda: bot.services.repo.channel_message(channel, ts), what=f"message {ts} recorded")
