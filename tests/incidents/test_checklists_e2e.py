"""Roles per type and checklists end to end: signed commands and clicks into the real Bolt app, the
roles a type fills at declare (a person, a user group), the checklist message's Block Kit, ticks on
the timeline, close refused for required items, and the document listing what is still open."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.incidents.checklists import TICK_ACTION
from storage.models import ChecklistItemState, IncidentChecklist, RoleAssignment, TimelineEvent
from tests.postmortem.reading import markdown_to_html, read_html
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.lifecycle_support import answers, click, command, incident, rows, texts

CONFIG = """
roles = ["lead", "comms", "scribe"]

[fields.data_exposed]
label = "Data exposed?"
kind = "single_select"
options = ["yes", "no", "unknown"]

[types.security]
description = "Suspected breach or exposure"
private = true
fields = ["data_exposed"]
required = {{ close = ["data_exposed"] }}

[types.security.roles.lead]
filled_by = "{lead}"

[types.security.roles.security_officer]
filled_by = "{group}"

[[types.security.checklists]]
name = "triage"
title = "Security triage"
role = "security_officer"
items = [
  {{ text = "Rotate the leaked credentials", required = true, role = "security_officer" }},
  {{ text = "Tell legal", role = "comms" }},
  {{ text = "Preserve the logs", required = true }},
]

[[types.security.checklists]]
name = "disclosure"
at_declare = false
items = [{{ text = "Notify the regulator" }}]

[types.customer-facing]
description = "Customers see it"

[[types.customer-facing.checklists]]
name = "comms"
items = [{{ text = "Post on the status page" }}]
"""


@pytest.fixture
def security(emulator: Any, people: dict[str, str]) -> dict[str, str]:
    """The security team: a user group of dave and erin (neither in any channel yet)."""
    dave = emulator.add_user("dave", "Dave Diaz")
    erin = emulator.add_user("erin", "Erin Ek")
    group = emulator.add_usergroup("security", "Security team", users=[dave, erin])
    return {"dave": dave, "erin": erin, "group": group}


@pytest.fixture
def settings(
    emulator: Any,
    database_url: str,
    channels: dict[str, str],
    people: dict[str, str],
    security: dict[str, str],
    tmp_path: Path,
) -> Settings:
    path = tmp_path / "bot.toml"
    path.write_text(CONFIG.format(lead=people["carol"], group=security["group"]))
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        INCIDENT_ANNOUNCE_CHANNEL=channels["incidents"],
        INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
        INCIDENT_BOT_CONFIG=str(path),
    )


def declared(bot: BotServer) -> Any:
    return wait_for(
        lambda: next((i for i in rows(bot, IncidentChecklist) if i.message_ts), None) and incident(bot),
        what="declared incident with its checklist",
    )


def events(bot: BotServer, kind: str) -> list[TimelineEvent]:
    return [e for e in rows(bot, TimelineEvent) if e.kind == kind]


def checklist_message(emu: Any, bot: BotServer, name: str) -> dict[str, Any]:
    row = next(c for c in rows(bot, IncidentChecklist) if c.name == name)
    return dict(emu.message(incident(bot).channel_id, row.message_ts))


def boxes(message: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """Each checkbox as a person sees it: its text, whether it is ticked, its description."""
    found = []
    for block in message["blocks"]:
        for el in block.get("elements") or []:
            if el.get("type") == "checkboxes":
                ticked = {o["value"] for o in el.get("initial_options") or []}
                for o in el["options"]:
                    found.append(
                        (
                            o["text"]["text"],
                            o["value"] in ticked,
                            (o.get("description") or {}).get("text", ""),
                        )
                    )
    return found


def footer(message: dict[str, Any]) -> str:
    return str(message["blocks"][-1]["elements"][0]["text"])


def tick(bot: BotServer, emu: Any, user: str, name: str, position: int) -> Any:
    row = next(c for c in rows(bot, IncidentChecklist) if c.name == name)
    return click(bot, emu, user, incident(bot).channel_id, row.message_ts, TICK_ACTION, value=str(position))


def test_a_security_incident_fills_its_roles_and_posts_its_checklist(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], security: dict[str, str]
) -> None:
    emu, alice, carol = emulator, people["alice"], people["carol"]
    command(bot, emu, alice, channels["general"], "declare --type security sev2 Leaked API keys")
    inc = declared(bot)
    assert inc.is_private
    roles = {(r.role, r.user_id) for r in rows(bot, RoleAssignment)}
    assert roles == {("lead", carol), ("security_officer", security["dave"])}
    members = emu.members(inc.channel_id)
    assert {alice, carol, security["dave"], security["erin"]} <= set(members), "the whole group is invited"
    assert sorted(e.plain_text for e in events(bot, "role")) == sorted(
        [
            f"@{carol} is now the lead by default",
            f"@{security['dave']} is now the security_officer by default (from user group {security['group']})",
        ]
    )
    said = [t for t in texts(emu, inc.channel_id) if "filled by default" in t]
    assert said == [
        "Roles of a *security* incident, filled by default:\n"
        f"• <@{carol}> is the *lead*\n"
        f"• <@{security['dave']}> is the *security_officer* (from <!subteam^{security['group']}>)"
    ]
    card = str(emu.message(inc.channel_id, incident(bot).card_ts)["blocks"])
    assert f"<@{carol}>" in card and f"*Security_officer*\\n<@{security['dave']}>" in card
    assert f"Lead: <@{carol}>" in emu.channel(inc.channel_id)["topic"]["value"]

    message = checklist_message(emu, bot, "triage")
    assert message["text"] == "Checklist: Security triage"
    assert message["blocks"][0]["text"]["text"] == (
        f":clipboard: *Security triage* — for the security_officer (<@{security['dave']}>)"
    )
    assert boxes(message) == [
        ("Rotate the leaked credentials", False, "_required_ · security_officer"),
        ("Tell legal", False, "comms"),
        ("Preserve the logs", False, "_required_"),
    ]
    assert footer(message) == "0 of 3 done · 2 required still open (close waits for them)"
    assert [c.name for c in rows(bot, IncidentChecklist)] == ["triage"], "not the at_declare = false one"
    [started] = events(bot, "checklist")
    assert started.plain_text == "Checklist Security triage started"
    # A type's own role is assignable by hand like the config's roles.
    command(bot, emu, alice, inc.channel_id, f"role security_officer <@{security['erin']}>")
    assert ("security_officer", security["erin"]) in {
        (r.role, r.user_id) for r in rows(bot, RoleAssignment) if r.ended_at is None
    }


def test_ticks_are_on_the_timeline_once_and_required_items_block_close(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], security: dict[str, str]
) -> None:
    emu, alice, dave = emulator, people["alice"], security["dave"]
    names = {"dave": "Dave Diaz"}
    command(bot, emu, alice, channels["general"], "declare --type security Leaked API keys")
    ch = declared(bot).channel_id
    command(bot, emu, alice, ch, "set data_exposed no")

    bot.duplicate_deliveries(emu)
    tick(bot, emu, dave, "triage", 0)
    [ticked] = [e for e in events(bot, "checklist") if "ticked" in e.plain_text]
    assert ticked.plain_text == f"@{dave} ticked “Rotate the leaked credentials” (Security triage)"
    assert ticked.actor_id == dave
    [item] = [i for i in rows(bot, ChecklistItemState) if i.position == 0]
    assert item.done_by == dave and item.done_at is not None
    message = checklist_message(emu, bot, "triage")
    _text, done, description = boxes(message)[0]
    assert done and description.startswith(f"_required_ · security_officer · done by <@{dave}> at ")
    assert footer(message) == "1 of 3 done · 1 required still open (close waits for them)"

    command(bot, emu, alice, ch, "close")
    assert answers(emu, alice)[-1] == (
        "Tick the required checklist items before you close it: “Preserve the logs” (Security triage). "
        "Nothing changed."
    )
    assert not incident(bot).is_closed

    tick(bot, emu, alice, "triage", 2)
    tick(bot, emu, alice, "triage", 2)  # unticks it again: the message showed it ticked
    assert [e.plain_text for e in events(bot, "checklist")][-2:] == [
        f"@{alice} ticked “Preserve the logs” (Security triage)",
        f"@{alice} unticked “Preserve the logs” (Security triage)",
    ]
    assert not boxes(checklist_message(emu, bot, "triage"))[2][1]
    tick(bot, emu, alice, "triage", 2)
    assert len([e for e in events(bot, "checklist") if "ticked" in e.plain_text]) == 4

    command(bot, emu, alice, ch, "close")
    assert incident(bot).is_closed
    inc = incident(bot)
    document = wait_for(lambda: bot.services.repo.documents(inc.id or 0), what="the document")[-1]
    visible, _, _ = read_html(markdown_to_html(document.markdown))
    flat = re.sub(r"\n+", "\n", visible)
    assert "\nOpen checklist items\n[ ] Tell legal (Security triage)\nLessons Learned\n" in flat
    assert f"{names['dave']} ticked “Rotate the leaked credentials” (Security triage)" in flat, (
        "on its timeline"
    )

    tick(bot, emu, alice, "triage", 1)
    assert "is closed" in answers(emu, alice)[-1]
    assert not boxes(checklist_message(emu, bot, "triage"))[1][1], "the box is unticked again"


def test_only_people_who_may_change_the_incident_tick(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], security: dict[str, str]
) -> None:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    command(bot, emu, alice, channels["general"], "declare --type security Leaked API keys")
    ch = declared(bot).channel_id
    row = rows(bot, IncidentChecklist)[0]
    # bob was never invited to the private channel: a click forged for him is refused.
    message = emu.message(ch, row.message_ts)
    block = message["blocks"][1]
    option = block["elements"][0]["options"][0]
    d = emu.send_signed(
        bob,
        ch,
        payload={
            "type": "block_actions",
            "user": {"id": bob},
            "team": {"id": emu.team_id},
            "api_app_id": emu.app_id,
            "trigger_id": "$trigger_id",
            "response_url": "$response_url",
            "channel": {"id": ch},
            "container": {"type": "message", "message_ts": row.message_ts, "channel_id": ch},
            "message": message,
            "actions": [
                {
                    "type": "checkboxes",
                    "action_id": TICK_ACTION,
                    "block_id": block["block_id"],
                    "selected_options": [option],
                    "action_ts": "1.0",
                }
            ],
        },
    )
    assert d.status == 200
    wait_for(lambda: answers(emu, bob), what="the refusal")
    assert "private incident" in answers(emu, bob)[-1]
    assert all(i.done_at is None for i in rows(bot, ChecklistItemState))
    assert not [e for e in events(bot, "checklist") if "ticked" in e.plain_text]


def test_changing_the_type_posts_its_checklists_once(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "declare Checkout is slow")
    ch = wait_for(lambda: next((i for i in rows(bot, type(incident(bot))) if i.card_ts), None), what="card")
    assert rows(bot, IncidentChecklist) == [], "the default type has none"
    command(bot, emu, alice, ch.channel_id, "type customer-facing")
    assert [c.name for c in rows(bot, IncidentChecklist)] == ["comms"]
    assert boxes(checklist_message(emu, bot, "comms")) == [("Post on the status page", False, "")]
    command(bot, emu, alice, ch.channel_id, "type default")
    command(bot, emu, alice, ch.channel_id, "type customer-facing")
    assert [c.name for c in rows(bot, IncidentChecklist)] == ["comms"]
    assert len([t for t in texts(emu, ch.channel_id) if t == "Checklist: comms"]) == 1


def test_start_checklist_posts_a_checklist_the_type_does_not_post_at_declare(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "declare --type security Leaked API keys")
    inc = declared(bot)
    checklists = bot.services.checklists
    started = checklists.start_checklist(inc, "disclosure", started_by=alice)
    assert started.posted
    assert boxes(checklist_message(emu, bot, "disclosure")) == [("Notify the regulator", False, "")]
    assert not checklists.start_checklist(inc, "disclosure").posted, "once per incident"
    assert [e.plain_text for e in events(bot, "checklist")][-1] == f"Checklist disclosure started by @{alice}"
    with pytest.raises(ValueError, match="no checklist `nope`"):
        checklists.start_checklist(inc, "nope")
