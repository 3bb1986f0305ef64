"""Helpers for the catch-up and similar-incident tests: what a person reads in an ephemeral answer."""

from __future__ import annotations

from typing import Any

from slack_emulator.render import Names, view_text
from tests.support.harness import BotServer, wait_for
from tests.support.timeline_support import post, recorded, visible_event


def seen(emu: Any, user: str, people: dict[str, str], before: int = 0) -> list[str]:
    """Every ephemeral answer to ``user`` through a response URL, as they read it (blocks if any)."""
    names = Names(
        users={uid: name for name, uid in people.items()},
        channels={c["id"]: c["name"] for c in emu.channels() if c.get("name")},
    )
    out = []
    for p in emu.response_url_posts[before:]:
        if p["user"] != user:
            continue
        body = p["body"]
        out.append(
            view_text({"blocks": body["blocks"]}, names) if body.get("blocks") else body.get("text", "")
        )
    return out


def say(bot: BotServer, emu: Any, user: str, channel: str, text: str, **kw: Any) -> str:
    """Post as ``user``; return once the bot has recorded the message."""
    ts = post(emu, user, channel, text, **kw)
    recorded(bot, channel, ts)
    return ts


def mark(bot: BotServer, emu: Any, incident: Any, user: str, ts: str, emoji: str) -> str:
    """React; return the permalink the bot stored for the now visible event."""
    emu.add_reaction(user, incident.channel_id, ts, emoji)
    event = wait_for(lambda: visible_event(bot, incident, ts), what=f":{emoji}: on {ts}")
    assert event.permalink and ts.replace(".", "") in event.permalink
    return str(event.permalink)
