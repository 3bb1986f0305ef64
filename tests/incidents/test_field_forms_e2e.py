"""Custom fields through forms end to end: the card's "Set fields" button and its modal, and the
fields a type requires when declared (the declare form's inputs, the command's refusal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from storage.models import Incident
from tests.incidents.test_types_fields_e2e import CONFIG, card, declared, events, fields
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.lifecycle_support import answers, click, command, incident, rows, submit, texts

REQUIRED = 'required = { close = ["data_exposed"] }'
FORMS_CONFIG = CONFIG.replace(
    REQUIRED, 'required = { declare = ["data_exposed", "regions"], close = ["vector"] }'
)


@pytest.fixture
def settings(emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path) -> Settings:
    path = tmp_path / "bot.toml"
    path.write_text(FORMS_CONFIG)
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        INCIDENT_ANNOUNCE_CHANNEL=channels["incidents"],
        INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
        INCIDENT_BOT_CONFIG=str(path),
    )


def buttons(emu: Any, inc: Incident) -> list[str]:
    card_blocks = emu.message(inc.channel_id, inc.card_ts)["blocks"]
    return [
        e["text"]["text"]
        for b in card_blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]


def only_view(emu: Any, before: set[str]) -> str:
    return str(wait_for(lambda: next(iter(set(emu.views) - before), None), what="a modal"))


def inputs(emu: Any, view_id: str) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in emu.views[view_id]["blocks"] if b["type"] == "input"}


def test_the_set_fields_button_opens_a_prefilled_form_that_checks_and_records_each_change(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    command(bot, emu, alice, channels["general"], "declare Login fails")
    plain = declared(bot)
    assert "Set fields" not in buttons(emu, plain), "the default type has no fields"
    command(bot, emu, alice, plain.channel_id, "type customer-facing")
    inc = incident(bot)
    assert "Set fields" in buttons(emu, inc)
    command(bot, emu, alice, inc.channel_id, "set customers 40")

    before = set(emu.views)
    click(bot, emu, alice, inc.channel_id, inc.card_ts or "", "incident_set_fields")
    view_id = only_view(emu, before)
    shown = inputs(emu, view_id)
    assert [b["label"]["text"] for b in shown.values()] == ["Customers affected", "Services"]
    assert shown["field_customers"]["element"]["type"] == "number_input"
    assert shown["field_customers"]["element"]["initial_value"] == "40"
    assert shown["field_services"]["element"]["type"] == "multi_static_select"
    assert [o["value"] for o in shown["field_services"]["element"]["options"]] == ["payments", "search"]

    d = submit(
        bot,
        emu,
        alice,
        view_id,
        {"field_customers": {"value": "lots"}, "field_services": {"value": ["search"]}},
    )
    assert d.json == {
        "response_action": "errors",
        "errors": {"field_customers": "customers is a number, e.g. customers 42."},
    }
    assert fields(bot) == {"customers": 40}, "nothing stored while the form has an error"

    submit(
        bot,
        emu,
        alice,
        view_id,
        {"field_customers": {"value": "1200"}, "field_services": {"value": ["search", "payments"]}},
    )
    assert fields(bot) == {"customers": 1200, "services": ["payments", "search"]}
    assert [e.plain_text for e in events(bot, "field")][-2:] == [
        "Customers affected set to 1200 (was 40)",
        "Services set to payments, search",
    ]
    shown_card = card(emu, bot)
    assert "*Customers affected*\n1200" in shown_card and "*Services*\npayments, search" in shown_card
    assert any(f"<@{alice}> set *Services* to payments, search" in t for t in texts(emu, inc.channel_id))

    before = set(emu.views)
    click(bot, emu, bob, inc.channel_id, inc.card_ts or "", "incident_set_fields")
    again = inputs(emu, only_view(emu, before))
    assert again["field_customers"]["element"]["initial_value"] == "1200"
    assert [o["value"] for o in again["field_services"]["element"]["initial_options"]] == [
        "payments",
        "search",
    ]


def test_a_type_requiring_fields_at_declare_asks_for_them_in_the_form_and_not_by_command(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "declare --type security Leaked API keys")
    assert answers(emu, alice)[-1] == (
        "A *security* incident needs *Data exposed?* (`data_exposed`), *Regions* (`regions`) when it is "
        "declared: run `/incident declare --type security` (without a title) and fill them in the form. "
        "Nothing was declared."
    )
    assert rows(bot, Incident) == []

    before = set(emu.views)
    emu.slash_command(alice, channels["general"], "declare --type security")
    view_id = only_view(emu, before)
    form = inputs(emu, view_id)
    assert form["type"]["element"]["initial_option"]["value"] == "security"
    assert form["field_data_exposed"]["label"]["text"] == "Data exposed?"
    assert not form["field_data_exposed"].get("optional") and not form["field_regions"].get("optional")
    assert "field_vector" not in form, "only the fields required at declare"

    submit(
        bot,
        emu,
        alice,
        view_id,
        {
            "title": {"value": "Card data in logs"},
            "severity": {"value": "sev2"},
            "type": {"value": "security"},
            "field_data_exposed": {"value": "unknown"},
            "field_regions": {"value": ["us", "eu"]},
        },
    )
    inc = declared(bot)
    assert inc.incident_type == "security"
    assert wait_for(lambda: fields(bot) if len(fields(bot)) == 2 else None, what="fields") == {
        "data_exposed": "unknown",
        "regions": ["eu", "us"],
    }
    assert "*Data exposed?*\nunknown" in card(emu, bot)

    before = set(emu.views)
    click(bot, emu, alice, inc.channel_id, inc.card_ts or "", "incident_set_fields")
    view_id = only_view(emu, before)
    form = inputs(emu, view_id)
    kinds = {b: i["element"]["type"] for b, i in form.items()}
    assert kinds == {
        "field_data_exposed": "static_select",
        "field_regions": "multi_static_select",
        "field_vector": "plain_text_input",
        "field_customers": "number_input",
        "field_owner": "users_select",
        "field_services": "multi_static_select",
    }
    assert form["field_data_exposed"]["element"]["initial_option"]["value"] == "unknown"
    submit(
        bot,
        emu,
        alice,
        view_id,
        {
            "field_data_exposed": {"value": "unknown"},
            "field_regions": {"value": ["eu", "us"]},
            "field_vector": {"value": "Phished <admin> token & <@U1>"},
            "field_owner": {"value": people["bob"]},
        },
    )
    assert fields(bot) == {
        "data_exposed": "unknown",
        "regions": ["eu", "us"],
        "vector": "Phished <admin> token & <@U1>",
        "owner": people["bob"],
    }
    assert len(events(bot, "field")) == 4, "only the changed fields"
    assert f"*Owner*\n<@{people['bob']}>" in card(emu, bot)


def test_choosing_in_the_form_a_type_whose_declare_fields_it_does_not_show_is_refused_inline(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    before = set(emu.views)
    emu.slash_command(alice, channels["general"], "declare")
    view_id = only_view(emu, before)
    assert not [b for b in inputs(emu, view_id) if b.startswith("field_")]
    d = submit(
        bot,
        emu,
        alice,
        view_id,
        {"title": {"value": "Keys leaked"}, "severity": {"value": "sev2"}, "type": {"value": "security"}},
    )
    assert d.json == {
        "response_action": "errors",
        "errors": {
            "type": "A security incident needs Data exposed?, Regions when it is declared: "
            "cancel and run /incident declare --type security to fill them in."
        },
    }
    assert rows(bot, Incident) == []


def test_fields_required_at_declare_are_required_at_resolve_after_a_type_change(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "declare Odd logins")
    ch = declared(bot).channel_id
    command(bot, emu, alice, ch, "type security")
    command(bot, emu, alice, ch, "resolve Keys rotated")
    assert answers(emu, alice)[-1] == (
        "Set *Data exposed?* (`data_exposed`), *Regions* (`regions`) before you resolve it: "
        "`/incident set data_exposed <value>`. Nothing changed."
    )
    assert incident(bot).status == "new"
