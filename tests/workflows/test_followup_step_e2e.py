"""`create_followup` end to end: the rule's action item posted in the channel and on the timeline,
its ticket created once in the tracker (the GitHub fake, checked against GitHub's published
description) with the rule's title and body, the ticket shown in the item's thread; a private
incident with no private repository gets no ticket and one line saying why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakes import FakeServer, GitHubFake
from storage.models import OutboxMessage, TimelineEvent
from tests.support.followups_support import GH_TOKEN, status_text
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import command, rows, texts
from tests.workflows.conftest import declare_incident

RULES = """
[followups]
tracker = "github"
repository = "acme/ops"

[types.breach]
description = "Maybe data got out"
fields = ["data_exposed"]

[[workflows]]
name = "rotate"
trigger = { on = "field_changed", field = "data_exposed" }
conditions = { all = [ { field = "fields.data_exposed", is = "yes" } ] }
steps = [
  { kind = "create_followup", title = "Rotate every credential {{ incident.ref }} exposed", body = "Data exposed in {{ incident.ref }} ({{ incident.severity }}, {{ incident.type }}): rotate, then confirm." },
]

[[workflows]]
name = "private-ticket"
trigger = { on = "declared" }
conditions = { all = [ { field = "type", is = "security" } ] }
steps = [ { kind = "create_followup", title = "Review access logs" } ]
"""


@pytest.fixture
def github() -> Iterator[tuple[GitHubFake, FakeServer]]:
    fake = GitHubFake({GH_TOKEN: "incident-bot"}, validate_responses=True)
    fake.add_repo("acme", "ops")
    with FakeServer(fake) as server:
        fake.web_url = server.url
        yield fake, server
    assert fake.violations == [], f"GitHub spec violations: {fake.violations}"
    assert fake.response_problems == [], "the fake answered off-spec"


def step_rows(bot: BotServer) -> list[OutboxMessage]:
    return [r for r in rows(bot, OutboxMessage) if r.kind == "workflow_step"]


def test_a_rule_files_a_follow_up_ticket_with_its_title_and_body(
    start_bot: Callable[..., BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    github: tuple[GitHubFake, FakeServer],
) -> None:
    emu, alice = emulator, people["alice"]
    fake, server = github
    bot = start_bot(RULES, GITHUB_TOKEN=GH_TOKEN, GITHUB_API_URL=server.url)
    inc = declare_incident(bot, emu, alice, channels["general"], "--type breach sev2 Odd login", 1)
    channel = inc.channel_id or ""
    command(bot, emu, alice, channel, "set data_exposed no")
    command(bot, emu, alice, channel, "set data_exposed yes")
    title = "Rotate every credential INC-1 exposed"
    item = wait_for(
        lambda: next((m for m in emu.messages(channel) if m.get("text") == title), None),
        what="the action item",
    )
    [issue] = wait_for(lambda: fake.state()["repos"]["acme/ops"]["issues"], what="the ticket")
    assert issue["title"] == title
    body = issue["body"]
    assert body.startswith("```text\nData exposed in INC-1 (sev2, breach): rotate, then confirm.\n```")
    assert f"/archives/{channel}" in body, "links back to the channel like any follow-up"
    [link] = wait_for(lambda: [x for x in bot.services.repo.ticket_links(inc.id) if x.key], what="linked")
    assert link.key == f"acme/ops#{issue['number']}" and link.source_ts == item["ts"]
    reply = wait_for(
        lambda: next(
            (
                m
                for m in emu.replies(channel, item["ts"])[1:]
                if ":ticket:" in status_text(emu, channel, m["ts"])
            ),
            None,
        ),
        what="the ticket shown in the item's thread",
    )
    assert link.url and link.url in status_text(emu, channel, reply["ts"])
    [event] = [e for e in bot.services.repo.action_item_events(inc.id or 0)]
    assert event.plain_text == title and event.message_ts == item["ts"]
    assert [r.state for r in step_rows(bot)] == ["done"]
    assert len(fake.state()["repos"]["acme/ops"]["issues"]) == 1
    assert not [e for e in rows(bot, TimelineEvent) if e.kind == "action_item" and e.incident_id != inc.id]


def test_a_private_incident_without_a_private_repository_gets_one_line_and_no_item(
    start_bot: Callable[..., BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    github: tuple[GitHubFake, FakeServer],
) -> None:
    emu = emulator
    fake, server = github
    bot = start_bot(RULES, GITHUB_TOKEN=GH_TOKEN, GITHUB_API_URL=server.url)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "--type security Keys leaked", 1)
    line = (
        ":warning: Workflow *private-ticket*: step 1 (`create_followup`) failed: "
        "the incident is private and no private repository or project is configured"
    )
    wait_for(lambda: line in texts(emu, inc.channel_id or ""), what="the failure line")
    assert "Review access logs" not in texts(emu, inc.channel_id or "")
    assert fake.state()["repos"]["acme/ops"]["issues"] == []
