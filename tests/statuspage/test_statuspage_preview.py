"""The publish form: an impact per chosen component, and a preview of the public page that follows
what is typed (each change: ``block_actions`` from the form, ``views.update`` with its hash), built
by the same code as /status: what it shows is what /status shows once published."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.statuspage.blocks import ACTION_PREVIEW, IMPACT_BLOCK
from storage.models import PublicUpdate
from tests.statuspage.test_statuspage_e2e import choose, form_values, open_form
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import declare, rows, submit


def preview(view: dict[str, Any]) -> str:
    [block] = [b for b in view["blocks"] if b.get("block_id") == "preview"]
    return str(block["text"]["text"])


def change(
    bot: BotServer, emu: Any, user: str, view_id: str, block: str, values: dict[str, Any]
) -> dict[str, Any]:
    before = emu.views[view_id]["hash"]
    assert emu.view_action(user, view_id, block, values).status == 200
    return dict(wait_for(lambda: emu.views[view_id] if emu.views[view_id]["hash"] != before else None))


def test_each_component_gets_its_impact_and_the_preview_is_what_the_page_then_shows(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = statuspage_bot()
    alice = people["alice"]
    inc = declare(bot, emulator, alice, channels["general"], "sev2 pg-7 failover loop")
    view_id = open_form(bot, emulator, alice, inc.channel_id)
    form = emulator.views[view_id]
    assert "appears as you fill the form in" in preview(form)
    assert not any(b["block_id"].startswith(IMPACT_BLOCK) for b in form["blocks"])

    values = form_values(
        title="Payments and the API fail", state="identified", message="", components=["payments", "api"],
    )  # fmt: skip
    form = choose(bot, emulator, alice, view_id, values)
    labels = [b["label"]["text"] for b in form["blocks"] if b["block_id"].startswith(IMPACT_BLOCK)]
    assert labels == ["Impact on Public API", "Impact on Card payments"]  # the config's order
    shown = preview(form)
    assert "*Partial outage*" in shown and "*Payments and the API fail* — Identified" in shown
    assert "Affected: Public API (partial outage), Card payments (partial outage)" in shown
    assert form["state"]["values"]["title"][ACTION_PREVIEW]["value"] == "Payments and the API fail"  # kept

    values[f"{IMPACT_BLOCK}api"] = {ACTION_PREVIEW: "major_outage"}
    values[f"{IMPACT_BLOCK}payments"] = {ACTION_PREVIEW: "degraded_performance"}
    form = change(bot, emulator, alice, view_id, f"{IMPACT_BLOCK}api", values)
    values["message"] = {ACTION_PREVIEW: "API calls fail; some payments are slow."}
    form = change(bot, emulator, alice, view_id, "message", values)
    shown = preview(form)
    assert "*Major outage*" in shown
    assert "Affected: Public API (major outage), Card payments (degraded performance)" in shown
    assert "> API calls fail; some payments are slow." in shown
    for internal in ("pg-7", "failover loop", inc.channel_id, alice):
        assert internal not in json.dumps(form)

    submit(bot, emulator, alice, view_id, values)
    [update] = rows(bot, PublicUpdate)
    assert update.impacts == {
        "api": "major_outage",
        "payments": "degraded_performance",
        "dashboard": "operational",
    }
    status = json.loads(httpx.get(f"{bot.base}/status.json", timeout=10).text)
    assert f"*{status['status']['description']}*" in shown
    labels_now = {"major_outage": "Major outage", "degraded_performance": "Degraded performance"}
    line = " · ".join(
        f"{c['name']}: {labels_now.get(c['impact'], 'Operational')}" for c in status["components"]
    )
    assert line in shown  # every component, as the page now shows it
    [story] = status["incidents"]
    assert f"*{story['title']}* — {story['state'].capitalize()}" in shown
    assert f"> {story['updates'][0]['message']}" in shown


def test_a_private_incidents_preview_says_the_public_page_does_not_change(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str]
) -> None:
    bot = statuspage_bot()
    alice = people["alice"]
    secret = bot.services.incidents.declare(title="Leaked signing key", declarer=alice, private=True).incident
    view_id = open_form(bot, emulator, alice, secret.channel_id or "")
    values = form_values(title="Sign-in trouble", state="investigating", message="", components=["api"])
    shown = preview(choose(bot, emulator, alice, view_id, values))
    assert "This incident is private: the public page does not change." in shown
    assert "Sign-in trouble" not in shown
