"""Checklists and rules end to end: a tick (a signed click into the real Bolt app) starts the rules
that listen for it, a `start_checklist` step posts a checklist through the outbox, `workflows try`
replays the ticks, and the config names a checklist no allowed type has in one line."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_config
from bot.incidents.checklists import TICK_ACTION
from bot.workflows.cli import try_rules
from storage.models import IncidentChecklist, OutboxMessage, TimelineEvent, WorkflowEvent, WorkflowRun
from tests.support.harness import BotServer, holds, wait_for
from tests.support.lifecycle_support import answers, click, command, rows, texts
from tests.support.paging_support import PD_KEY
from tests.workflows.conftest import BASE, declare_incident

CHECKLISTS = """
[[types.security.checklists]]
name = "triage"
items = [ { text = "Rotate the keys" }, { text = "Preserve the logs" } ]

[[types.security.checklists]]
name = "disclosure"
title = "Disclosure"
at_declare = false
items = [ { text = "Notify the regulator", required = true } ]
"""

RULES = (
    CHECKLISTS
    + """
[[workflows]]
name = "after-triage"
trigger = { on = "checklist_ticked", checklist = "triage", item = "preserve the LOGS" }
conditions = { all = [ { field = "type", is = "security" } ] }
steps = [
  { kind = "start_checklist", checklist = "disclosure" },
  { kind = "post", text = "Logs preserved: disclosure checklist is up" },
]

[[workflows]]
name = "first-item"
trigger = { on = "checklist_ticked", item = 1 }
repeat = true
steps = [ { kind = "post", text = "Item 1 ticked in {{ incident.ref }}" } ]
"""
)


def tick(bot: BotServer, emu: Any, user: str, channel: str, name: str, position: int) -> None:
    row = next(c for c in rows(bot, IncidentChecklist) if c.name == name)
    click(bot, emu, user, channel, row.message_ts or "", TICK_ACTION, value=str(position))


def step_rows(bot: BotServer) -> list[OutboxMessage]:
    return [r for r in rows(bot, OutboxMessage) if r.kind == "workflow_step"]


def test_ticks_start_the_rules_that_listen_and_a_step_starts_a_checklist(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    bot = start_bot(RULES)
    inc = declare_incident(bot, emu, alice, channels["general"], "--type security sev2 Keys leaked", 1)
    channel = inc.channel_id or ""
    wait_for(
        lambda: [c.name for c in rows(bot, IncidentChecklist) if c.message_ts] == ["triage"], what="triage"
    )
    bot.duplicate_deliveries(emu)  # every click arrives twice: each tick starts its rules once

    tick(bot, emu, alice, channel, "triage", 0)
    wait_for(lambda: "Item 1 ticked in INC-1" in texts(emu, channel), what="the item-1 rule's message")
    tick(bot, emu, alice, channel, "triage", 0)  # unticks it: no rule listens for that
    tick(bot, emu, alice, channel, "triage", 0)  # ticked again: `repeat = true` runs again
    wait_for(lambda: texts(emu, channel).count("Item 1 ticked in INC-1") == 2, what="the second run")
    assert "disclosure" not in [c.name for c in rows(bot, IncidentChecklist)], "not item 2 yet"

    tick(bot, emu, alice, channel, "triage", 1)
    disclosure = wait_for(
        lambda: next(
            (c for c in rows(bot, IncidentChecklist) if c.name == "disclosure" and c.message_ts), None
        ),
        what="the disclosure checklist posted by the rule",
    )
    message = emu.message(channel, disclosure.message_ts)
    assert message["text"] == "Checklist: Disclosure"
    assert message["blocks"][0]["text"]["text"] == ":clipboard: *Disclosure*"
    assert "Notify the regulator" in str(message["blocks"])
    wait_for(
        lambda: "Logs preserved: disclosure checklist is up" in texts(emu, channel), what="the rule's message"
    )
    started = [e.plain_text for e in rows(bot, TimelineEvent) if e.kind == "checklist"]
    assert "Checklist Disclosure started" in started
    holds(
        lambda: (
            texts(emu, channel).count("Item 1 ticked in INC-1") == 2
            and len([r for r in rows(bot, WorkflowRun) if r.rule == "after-triage"]) == 1
        ),
        0.5,
        what="each tick ran its rules once",
    )
    assert sorted(r.rule for r in rows(bot, WorkflowRun)) == ["after-triage", "first-item", "first-item"]
    ticked = [e for e in rows(bot, WorkflowEvent) if e.kind == "checklist_ticked"]
    assert [(e.detail["checklist"], e.detail["position"], e.detail["item"]) for e in ticked] == [
        ("triage", 1, "Rotate the keys"),
        ("triage", 1, "Rotate the keys"),
        ("triage", 2, "Preserve the logs"),
    ]
    wait_for(lambda: len([r for r in step_rows(bot) if r.state == "done"]) == 4, what="four steps done")
    command(bot, emu, alice, channel, "workflows")
    text = wait_for(lambda: next((a for a in answers(emu, alice) if "Workflow runs" in a), None))
    assert "*after-triage* on `checklist_ticked`" in text
    assert "1. `start_checklist` — done" in text and "checklist disclosure posted" in text

    # `workflows try` replays the recorded ticks with the same filters.
    out = io.StringIO()
    try_rules(bot.services.repo, bot.settings.config, timedelta(days=1), out)
    *lines, summary = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["INC-1"] * 3
    assert [" ".join(line.split()[3:]) for line in lines] == [
        "first-item on checklist_ticked -> post",
        "first-item on checklist_ticked -> post",
        "after-triage on checklist_ticked -> start_checklist, post",
    ]
    assert summary == "2 rules on 1 incident: 3 runs would have started"


ALREADY = (
    CHECKLISTS
    + """
[[workflows]]
name = "triage-again"
trigger = { on = "severity_changed" }
conditions = { all = [ { field = "type", one_of = ["security"] } ] }
steps = [ { kind = "start_checklist", checklist = "triage" } ]
"""
)


def test_starting_a_checklist_the_incident_has_posts_nothing_more(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu, alice = emulator, people["alice"]
    bot = start_bot(ALREADY)
    inc = declare_incident(bot, emu, alice, channels["general"], "--type security sev3 Keys leaked", 1)
    channel = inc.channel_id or ""
    command(bot, emu, alice, channel, "severity sev2")
    wait_for(lambda: [r.state for r in step_rows(bot)] == ["done"], what="the step done")
    assert step_rows(bot)[0].result == {"done": "checklist triage was already started"}
    assert texts(emu, channel).count("Checklist: triage") == 1


def write(tmp_path: Path, rules: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(BASE.format(pd_key=PD_KEY) + rules, encoding="utf-8")
    return path


def problems(tmp_path: Path, rules: str) -> list[str]:
    path = write(tmp_path, CHECKLISTS + rules)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    return [p.removeprefix(f"{path}: ") for p in exc.value.problems]


def test_a_checklist_no_allowed_type_has_is_one_line(tmp_path: Path) -> None:
    unknown = """
[[workflows]]
name = "r"
trigger = { on = "declared" }
conditions = { all = [ { field = "type", is = "security" } ] }
steps = [ { kind = "start_checklist", checklist = "disclosur" } ]
"""
    assert problems(tmp_path, unknown) == [
        "workflows.r.steps[0] (start_checklist): unknown checklist `disclosur` (known: disclosure, triage)"
    ]
    any_type = """
[[workflows]]
name = "r"
trigger = { on = "declared" }
steps = [ { kind = "post", text = "x" }, { kind = "start_checklist", checklist = "disclosure" } ]
"""
    assert problems(tmp_path, any_type) == [
        "workflows.r.steps[1] (start_checklist): type `default` has no checklist `disclosure` "
        '(only `security`): add a condition such as `{ field = "type", is = "security" }`'
    ]
    excluded = """
[[workflows]]
name = "r"
trigger = { on = "checklist_ticked", checklist = "triage", item = 3 }
conditions = { none = [ { field = "type", is = "default" } ] }
steps = [ { kind = "start_checklist", checklist = "disclosure" } ]
"""
    assert problems(tmp_path, excluded) == [
        "workflows.r.trigger: no checklist has an item 3: it can never match"
    ]
    config = load_config(
        write(tmp_path, CHECKLISTS + excluded.replace("item = 3", 'item = "Rotate the keys"'))
    )
    assert [s.kind for s in config.workflows[0].steps] == ["start_checklist"]
