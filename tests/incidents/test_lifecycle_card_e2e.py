"""The summary card's selects, buttons and modals end to end, including stale and duplicate clicks."""

from __future__ import annotations

from typing import Any

from bot.incidents import blocks
from storage.models import Milestone, RoleAssignment, StatusUpdate, TimelineEvent
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, click, command, incident, rows, submit, texts


def kinds(bot: BotServer, kind: str) -> list[TimelineEvent]:
    return [e for e in rows(bot, TimelineEvent) if e.kind == kind]


def test_status_select_and_a_stale_second_click(bot: BotServer, emulator: Any, people, inc) -> None:
    emu, bob, ch = emulator, people["bob"], inc.channel_id
    click(bot, emu, bob, ch, inc.card_ts, blocks.ACTION_STATUS, selected_option_value="fixed")
    assert incident(bot).status == "fixed"
    assert "fixed" in {m.name for m in rows(bot, Milestone)}
    card = str(emu.message(ch, inc.card_ts)["blocks"])
    assert "*Status*\\nFixed" in card
    # someone whose card was not refreshed picks the same value again
    click(bot, emu, people["alice"], ch, inc.card_ts, blocks.ACTION_STATUS, selected_option_value="fixed")
    assert "already *Fixed*" in answers(emu, people["alice"])[-1]
    assert len(kinds(bot, "status")) == 1
    assert len([t for t in texts(emu, ch) if "changed the status" in t]) == 1


def test_duplicate_delivery_of_a_block_action_runs_once(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu = emulator
    bot.duplicate_deliveries(emu)
    click(
        bot,
        emu,
        people["bob"],
        inc.channel_id,
        inc.card_ts,
        blocks.ACTION_SEVERITY,
        selected_option_value="sev1",
    )
    assert incident(bot).severity == "sev1"
    assert len(kinds(bot, "severity")) == 1
    escalations = [m for m in emu.messages(channels["incidents"]) if "escalated" in m["text"]]
    assert len(escalations) == 1
    assert answers(emu, people["bob"]) == [], "a duplicate is dropped silently"


def test_assign_lead_from_the_card(bot: BotServer, emulator: Any, people, inc) -> None:
    emu, carol, ch = emulator, people["carol"], inc.channel_id
    click(bot, emu, people["alice"], ch, inc.card_ts, blocks.ACTION_LEAD, selected_user=carol)
    assert [(r.role, r.user_id) for r in rows(bot, RoleAssignment)] == [("lead", carol)]
    assert carol in emu.members(ch)
    assert f"*Lead*\\n<@{carol}>" in str(emu.message(ch, inc.card_ts)["blocks"])


def test_post_update_modal(bot: BotServer, emulator: Any, people, channels, inc) -> None:
    emu, bob, ch = emulator, people["bob"], inc.channel_id
    click(bot, emu, bob, ch, inc.card_ts, blocks.ACTION_UPDATE)
    view_id = wait_for(lambda: next(iter(emu.views), None), what="update modal")
    assert emu.views[view_id]["callback_id"] == blocks.UPDATE_CALLBACK
    d = submit(bot, emu, bob, view_id, {"text": {"value": "   "}})
    assert d.json["response_action"] == "errors" and "text" in d.json["errors"]
    submit(bot, emu, bob, view_id, {"text": {"value": "Rolled back; <!here> watching errors"}})
    [row] = rows(bot, StatusUpdate)
    assert row.text == "Rolled back; &lt;!here&gt; watching errors" and row.author_id == bob  # Slack text
    posted = emu.message(ch, row.message_ts)["text"]
    assert "&lt;!here&gt;" in posted and "<!here>" not in posted
    assert emu.message(channels["incidents"], row.announce_ts) is not None


def test_resolve_modal_fills_the_document_fields(bot: BotServer, emulator: Any, people, inc) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    click(bot, emu, alice, ch, inc.card_ts, blocks.ACTION_RESOLVE)
    view_id = wait_for(lambda: next(iter(emu.views), None), what="resolve modal")
    assert emu.views[view_id]["callback_id"] == blocks.RESOLVE_CALLBACK
    submit(
        bot,
        emu,
        alice,
        view_id,
        {
            "resolution_summary": {"value": "Pointed the app at Redis 6379"},
            "root_cause": {"value": "ConfigMap said 6380"},
            "fix": {"value": "kubectl patch configmap app-config"},
            "customer_impact": {"value": "Logins failed for 95 minutes"},
        },
    )
    got = incident(bot)
    assert got.status == "fixed"
    assert (got.resolution_summary, got.root_cause, got.fix, got.customer_impact) == (
        "Pointed the app at Redis 6379",
        "ConfigMap said 6380",
        "kubectl patch configmap app-config",
        "Logins failed for 95 minutes",
    )
    assert len(kinds(bot, "resolved")) == 1
    # the modal opens prefilled with what is known
    click(bot, emu, alice, ch, inc.card_ts, blocks.ACTION_RESOLVE)
    view_id = wait_for(lambda: next(iter(emu.views), None), what="second resolve modal")
    initial = {b["block_id"]: b["element"].get("initial_value") for b in emu.views[view_id]["blocks"]}
    assert initial["root_cause"] == "ConfigMap said 6380"


def test_closed_card_has_no_buttons_and_commands_say_reopen(
    bot: BotServer, emulator: Any, people, inc, monkeypatch
) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    monkeypatch.setattr(bot.services.postmortem, "generate", lambda *a, **kw: None)
    command(bot, emu, alice, ch, "close")
    assert "incident_actions" not in str(emu.message(ch, inc.card_ts)["blocks"])
    command(bot, emu, alice, ch, "update anything")
    assert "Run `/incident reopen` first" in answers(emu, alice)[-1]
    assert rows(bot, StatusUpdate) == []
