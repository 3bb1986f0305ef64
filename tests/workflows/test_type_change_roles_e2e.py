"""`/incident type <name>`: the new type's default roles are filled for the roles nobody holds (a
role someone holds stays theirs), said in the channel once, on the timeline, and the rules see the
assignment's type change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage.models import RoleAssignment, TimelineEvent
from tests.support.harness import BotServer, holds, wait_for
from tests.support.lifecycle_support import command, rows, texts
from tests.workflows.conftest import declare_incident

ROLES = """
[types.security.roles.lead]
filled_by = "CAROL"

[types.security.roles.security_officer]
filled_by = "GROUP"

[[workflows]]
name = "now-security"
trigger = { on = "type_changed" }
conditions = { all = [ { field = "type", is = "security" } ] }
steps = [ { kind = "post", text = "{{ incident.ref }} is a security incident now" } ]
"""


def held(bot: BotServer) -> dict[str, str]:
    return {r.role: r.user_id for r in rows(bot, RoleAssignment) if r.ended_at is None}


def test_changing_the_type_fills_its_default_roles_nobody_holds(
    start_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice, bob, carol = emulator, people["alice"], people["bob"], people["carol"]
    dave, erin = emu.add_user("dave", "Dave Diaz"), emu.add_user("erin", "Erin Ek")
    group = emu.add_usergroup("security", users=[dave, erin])
    bot = start_bot(ROLES.replace("CAROL", carol).replace("GROUP", group))
    inc = declare_incident(bot, emu, alice, channels["general"], "sev2 Odd logins", 1)
    channel = inc.channel_id or ""
    assert held(bot) == {}, "the default type fills nothing"
    command(bot, emu, alice, channel, f"role lead <@{bob}>")
    command(bot, emu, alice, channel, "type security")
    wait_for(lambda: held(bot).get("security_officer") == dave, what="the security officer filled")
    assert held(bot) == {"lead": bob, "security_officer": dave}, "bob keeps the lead"
    assert {dave, erin} <= set(emu.members(channel)) and carol not in emu.members(channel)
    said = [t for t in texts(emu, channel) if "filled by default" in t]
    assert said == [
        "Roles of a *security* incident, filled by default:\n"
        f"• <@{dave}> is the *security_officer* (from <!subteam^{group}>)"
    ]
    assert [
        e.plain_text for e in rows(bot, TimelineEvent) if e.kind == "role" and "by default" in e.plain_text
    ] == [f"@{dave} is now the security_officer by default (from user group {group})"]
    wait_for(
        lambda: "INC-1 is a security incident now" in texts(emu, channel), what="the rule on type_changed"
    )
    # Back and forth: the roles are held, nothing is filled or said again.
    command(bot, emu, alice, channel, "type default")
    command(bot, emu, alice, channel, "type security")
    holds(
        lambda: len([t for t in texts(emu, channel) if "filled by default" in t]) == 1,
        0.5,
        what="said once",
    )
    assert held(bot) == {"lead": bob, "security_officer": dave}
