"""`add_link` end to end: a bookmark (`bookmarks.add`, checked by the emulator against Slack's
published shape) or a link the channel topic keeps through later changes, each URL a sandboxed
template over the incident, each link on the timeline once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage.models import OutboxMessage, TimelineEvent
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import command, rows, texts
from tests.workflows.conftest import declare_incident

LINKS = """
[[workflows]]
name = "links"
trigger = { on = "declared" }
steps = [
  { kind = "add_link", title = "Video bridge", url = "https://meet.example.com/inc-{{ incident.number }}", topic = true },
  { kind = "add_link", title = "Runbook", url = "https://runbooks.example.com/{{ incident.type }}?sev={{ incident.severity }}&x=1" },
]

[[workflows]]
name = "broken"
trigger = { on = "declared" }
steps = [ { kind = "add_link", title = "Dashboard", url = "https://grafana.example.com/{{ incident.nope }}" } ]
"""


def step_rows(bot: BotServer) -> list[OutboxMessage]:
    return [r for r in rows(bot, OutboxMessage) if r.kind == "workflow_step"]


def test_a_bookmark_and_a_topic_link_that_stays_in_the_topic(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    bot = start_bot(LINKS)
    inc = declare_incident(bot, emu, alice, channels["general"], "sev2 Checkout errors", 1)
    channel = inc.channel_id or ""
    wait_for(lambda: len([r for r in step_rows(bot) if r.state in ("done", "failed")]) == 3, what="3 steps")
    [bookmark] = emu.bookmarks(channel)
    assert (bookmark["title"], bookmark["type"], bookmark["link"]) == (
        "Runbook",
        "link",
        "https://runbooks.example.com/default?sev=sev2&x=1",
    )
    bridge = " · Video bridge: https://meet.example.com/inc-1"
    topic = emu.channel(channel)["topic"]["value"]
    assert topic.startswith("INC-1 · ") and topic.endswith(bridge), topic
    assert sorted(e.plain_text for e in rows(bot, TimelineEvent) if e.kind == "link") == [
        "Runbook: https://runbooks.example.com/default?sev=sev2&x=1",
        "Video bridge: https://meet.example.com/inc-1",
    ]
    # A later change rewrites the topic: the link stays in it.
    command(bot, emu, alice, channel, "status investigating")
    topic = wait_for(
        lambda: (t := emu.channel(channel)["topic"]["value"]) != topic and t, what="the topic rewritten"
    )
    assert "Investigating" in topic and topic.endswith(bridge), topic
    line = (
        ":warning: Workflow *broken*: step 1 (`add_link`) failed: "
        "the URL template failed: 'dict object' has no attribute 'nope'"
    )
    assert line in texts(emu, channel)
    assert len(emu.bookmarks(channel)) == 1
