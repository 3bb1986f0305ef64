"""The incident card's "Status page" button: shown only when components are configured, opens the
same form as `/incident statuspage` for those `[permissions] statuspage` allows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.config import Settings
from bot.incidents.blocks import ACTION_STATUSPAGE
from bot.statuspage.blocks import PUBLISH_CALLBACK
from tests.statuspage.test_statuspage_e2e import choose, form_values
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, click, command, declare, submit


def card(emu: Any, channel: str, ts: str) -> dict[str, Any]:
    return next(m for m in emu.messages(channel) if m.get("ts") == ts)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]


def test_the_cards_status_page_button_opens_the_form_and_publishes(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = statuspage_bot('\n[permissions]\nstatuspage = ["lead"]\n')
    alice, bob = people["alice"], people["bob"]
    inc = declare(bot, emulator, alice, channels["general"], "sev2 Card payments fail")
    command(bot, emulator, alice, inc.channel_id, f"lead <@{bob}>")
    assert "Status page" in buttons(card(emulator, inc.channel_id, inc.card_ts or ""))

    before = set(emulator.views)
    click(bot, emulator, alice, inc.channel_id, inc.card_ts or "", ACTION_STATUSPAGE)
    assert "Only the lead may publish this incident's public updates" in answers(emulator, alice)[-1]
    assert set(emulator.views) == before

    click(bot, emulator, bob, inc.channel_id, inc.card_ts or "", ACTION_STATUSPAGE)
    view_id = wait_for(lambda: next(iter(set(emulator.views) - before), None), what="the form")
    assert emulator.views[view_id]["callback_id"] == PUBLISH_CALLBACK
    assert "Card payments fail" not in json.dumps(emulator.views[view_id])  # nothing copied from inside
    values = form_values(
        title="Payments are failing", state="investigating", message="We are looking into failed payments.",
        components=["payments"], impacts={"payments": "partial_outage"},
    )  # fmt: skip
    choose(bot, emulator, bob, str(view_id), values)
    submit(bot, emulator, bob, str(view_id), values)
    page = httpx.get(f"{bot.base}/status", timeout=10).text
    assert "Payments are failing" in page and "Partial outage" in page


def test_without_components_the_card_has_no_status_page_button(
    settings: Settings, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = BotServer(settings, transport="http").start().attach(emulator)
    try:
        inc = declare(bot, emulator, people["alice"], channels["general"], "sev3 Slow search")
        shown = buttons(card(emulator, inc.channel_id, inc.card_ts or ""))
        assert "Catch me up" in shown and "Status page" not in shown
    finally:
        bot.stop()
