"""The error boundary on the "Add to timeline" shortcut: a failure on our side is told to the
person, and the delivery is released, so doing it again works."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import BotServer, wait_for
from tests.support.timeline_support import Incident_, post, recorded, visible_event


def test_a_failed_shortcut_is_told_and_can_be_redone(
    bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    incident: Incident_,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu, ch = emulator, incident.channel_id
    ts = post(emu, people["bob"], ch, "Users report 502s")
    recorded(bot, ch, ts)
    timeline = bot.services.timeline
    real_mark = timeline.mark

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(timeline, "mark", broken)
    emu.message_shortcut(people["carol"], ch, ts, "add_to_timeline")
    wait_for(
        lambda: any("failed on our side" in p["body"].get("text", "") for p in emu.response_url_posts),
        what="the person is told",
    )
    assert visible_event(bot, incident, ts) is None

    monkeypatch.setattr(timeline, "mark", real_mark)
    emu.message_shortcut(people["carol"], ch, ts, "add_to_timeline")
    wait_for(lambda: visible_event(bot, incident, ts), what="the second try captured it")
