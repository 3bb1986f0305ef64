"""`set_role` and `invite_oncall` end to end: a role given to a person, a user group's member or who
PagerDuty says is on call (the fake, checked against its description), found in Slack by email;
each an assignment like one made by hand (timeline, channel line), the others invited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_config
from fakes import FakeServer, PagerDutyFake
from storage.models import OutboxMessage, RoleAssignment, TimelineEvent
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, command, rows, texts
from tests.support.paging_support import PD_KEY
from tests.workflows.conftest import BASE, declare_incident

PD = tuple[PagerDutyFake, FakeServer]

RULES = """
[types.security.roles.security_officer]

[[workflows]]
name = "staff-security"
trigger = { on = "declared" }
conditions = { all = [ { field = "type", is = "security" } ] }
steps = [
  { kind = "set_role", role = "security_officer", to = "GROUP" },
  { kind = "set_role", role = "lead", to = "oncall:PSEC001" },
  { kind = "invite_oncall", schedule = "PNET001" },
  { kind = "set_role", role = "comms", to = "BOB" },
]
"""


def step_rows(bot: BotServer) -> list[OutboxMessage]:
    return [r for r in rows(bot, OutboxMessage) if r.kind == "workflow_step"]


def held(bot: BotServer) -> dict[str, str]:
    return {r.role: r.user_id for r in rows(bot, RoleAssignment) if r.ended_at is None}


def test_roles_go_to_a_group_member_the_on_call_person_and_a_user_and_on_call_is_invited(
    start_bot: Callable[[str], BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    pagerduty: PD,
) -> None:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    fake = pagerduty[0]
    sam, pat = emu.add_user("sam", "Sam Sec"), emu.add_user("pat", "Pat Sec")
    group = emu.add_usergroup("security-team", users=[sam, pat])
    dana, erin = emu.add_user("dana", "Dana Diaz"), emu.add_user("erin", "Erin Ek")
    for schedule, name, person in (("PSEC001", "Security", "dana"), ("PNET001", "Network", "erin")):
        fake.add_schedule(f"{name} primary", schedule_id=schedule)
        pd_user = fake.add_user(person.title(), f"{person}@emulator.slack.test")
        fake.set_oncall(fake.add_escalation_policy(f"{name} escalation"), pd_user, level=1, schedule=schedule)
    bot = start_bot(RULES.replace("GROUP", group).replace("BOB", bob))
    inc = declare_incident(bot, emu, alice, channels["general"], "--type security sev2 Keys leaked", 1)
    channel = inc.channel_id or ""
    wait_for(
        lambda: len([r for r in step_rows(bot) if r.state == "done"]) == 4,
        what=f"four steps done: {[(r.key, r.state, r.last_error) for r in step_rows(bot)]}",
    )
    roles = held(bot)
    assert (roles["security_officer"], roles["lead"], roles["comms"]) == (sam, dana, bob)
    assert {sam, pat, dana, erin, bob} <= set(emu.members(channel))
    lines = texts(emu, channel)
    assert f"<@{emu.bot_user_id}> made <@{sam}> the *security_officer*" in lines
    assert any(t.startswith(f"<@{emu.bot_user_id}> made <@{dana}> the *lead*") for t in lines)
    assert f"<@{emu.bot_user_id}> made <@{bob}> the *comms*" in lines
    docs = [e.plain_text for e in rows(bot, TimelineEvent) if e.kind == "role"]
    assert f"@{sam} is now the security_officer" in docs and f"@{bob} is now the comms" in docs
    command(bot, emu, alice, channel, "workflows")
    text = wait_for(lambda: next((a for a in answers(emu, alice) if "Workflow runs" in a), None))
    assert "1. `set_role` — done" in text, text
    assert f"@{sam} is the security_officer (from user group {group}); invited 1 more of the group" in text
    assert f"@{dana} is the lead (on call)" in text
    assert "3. `invite_oncall` — done" in text and "invited 1 of 1 (on call)" in text


NOBODY = """
[[workflows]]
name = "oncall"
trigger = { on = "declared" }
steps = [ { kind = "invite_oncall", schedule = "PNONE01" }, { kind = "post", text = "never" } ]
"""


def test_nobody_on_call_fails_the_step_in_one_line(
    start_bot: Callable[[str], BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    pagerduty: PD,
) -> None:
    emu = emulator
    pagerduty[0].add_schedule("Empty", schedule_id="PNONE01")
    bot = start_bot(NOBODY)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev3 Login fails", 1)
    line = (
        ":warning: Workflow *oncall*: step 1 (`invite_oncall`) failed: "
        "nobody is on call in PagerDuty schedule PNONE01"
    )
    wait_for(lambda: line in texts(emu, inc.channel_id or ""), what="the failure line")
    wait_for(lambda: [r.state for r in step_rows(bot)] == ["failed"], what="the step failed, the run stopped")
    assert "never" not in texts(emu, inc.channel_id or "")


def test_a_role_no_allowed_type_has_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    rule = """
[types.security.roles.security_officer]

[[workflows]]
name = "r"
trigger = { on = "declared" }
steps = [ { kind = "set_role", role = "ROLE", to = "U0ALICE01" } ]
"""
    for role, problem in (
        ("security_oficer", "unknown role `security_oficer` (known: lead, comms, scribe, security_officer)"),
        (
            "security_officer",
            "type `default` has no role `security_officer` (only `security`): "
            'add a condition such as `{ field = "type", is = "security" }`',
        ),
    ):
        path.write_text(BASE.format(pd_key=PD_KEY) + rule.replace("ROLE", role), encoding="utf-8")
        with pytest.raises(ConfigError) as exc:
            load_config(path)
        assert exc.value.problems == [f"{path}: workflows.r.steps[0] (set_role): {problem}"]
    path.write_text(BASE.format(pd_key=PD_KEY) + rule.replace("ROLE", "comms"), encoding="utf-8")
    assert load_config(path).workflows[0].steps[0].kind == "set_role"
