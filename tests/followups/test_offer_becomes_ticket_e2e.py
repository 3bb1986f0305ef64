"""However an item's ticket is asked for (its own button, `/incident followup create`, "Create
tickets for all", `create_on_close`), the item's "Create ticket in …" reply becomes the ticket's
link: no live button is left under an item that has its ticket."""

from __future__ import annotations

from typing import Any

import pytest

from bot.demo.scenario import Command
from bot.followups import messages
from tests.followups.test_followups_e2e import ITEM, add_item, ask, make_bot, shown, start_incident
from tests.support.followups_support import Tracker, has_action
from tests.support.harness import wait_for

__all__ = ["make_bot"]  # the fixture, shared with test_followups_e2e

SECOND = "long: Move sessions to a managed Redis"


@pytest.mark.parametrize("tracker", ["github"], indirect=True)
@pytest.mark.parametrize("path", ["command", "create_all", "create_on_close"])
def test_the_items_reply_becomes_its_ticket_link(
    path: str,
    make_bot: Any,
    tracker: Tracker,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    bot = make_bot(create_on_close=path == "create_on_close")
    player = start_incident(bot, emulator, people, channels)
    channel = player.channel
    assert channel is not None
    items = [add_item(player, emulator, people, text) for text in (ITEM, SECOND)]
    if path == "command":
        ask(emulator, people["alice"], channel, "followup create all", "Creating 2 tickets")
    else:
        player.play((Command("14:00", "alice", "close"),))
    if path == "create_all":
        summary = wait_for(
            lambda: next((m for m in emulator.messages(channel) if has_action(m, messages.CREATE_ALL)), None),
            what="the closing offer",
        )
        emulator.click_button(people["carol"], channel, summary["ts"], messages.CREATE_ALL)

    links = wait_for(
        lambda: (
            (ls := [x for x in bot.services.repo.ticket_links(player.incident_id) if x.key])
            and len(ls) == 2
            and ls
        ),
        what="both tickets",
    )
    for item_ts, offer in items:
        reply = wait_for(
            lambda ts=offer["ts"]: (m := emulator.message(channel, ts)) and ":ticket:" in shown(m) and m,
            what="the item's reply showing its ticket",
        )
        assert not has_action(reply, messages.CREATE), "the reply still offers to create a ticket"
        assert any(link.key and link.key in shown(reply) for link in links)
        thread = [m["ts"] for m in emulator.replies(channel, item_ts)[1:]]
        assert thread == [offer["ts"]], "the reply became the ticket's line: no second message"
