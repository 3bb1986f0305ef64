"""Action items as the bot records them (📝 reactions, follow-up tickets) are what analytics count:
`/incident stats`, /ui/analytics and its CSV agree with the document."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo.run import Player
from bot.demo.scenario import SCRIPT
from bot.followups import messages
from fakes import FakeServer, GitHubFake
from storage.models import utcnow
from tests.support.followups_support import GH_TOKEN, offer_in_thread
from tests.support.harness import BotServer, wait_for
from tests.support.web_support import sign_in, web_bot

pytestmark = pytest.mark.slow


@pytest.fixture
def bot(
    emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path
) -> Iterator[tuple[BotServer, GitHubFake]]:
    fake = GitHubFake({GH_TOKEN: "incident-bot"})
    fake.add_user("alice-gh")
    fake.add_repo("acme", "ops")
    config = tmp_path / "bot.toml"
    config.write_text('[followups]\ntracker = "github"\nrepository = "acme/ops"\n')
    with FakeServer(fake) as github:
        server = web_bot(
            emulator,
            database_url,
            channels,
            tmp_path,
            INCIDENT_BOT_CONFIG=str(config),
            GITHUB_TOKEN=GH_TOKEN,
            GITHUB_API_URL=github.url,
        )
        try:
            yield server, fake
        finally:
            server.services.followups.shutdown()
            server.stop()


def test_the_demo_incidents_items_and_a_closed_ticket_are_counted_everywhere(
    bot: tuple[BotServer, GitHubFake], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    server, github = bot
    emu, alice = emulator, people["alice"]
    player = Player(emu, server.services, people, channels["general"])
    player.play(SCRIPT)  # the demo's incident: three messages marked 📝
    channel = player.channel
    assert channel is not None
    items = server.services.repo.action_item_events(player.incident_id)
    assert len(items) == 3

    # A ticket for the first item, made from its thread's button, then closed in GitHub.
    offer = wait_for(lambda: offer_in_thread(emu, channel, items[0].message_ts), what="the ticket offer")
    emu.click_button(people["bob"], channel, offer["ts"], messages.CREATE)
    link = wait_for(
        lambda: next((x for x in server.services.repo.ticket_links(player.incident_id) if x.key), None),
        what="the ticket",
    )
    github.close_issue("acme/ops", int(link.key.rpartition("#")[2]), by="alice-gh")
    assert server.services.followups.sync(utcnow(), force=True) == 1

    emu.slash_command(alice, channels["general"], "stats 90d")
    summary = wait_for(
        lambda: [
            m["text"] for m in emu.messages(channels["general"]) if "Incidents, last 90" in m.get("text", "")
        ],
        what="the stats summary",
    )[0]
    assert "Action items: 2 open, 1 done" in summary

    web = sign_in(server, alice)
    page = web.get("/ui/analytics?window=90d&period=month").text
    total = re.search(r'<tr class="total">(.*?)</tr>', page, re.S)
    assert total and "<td>2 / 1</td>" in total.group(1), page
    rows = list(csv.DictReader(io.StringIO(web.get("/ui/analytics.csv?window=90d&period=month").text)))
    (everything,) = [r for r in rows if r["severity"] == "all"]
    assert (everything["action_items_open"], everything["action_items_done"]) == ("2", "1")
