"""At declare, a "Similar:" message in the new incident's channel: the past incidents most like it,
those with a root cause first, public ones only; nothing when none is similar enough."""

from __future__ import annotations

from typing import Any

from slack_emulator.render import Names, text
from storage.models import Incident
from tests.support.harness import BotServer
from tests.support.similar_history import redis_history


def _similar_messages(emu: Any, people: dict[str, str], inc: Incident) -> list[str]:
    names = Names(
        users={uid: name for name, uid in people.items()},
        channels={c["id"]: c["name"] for c in emu.channels() if c.get("name")},
    )
    said = [text(m.get("text", ""), names) for m in emu.messages(inc.channel_id)]
    return [s for s in said if s.startswith("Similar:")]


def test_declare_posts_similar_public_incidents_in_the_new_channel(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    h = redis_history(bot, emulator, people)
    [similar] = _similar_messages(emulator, people, h["now"])
    lines = similar.split("\n")[1:]
    assert [line.split(" ")[1] for line in lines] == ["INC-1", "INC-3"], similar
    assert "root cause: Redis port mismatch after the config deploy" in lines[0]
    assert "fixed by @Bob Brown reverted the redis port in the session config" in lines[0]
    assert "INC-2" not in similar and "Sentinel" not in similar, "never a private incident"

    assert _similar_messages(emulator, people, h["port"]) == [], "nothing before it"
    assert _similar_messages(emulator, people, h["slow"]) == [], "nothing similar enough"
