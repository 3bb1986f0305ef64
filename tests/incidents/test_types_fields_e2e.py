"""Incident types and custom fields end to end: signed commands and forms into the real Bolt app,
rows, the card's Block Kit text, the channel, the document as CommonMark renders it, the web page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from storage.models import Incident, IncidentField, TimelineEvent
from tests.postmortem.reading import markdown_to_html, read_html
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.lifecycle_support import answers, command, incident, rows, submit, texts
from tests.support.web_support import sign_in, web_bot

CONFIG = """
[[services]]
name = "payments"
owner_group = "S0PAYMENTS"
runbook_url = "https://runbooks.example.com/payments"

[[services]]
name = "search"

[fields.data_exposed]
label = "Data exposed?"
kind = "single_select"
options = ["yes", "no", "unknown"]

[fields.regions]
label = "Regions"
kind = "multi_select"
options = ["eu", "us", "apac"]

[fields.vector]
label = "Attack vector"
kind = "text"

[fields.customers]
label = "Customers affected"
kind = "number"

[fields.owner]
label = "Owner"
kind = "user"

[fields.services]
label = "Services"
kind = "services"

[types.security]
description = "Suspected breach or exposure"
private = true
channel_prefix = "sec"
fields = ["data_exposed", "regions", "vector", "customers", "owner", "services"]
required = { close = ["data_exposed"] }

[types.customer-facing]
description = "Customers see it"
fields = ["customers", "services"]
required = { resolve = ["customers"] }
"""


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def settings(emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path) -> Settings:
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        INCIDENT_ANNOUNCE_CHANNEL=channels["incidents"],
        INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
        INCIDENT_BOT_CONFIG=str(config_file(tmp_path)),
    )


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text a person reads in the blocks: headers, sections and their fields, context."""
    found = []
    for b in blocks:
        for t in [b.get("text"), *(b.get("fields") or []), *(b.get("elements") or [])]:
            if isinstance(t, dict) and isinstance(t.get("text"), str):
                found.append(t["text"])
    return found


def card(emu: Any, bot: BotServer) -> list[str]:
    inc = incident(bot)
    return block_texts(emu.message(inc.channel_id, inc.card_ts)["blocks"])


def told(bot: BotServer, emu: Any, user: str, channel: str, text: str) -> str:
    """Run `/incident <text>` and return what the person was told (in the ack, or afterwards)."""
    d = command(bot, emu, user, channel, text)
    if isinstance(d.json, dict) and d.json.get("text"):
        return str(d.json["text"])
    return answers(emu, user)[-1]


def fields(bot: BotServer) -> dict[str, Any]:
    return {f.name: f.value for f in rows(bot, IncidentField)}


def events(bot: BotServer, kind: str) -> list[TimelineEvent]:
    return [e for e in rows(bot, TimelineEvent) if e.kind == kind]


def declared(bot: BotServer) -> Incident:
    return wait_for(
        lambda: next((i for i in rows(bot, Incident) if i.state == "active" and i.card_ts), None),
        what="declared incident with its card",
    )


def test_a_security_incident_is_private_with_its_prefix_and_its_type_on_the_card(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "declare --type security sev2 Leaked API keys")
    inc = declared(bot)
    assert inc.incident_type == "security" and inc.is_private and inc.severity == "sev2"
    assert inc.channel_name == "sec-1-leaked-api-keys"
    assert emu.channel(inc.channel_id)["is_private"] is True
    assert "*Type*\nsecurity" in card(emu, bot)
    [ev] = events(bot, "declared")
    assert ev.plain_text == "Incident declared (type security): Leaked API keys"
    assert not [t for t in texts(emu, channels["incidents"]) if "Leaked" in t], "private: not announced"


def test_the_declare_form_offers_the_types_and_declares_the_chosen_one(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    emu.slash_command(alice, channels["general"], "declare")
    view_id = wait_for(lambda: next(iter(emu.views), None), what="declare modal")
    [type_block] = [b for b in emu.views[view_id]["blocks"] if b.get("block_id") == "type"]
    offered = [o["value"] for o in type_block["element"]["options"]]
    assert offered == ["default", "customer-facing", "security"]
    submit(
        bot,
        emu,
        alice,
        view_id,
        {
            "title": {"value": "Card data in logs"},
            "severity": {"value": "sev2"},
            "type": {"value": "security"},
        },
    )
    inc = declared(bot)
    assert inc.incident_type == "security" and inc.is_private and inc.channel_name.startswith("sec-1-")


def test_an_unknown_type_is_refused_naming_the_known_ones(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "declare --type secruity Leaked keys")
    known = "use one of `default`, `customer-facing`, `security`."
    assert answers(emu, alice)[-1] == f"Unknown incident type `secruity`: {known}"
    assert rows(bot, Incident) == []
    command(bot, emu, alice, channels["general"], "declare Login fails")
    inc = declared(bot)
    assert inc.incident_type == "default" and inc.channel_name.startswith("inc-1-")
    assert not any("*Type*" in t for t in card(emu, bot)), "the default type is not shown"
    command(bot, emu, alice, inc.channel_id, "type nope")
    assert answers(emu, alice)[-1] == f"Unknown incident type `nope`: {known} Nothing changed."


def test_changing_the_type_is_on_the_timeline_and_its_required_fields_then_apply(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "declare Checkout is slow")
    inc = declared(bot)
    command(bot, emu, alice, inc.channel_id, "type customer-facing")
    assert incident(bot).incident_type == "customer-facing"
    [ev] = events(bot, "type")
    assert ev.plain_text == "Type changed from default to customer-facing" and ev.actor_id == alice
    assert "*Type*\ncustomer-facing" in card(emu, bot)
    assert any(
        f"<@{alice}> changed the type from *default* to *customer-facing*" in t
        for t in texts(emu, inc.channel_id)
    )

    command(bot, emu, alice, inc.channel_id, "resolve Rolled back")
    assert answers(emu, alice)[-1] == (
        "Set *Customers affected* (`customers`) before you resolve it: `/incident set customers <value>`. "
        "Nothing changed."
    )
    assert incident(bot).status == "new"
    command(bot, emu, alice, inc.channel_id, "set customers 1200")
    command(bot, emu, alice, inc.channel_id, "resolve Rolled back")
    assert incident(bot).status == "fixed"
    command(bot, emu, alice, inc.channel_id, "type customer-facing")
    assert "already of type *customer-facing*" in answers(emu, alice)[-1]


def test_a_required_field_blocks_close_and_each_kind_is_set_and_validated(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    command(bot, emu, alice, channels["general"], "declare --type security Leaked API keys")
    ch = declared(bot).channel_id

    command(bot, emu, alice, ch, "close")
    assert answers(emu, alice)[-1] == (
        "Set *Data exposed?* (`data_exposed`) before you close it: `/incident set data_exposed <value>`. "
        "Nothing changed."
    )
    assert not incident(bot).is_closed

    bad = {
        "data_exposed maybe": "`maybe` is not an option of `data_exposed`: use `yes`, `no`, `unknown`.",
        "regions eu, mars": "`mars` is not an option of `regions`: use `eu`, `us`, `apac`.",
        "customers many": "`customers` is a number, e.g. `customers 42`.",
        "customers inf": "`customers` is a number, e.g. `customers 42`.",
        "owner bob": "`owner` is a person: mention them with @, e.g. `@alice`.",
        "services payments, billing": "Unknown service `billing`: use one or more of `payments`, `search`, "
        "comma-separated.",
        "blast_radius 3": "A *security* incident has no field `blast_radius`: use one of `data_exposed`, "
        "`regions`, `vector`, `customers`, `owner`, `services`.",
        "vector": "What should `vector` be? Give a value after the field's name.",
    }
    for text, error in bad.items():
        assert told(bot, emu, alice, ch, f"set {text}").startswith(error), text
    assert fields(bot) == {}

    for text in (
        "data_exposed Yes",
        "regions us, eu",
        "vector Phished &lt;admin&gt; token",
        "customers 1200",
        f"owner <@{bob}|bob>",
        "services search, payments",
    ):
        command(bot, emu, alice, ch, f"set {text}")
    assert fields(bot) == {
        "data_exposed": "yes",
        "regions": ["eu", "us"],
        "vector": "Phished <admin> token",
        "customers": 1200,
        "owner": bob,
        "services": ["payments", "search"],
    }
    assert len(events(bot, "field")) == 6
    command(bot, emu, alice, ch, "set data_exposed no")
    assert fields(bot)["data_exposed"] == "no"
    assert events(bot, "field")[-1].plain_text == "Data exposed? set to no (was yes)"
    assert any(f"<@{alice}> set *Data exposed?* to no (was yes)" in t for t in texts(emu, ch))
    command(bot, emu, alice, ch, "set data_exposed no")
    assert answers(emu, alice)[-1] == "*Data exposed?* is already no; nothing changed."

    shown = card(emu, bot)
    for expected in (
        "*Type*\nsecurity",
        "*Data exposed?*\nno",
        "*Regions*\neu, us",
        "*Attack vector*\nPhished &lt;admin&gt; token",
        "*Customers affected*\n1200",
        f"*Owner*\n<@{bob}>",
        "*Services*\npayments, search",
    ):
        assert expected in shown, expected

    command(bot, emu, alice, ch, "close")
    assert incident(bot).is_closed
    inc = incident(bot)
    document = wait_for(lambda: bot.services.repo.documents(inc.id or 0), what="the document")[-1]
    visible, _, _ = read_html(markdown_to_html(document.markdown))
    for line in (
        "Type: security",
        "Data exposed?: no",
        "Regions: eu, us",
        "Attack vector: Phished <admin> token",
        "Customers affected: 1200",
        "Owner: Bob Brown",
        "Services: payments, search",
    ):
        assert line in visible, line
    command(bot, emu, alice, ch, "set data_exposed yes")
    assert "is closed" in answers(emu, alice)[-1]


def test_the_web_page_shows_the_type_and_fields(
    emulator: Any, database_url: str, people: dict[str, str], channels: dict[str, str], tmp_path: Path
) -> None:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    web = web_bot(emu, database_url, channels, tmp_path, INCIDENT_BOT_CONFIG=str(config_file(tmp_path)))
    try:
        command(web, emu, alice, channels["general"], "declare --type security Leaked API keys")
        ch = declared(web).channel_id
        command(web, emu, alice, ch, "set data_exposed unknown")
        command(web, emu, alice, ch, f"set owner <@{bob}>")
        client = sign_in(web, alice, next_path="/ui/incidents/1")
        page = client.get("/ui/incidents/1")
        assert page.status_code == 200
        visible, _, _ = read_html(page.text)
        assert "Type\nsecurity" in visible.replace("\n\n", "\n")
        assert "Data exposed?\nunknown" in visible.replace("\n\n", "\n")
        assert "Owner\nBob Brown" in visible.replace("\n\n", "\n")
    finally:
        web.stop()


def test_a_type_with_its_own_template_writes_its_document_with_it(
    emulator: Any, database_url: str, people: dict[str, str], channels: dict[str, str], tmp_path: Path
) -> None:
    emu, alice = emulator, people["alice"]
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "security.md.j2").write_text(
        "# Security review: {{ doc.title|md }}\n\n"
        "{% for label, value in doc.fields %}\n- {{ label|md }}: {{ value|md }}\n{% endfor %}\n"
    )
    config = config_file(tmp_path)
    config.write_text(
        config.read_text().replace(
            'channel_prefix = "sec"', 'channel_prefix = "sec"\ntemplate = "security.md.j2"'
        )
    )
    bot = (
        BotServer(
            load_settings(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=emu.api_url,
                DATABASE_URL=database_url,
                INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
                INCIDENT_TEMPLATE_DIR=str(templates),
                INCIDENT_BOT_CONFIG=str(config),
            )
        )
        .start()
        .attach(emu)
    )
    try:
        command(bot, emu, alice, channels["general"], "declare --type security Leaked API keys")
        ch = declared(bot).channel_id
        command(bot, emu, alice, ch, "set data_exposed no")
        command(bot, emu, alice, ch, "close")
        inc = incident(bot)
        document = wait_for(lambda: bot.services.repo.documents(inc.id or 0), what="the document")[-1]
        visible, _, _ = read_html(markdown_to_html(document.markdown))
        assert visible.split() == ["Security", "review:", "Leaked", "API", "keys", "Data", "exposed?:", "no"]
    finally:
        bot.stop()
