"""Members cannot act beyond their rights (issue 21 items 7-9, issue 15's private incidents):
the role permission, convert's limits, forged option values and metadata, private incidents."""

from __future__ import annotations

from typing import Any

import pytest

from bot.incidents import blocks
from bot.timeline.listeners import SHORTCUT_CALLBACK
from storage.models import Incident, RoleAssignment, StatusUpdate, TimelineEvent
from tests.support.forgery import forged_click, forged_command, forged_shortcut, forged_submit
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, click, command, incident, rows, submit, texts


def leads(bot: BotServer) -> list[str]:
    return [r.user_id for r in rows(bot, RoleAssignment) if r.role == "lead" and r.ended_at is None]


def private_incident(bot: BotServer, emu: Any, user: str, channel: str) -> Incident:
    emu.slash_command(user, channel, "declare")
    view_id = wait_for(lambda: next(iter(emu.views), None), what="declare modal")
    submit(
        bot,
        emu,
        user,
        view_id,
        {"title": {"value": "Leak"}, "severity": {"value": "sev3"}, "private": {"value": ["private"]}},
    )
    return wait_for(
        lambda: next((i for i in rows(bot, Incident) if i.card_ts and i.is_private), None),
        what="private incident",
    )


# -- item 7: the lead role is not a way around a permission -------------------------------------
def test_taking_the_lead_does_not_get_round_close_severity_or_reopen(
    bot: BotServer, emulator: Any, people, inc, monkeypatch
) -> None:
    emu, alice, bob, carol, ch = emulator, people["alice"], people["bob"], people["carol"], inc.channel_id
    monkeypatch.setattr(bot.services.postmortem, "generate", lambda *a, **kw: None)
    perms = bot.services.settings.config.permissions
    monkeypatch.setattr(perms, "close", ["lead"])
    monkeypatch.setattr(perms, "severity", ["lead"])
    emu.join_channel(carol, ch)
    command(bot, emu, alice, ch, f"lead <@{bob}>")  # the declarer names the lead
    command(bot, emu, bob, ch, f"role scribe <@{carol}>")  # the lead names a scribe
    command(bot, emu, carol, ch, f"lead <@{carol}>")
    assert "Only the lead or the declarer" in answers(emu, carol)[-1]
    assert "Nothing changed" in answers(emu, carol)[-1]
    click(bot, emu, carol, ch, inc.card_ts, blocks.ACTION_LEAD, selected_user=carol)
    assert "Only the lead or the declarer" in answers(emu, carol)[-1]
    command(bot, emu, carol, ch, "close")
    command(bot, emu, carol, ch, "severity sev1")
    got = incident(bot)
    assert leads(bot) == [bob] and not got.is_closed and got.severity == "sev3"
    assert not any(f"made <@{carol}> the *lead*" in t for t in texts(emu, ch))
    command(bot, emu, bob, ch, "close")  # the lead may; then the scribe may not reopen
    command(bot, emu, carol, ch, "reopen")
    assert incident(bot).is_closed and "Only the lead may reopen" in answers(emu, carol)[-1]


def test_the_declarer_and_the_lead_reassign_and_anyone_takes_an_empty_lead(
    bot: BotServer, emulator: Any, people, inc
) -> None:
    emu, alice, bob, carol, ch = emulator, people["alice"], people["bob"], people["carol"], inc.channel_id
    command(bot, emu, bob, ch, f"lead <@{bob}>")  # nobody leads: anyone may take it
    command(bot, emu, bob, ch, f"lead <@{carol}>")  # the lead hands over
    command(bot, emu, alice, ch, f"lead <@{bob}>")  # the declarer may always
    assert leads(bot) == [bob]


def test_role_permission_is_configurable_and_checked() -> None:
    from bot.config import BotConfig

    assert BotConfig.model_validate({"permissions": {"roles": ["lead"]}}).permissions.roles == ["lead"]
    with pytest.raises(ValueError, match=r"permissions\.roles names role leader"):
        BotConfig.model_validate({"permissions": {"roles": ["leader"]}})


# -- item 9: values inside signed payloads ------------------------------------------------------
def test_forged_option_values_are_refused_and_never_stored(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu, bob, ch = emulator, people["bob"], inc.channel_id
    forged_click(bot, emu, bob, ch, inc.card_ts, blocks.ACTION_SEVERITY, selected_option_value="<!channel>")
    assert "Unknown severity" in answers(emu, bob)[-1]
    forged_click(bot, emu, bob, ch, inc.card_ts, blocks.ACTION_STATUS, selected_option_value="pwned")
    assert "Unknown status" in answers(emu, bob)[-1]
    forged_click(bot, emu, bob, ch, inc.card_ts, blocks.ACTION_LEAD, selected_user="<!here>")
    assert "is not a person" in answers(emu, bob)[-1]
    got = incident(bot)
    assert got.severity == "sev3" and got.status == "new" and leads(bot) == []
    assert not any("channel" in t for t in texts(emu, channels["incidents"]) if "escalated" in t)
    assert not [e for e in rows(bot, TimelineEvent) if e.kind in ("severity", "status", "role")]


def test_a_modal_acts_on_the_incident_it_was_opened_on_whatever_its_metadata_says(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    """bob opens the update form of the public incident he is in, then forges its metadata to
    name alice's private incident: the update goes where the form was opened (the bot's record of
    the view), never to the private incident; a view the bot never opened changes nothing."""
    emu, alice, bob = emulator, people["alice"], people["bob"]
    secret = private_incident(bot, emu, alice, channels["general"])
    assert bob not in emu.members(secret.channel_id)
    before = set(emu.views)
    click(bot, emu, bob, inc.channel_id, inc.card_ts, blocks.ACTION_UPDATE)
    view_id = wait_for(lambda: next(iter(set(emu.views) - before), None), what="update modal")
    view = emu.views[view_id]
    state = {"values": {"text": {"value": {"type": "plain_text_input", "value": "forged"}}}}
    unknown = view | {"id": "VFORGED2", "external_id": "ib-never-opened"}
    forged_submit(bot, emu, bob, unknown, private_metadata="99999", state=state)
    assert rows(bot, StatusUpdate) == []
    assert any("no longer open" in m["text"] for m in emu.messages(emu.dm_channel(bob)))
    forged_submit(bot, emu, bob, view, private_metadata=str(secret.id), state=state)
    [update] = wait_for(lambda: rows(bot, StatusUpdate), what="bob's update")
    assert update.incident_id == inc.id and update.text == "forged"
    assert not any("forged" in t for t in texts(emu, secret.channel_id))


def test_a_forged_severity_in_the_declare_modal_declares_nothing(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu, alice = emulator, people["alice"]
    emu.slash_command(alice, channels["general"], "declare")
    view_id = wait_for(lambda: next(iter(emu.views), None), what="declare modal")
    forged = {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": "<!channel>"}}  # fmt: skip
    state = {"values": {"title": {"value": {"type": "plain_text_input", "value": "Forged"}}, "severity": {"value": forged}}}  # fmt: skip
    forged_submit(bot, emu, alice, emu.views[view_id], state=state)
    assert rows(bot, Incident) == [] and emu.messages(channels["incidents"]) == []
    assert "Unknown severity" in answers(emu, alice)[-1]


# -- issue 15: a private incident is for the members of its channel ----------------------------
def test_private_incident_refuses_commands_and_buttons_from_non_members(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu, alice, carol = emulator, people["alice"], people["carol"]
    secret = private_incident(bot, emu, alice, channels["general"])
    ch = secret.channel_id
    command(bot, emu, alice, ch, "note the token was rotated")
    for text in ("status fixed", "timeline", "note hello", "close"):
        forged_command(bot, emu, carol, ch, text)
        assert "private incident and you are not a member" in answers(emu, carol)[-1], text
    forged_click(bot, emu, carol, ch, secret.card_ts, blocks.ACTION_STATUS, selected_option_value="fixed")
    assert "private incident and you are not a member" in answers(emu, carol)[-1]
    note_ts = next(m["ts"] for m in emu.messages(ch) if "rotated" in m.get("text", ""))
    forged_shortcut(bot, emu, carol, ch, note_ts, SHORTCUT_CALLBACK)
    assert "private incident and you are not a member" in answers(emu, carol)[-1]
    assert not any("rotated" in a for a in answers(emu, carol)), "the timeline stays private"
    got = incident(bot)
    assert got.status == "new" and not got.is_closed
    assert [e.plain_text for e in rows(bot, TimelineEvent) if e.kind == "note"] == ["the token was rotated"]
    bot.services.client.conversations_invite(channel=ch, users=carol)  # once invited, she may
    command(bot, emu, carol, ch, "status fixed")
    assert incident(bot).status == "fixed"


# -- item 8: convert refuses the announce channel, #general and big channels -------------------
def test_convert_refuses_announce_general_and_big_channels(
    bot: BotServer, emulator: Any, people, channels, monkeypatch
) -> None:
    emu, alice = emulator, people["alice"]
    config = bot.services.settings.config
    monkeypatch.setattr(config, "convert_max_members", 2)
    team = emu.add_channel("team-payments", members=list(people.values()))
    command(bot, emu, alice, channels["incidents"], "convert Payments down")
    assert "announcement channel" in answers(emu, alice)[-1]
    command(bot, emu, alice, emu.general_channel_id, "convert Payments down")
    assert "general channel" in answers(emu, alice)[-1]
    command(bot, emu, alice, team, "convert Payments down")
    assert "it has 3 members (more than 2)" in answers(emu, alice)[-1]
    assert rows(bot, Incident) == []
    assert emu.bot_user_id not in emu.members(team) and texts(emu, team) == []
    monkeypatch.setattr(config.permissions, "convert_large", [alice])
    command(bot, emu, alice, team, "convert Payments down")
    assert incident(bot).channel_id == team
