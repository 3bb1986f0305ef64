"""Workflow rules end to end: signed commands into the real Bolt app, steps through the outbox, what
people see in Slack (emulator), PagerDuty (fake, checked against its description) and a webhook
receiver (signature verified)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakes import FakeServer, PagerDutyFake
from storage.models import OutboxMessage, WorkflowRun
from tests.postmortem.reading import read_html
from tests.support.harness import BotServer, holds, wait_for
from tests.support.lifecycle_support import answers, command, rows, texts
from tests.support.paging_support import Receiver
from tests.support.web_support import sign_in, web_bot
from tests.workflows.conftest import declare_incident

PD = tuple[PagerDutyFake, FakeServer]

SECURITY = """
[[workflows]]
name = "security-response"
trigger = { on = "declared" }
conditions = { all = [ { field = "type", is = "security" }, { field = "private", is = true } ] }
steps = [
  { kind = "invite", groups = ["@security-oncall"] },
  { kind = "page", service = "security" },
  { kind = "post", text = "Security on-call paged for {{ incident.ref }} ({{ incident.severity | upper }}): {{ incident.title }}" },
]
"""


def pd_events(fake: PagerDutyFake) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.operation == "createV2Event" and r.status == 202]


def step_rows(bot: BotServer) -> list[OutboxMessage]:
    return [r for r in rows(bot, OutboxMessage) if r.kind == "workflow_step"]


def test_a_private_security_incident_invites_the_group_pages_and_says_so(
    start_bot: Callable[[str], BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    pagerduty: PD,
) -> None:
    emu = emulator
    oncall = [emu.add_user("sam", "Sam Sec"), emu.add_user("pat", "Pat Sec")]
    emu.add_usergroup("security-oncall", users=oncall)
    bot = start_bot(SECURITY)
    # A default incident: the rule does not match.
    first = declare_incident(bot, emu, people["alice"], channels["general"], "sev3 Slow search", 1)
    inc = declare_incident(
        bot, emu, people["alice"], channels["general"], "--type security sev2 Keys leaked", 2
    )
    assert inc.is_private and inc.channel_name and inc.channel_name.startswith("sec-")
    channel = inc.channel_id or ""
    wait_for(lambda: set(oncall) <= set(emu.members(channel)), what="the security group invited")
    [page] = wait_for(lambda: pd_events(pagerduty[0]), what="PagerDuty paged")
    assert page["event_action"] == "trigger" and page["dedup_key"] == "INC-2"
    wait_for(
        lambda: "Security on-call paged for INC-2 (SEV2): Keys leaked" in texts(emu, channel),
        what="the rule's message in the channel",
    )
    assert not set(oncall) & set(emu.members(first.channel_id or ""))
    [run] = rows(bot, WorkflowRun)
    assert (run.rule, run.trigger, run.incident_id) == ("security-response", "declared", inc.id)
    wait_for(
        lambda: all(r.state == "done" for r in step_rows(bot)) and len(step_rows(bot)) == 3, what="3 steps"
    )
    command(bot, emu, people["alice"], channel, "workflows")
    text = wait_for(lambda: next((a for a in answers(emu, people["alice"]) if "Workflow runs" in a), None))
    assert "*Workflow runs for INC-2*" in text
    assert "*security-response* on `declared`" in text
    assert "1. `invite` — done" in text and "invited 2 of 2" in text
    assert "2. `page` — done" in text and "3. `post` — done" in text
    # Once per incident: a later change does not run it again.
    command(bot, emu, people["alice"], channel, "severity sev1")
    holds(lambda: len(pd_events(pagerduty[0])) == 1 and len(rows(bot, WorkflowRun)) == 1, 0.5, what="one run")


CHANGES = """
[types.breach]
description = "Maybe data got out"
fields = ["data_exposed"]

[[workflows]]
name = "escalated"
trigger = { on = "severity_changed" }
conditions = { all = [ { field = "severity", gte = "sev2" } ], none = [ { field = "status", is = "fixed" } ] }
repeat = true
steps = [
  { kind = "post", to = "announce", text = "{{ incident.ref }} is now {{ incident.severity }}" },
  { kind = "set_field", field = "data_exposed", value = "unknown" },
]

[[workflows]]
name = "exposed"
trigger = { on = "field_changed", field = "data_exposed" }
conditions = { all = [ { field = "fields.data_exposed", is = "yes" } ] }
steps = [ { kind = "webhook", url = "{hook}" }, { kind = "set_severity", severity = "sev1" } ]

[[workflows]]
name = "investigating"
trigger = { on = "status_changed" }
conditions = { any = [ { field = "status", is = "investigating" } ] }
steps = [ { kind = "post", text = "Status is {{ incident.status }}; data exposed: {{ fields.data_exposed }}" } ]
"""


def test_severity_field_and_status_triggers_with_their_steps(
    start_bot: Callable[[str], BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    receiver: Receiver,
) -> None:
    emu = emulator
    bot = start_bot(CHANGES)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "--type breach sev4 Odd login", 1)
    channel = inc.channel_id or ""
    command(bot, emu, people["alice"], channel, "severity sev3")  # below sev2: no run
    command(bot, emu, people["alice"], channel, "severity sev2")
    wait_for(lambda: "INC-1 is now sev2" in texts(emu, channels["incidents"]), what="the announcement")
    # set_field ran as the bot: data_exposed = unknown, visible on the incident
    wait_for(lambda: bot.services.repo.field_values(inc.id) == {"data_exposed": "unknown"}, what="field set")
    assert not receiver.delivered()  # `exposed` wants yes
    command(bot, emu, people["alice"], channel, "set data_exposed yes")
    [hook] = wait_for(receiver.delivered, what="the webhook")
    assert hook["valid"] and hook["body"]["event"] == "workflow" and hook["body"]["workflow"] == "exposed"
    assert hook["body"]["incident"]["id"] == "INC-1" and hook["body"]["incident"]["title"] == "Odd login"
    # set_severity sev1 then fires `escalated` again (repeat = true)
    wait_for(lambda: bot.services.repo.incident(inc.id).severity == "sev1", what="severity set by the rule")
    wait_for(lambda: len([r for r in rows(bot, WorkflowRun) if r.rule == "escalated"]) == 2, what="two runs")
    # ... whose second step sets the field back to unknown
    wait_for(lambda: len([r for r in step_rows(bot) if r.state == "done"]) == 6, what="six steps done")
    assert bot.services.repo.field_values(inc.id) == {"data_exposed": "unknown"}
    command(bot, emu, people["alice"], channel, "status investigating")
    wait_for(
        lambda: "Status is investigating; data exposed: unknown" in texts(emu, channel),
        what="the status rule's message",
    )
    # sev3 matched nothing; sev2 and the rule's own sev1 each ran `escalated` once
    assert [t for t in texts(emu, channels["incidents"]) if t.startswith("INC-1 is now")] == [
        "INC-1 is now sev2",
        "INC-1 is now sev1",
    ]


FAILING = """
[[workflows]]
name = "pull-in-security"
trigger = { on = "declared" }
steps = [
  { kind = "invite", groups = ["@security-oncall"], retries = 2, backoff = "0s", continue_on_error = true },
  { kind = "post", text = "Second step ran" },
]
"""


def test_a_failing_step_is_retried_then_posts_one_line_and_the_run_goes_on(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    emu.add_usergroup("security-oncall", users=[people["bob"]])
    bot = start_bot(FAILING)
    emu.inject_fault("usergroups.list", error="internal_error", times=3)  # every attempt fails
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev3 Login fails", 1)
    channel = inc.channel_id or ""
    line = (
        ":warning: Workflow *pull-in-security*: step 1 (`invite`) failed after 3 attempts: "
        "Slack answered `internal_error`"
    )
    wait_for(lambda: line in texts(emu, channel), what="the failure line")
    first = wait_for(lambda: next((r for r in step_rows(bot) if r.state == "failed"), None), what="failed")
    assert first.key.endswith(":0") and first.attempts == 3
    # continue_on_error: the next step still runs
    wait_for(lambda: "Second step ran" in texts(emu, channel), what="the second step")
    assert people["bob"] not in emu.members(channel) and texts(emu, channel).count(line) == 1
    command(bot, emu, people["alice"], channel, "workflows")
    text = wait_for(lambda: next((a for a in answers(emu, people["alice"]) if "Workflow runs" in a), None))
    assert "1. `invite` — failed" in text and "internal_error" in text
    assert "2. `post` — done" in text


def test_a_step_in_progress_never_blocks_a_status_change(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    emu.add_usergroup("security-oncall", users=[people["bob"]])
    bot = start_bot(FAILING)
    emu.inject_fault("usergroups.list", delay_answer=60)  # Slack holds the step's answer
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev3 Login fails", 1)
    channel = inc.channel_id or ""
    first = wait_for(
        lambda: next((r for r in step_rows(bot) if r.state == "claimed"), None), what="step running"
    )
    command(bot, emu, people["alice"], channel, "status investigating")
    assert bot.services.repo.incident(inc.id).status == "investigating"
    assert _row(bot, first.key).state == "claimed"  # still waiting for Slack
    emu.clear_faults()
    wait_for(lambda: "Second step ran" in texts(emu, channel), what="the run finished")
    assert people["bob"] in emu.members(channel) and _row(bot, first.key).attempts == 1


FAILING_ONCE = """
[[workflows]]
name = "invite-owner"
trigger = { on = "declared" }
steps = [ { kind = "invite", groups = ["@nobody-here"] }, { kind = "post", text = "never" } ]
"""


def test_a_step_refused_for_good_posts_one_line_and_stops_the_run(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    bot = start_bot(FAILING_ONCE)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev3 Login fails", 1)
    line = ":warning: Workflow *invite-owner*: step 1 (`invite`) failed: no user group `@nobody-here`"
    wait_for(lambda: line in texts(emu, inc.channel_id or ""), what="the failure line")
    holds(lambda: "never" not in texts(emu, inc.channel_id or ""), 0.5, what="the run stopped")
    assert texts(emu, inc.channel_id or "").count(line) == 1


def _row(bot: BotServer, key: str) -> OutboxMessage:
    row = bot.services.repo.outbox_get(key)
    assert row is not None
    return row


WEB_RULES = """
[[workflows]]
name = "tell-the-room"
trigger = { on = "severity_changed" }
steps = [
  { kind = "post", text = "Now {{ incident.severity }}" },
  { kind = "invite", groups = ["@nobody-here"] },
  { kind = "post", text = "never" },
]
"""


def test_the_web_page_lists_each_run_with_each_steps_outcome(
    emulator: Any, database_url: str, people: dict[str, str], channels: dict[str, str], tmp_path: Path
) -> None:
    emu, alice = emulator, people["alice"]
    config = tmp_path / "web.toml"
    config.write_text(WEB_RULES, encoding="utf-8")
    web = web_bot(emu, database_url, channels, tmp_path, INCIDENT_BOT_CONFIG=str(config))
    try:
        inc = declare_incident(web, emu, alice, channels["general"], "sev3 Login fails", 1)
        command(web, emu, alice, inc.channel_id or "", "severity sev2")
        wait_for(
            lambda: len([r for r in step_rows(web) if r.state in ("done", "failed")]) == 2, what="2 steps"
        )
        client = sign_in(web, alice, next_path="/ui/incidents/1")
        visible, _, _ = read_html(client.get("/ui/incidents/1").text)
        text = " ".join(visible.split())
        assert (
            "Workflow runs When Rule Trigger Steps" in text
            and "UTC tell-the-room severity_changed post" in text
        )
        assert "post: done at " in text and "(posted in the incident channel)" in text
        assert "invite: failed at " in text and "(no user group `@nobody-here`)" in text
        assert "post: not run" in text
    finally:
        web.stop()


LOOP = """
[[workflows]]
name = "down"
trigger = { on = "severity_changed" }
conditions = { all = [ { field = "severity", is = "sev1" } ] }
repeat = true
steps = [ { kind = "set_severity", severity = "sev2" } ]

[[workflows]]
name = "up"
trigger = { on = "severity_changed" }
conditions = { all = [ { field = "severity", is = "sev2" } ] }
repeat = true
steps = [ { kind = "set_severity", severity = "sev1" } ]
"""


def test_rules_that_undo_each_other_stop_after_a_chain_of_five_runs(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    bot = start_bot(LOOP)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev3 Flapping", 1)
    command(bot, emu, people["alice"], inc.channel_id or "", "severity sev1")
    wait_for(lambda: len(rows(bot, WorkflowRun)) == 5, what="five runs")
    wait_for(lambda: len([r for r in step_rows(bot) if r.state == "done"]) == 5, what="five steps done")
    holds(lambda: len(rows(bot, WorkflowRun)) == 5, 1.0, what="no sixth run")
    assert [r.rule for r in rows(bot, WorkflowRun)] == ["down", "up", "down", "up", "down"]
    assert bot.services.repo.incident(inc.id).severity == "sev2"


MESSAGES = """
[[workflows]]
name = "rollback-note"
trigger = { on = "message", pattern = "(?i)\\\\broll(ing)? ?back\\\\b" }
repeat = true
steps = [ { kind = "post", text = "Rolling back? Record it: react with :hammer_and_wrench: on the message." } ]
"""


def test_a_message_matching_a_pattern_starts_a_rule_each_time(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    bot = start_bot(MESSAGES)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev2 Checkout errors", 1)
    channel = inc.channel_id or ""
    note = "Rolling back? Record it: react with :hammer_and_wrench: on the message."
    emu.post_message(people["alice"], channel, "Looking at the dashboards")
    emu.post_message(people["alice"], channel, "Rolling back the checkout deploy now")
    wait_for(lambda: texts(emu, channel).count(note) == 1, what="the note")
    emu.post_message(people["alice"], channel, "roll back done, watching")
    wait_for(lambda: texts(emu, channel).count(note) == 2, what="the second note (repeat)")
    holds(lambda: len(rows(bot, WorkflowRun)) == 2, 0.5, what="two runs, the bot's own notes match nothing")
    assert {r.trigger for r in rows(bot, WorkflowRun)} == {"message"}


JOINS = """
[[workflows]]
name = "welcome"
trigger = { on = "member_joined" }
conditions = { all = [ { field = "severity", gte = "sev2" } ] }
repeat = true
steps = [ { kind = "post", text = "Welcome to {{ incident.ref }}: `/incident catchup` tells you where it stands." } ]
"""


def test_a_person_joining_starts_a_rule_once_per_join_even_when_slack_delivers_it_twice(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    bot = start_bot(JOINS)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev2 Checkout errors", 1)
    channel = inc.channel_id or ""
    welcome = "Welcome to INC-1: `/incident catchup` tells you where it stands."
    bot.duplicate_deliveries(emu)  # every event arrives twice
    emu.join_channel(people["bob"], channel)
    wait_for(lambda: texts(emu, channel).count(welcome) == 1, what="bob welcomed")
    emu.join_channel(people["carol"], channel)
    wait_for(lambda: texts(emu, channel).count(welcome) == 2, what="carol welcomed")
    holds(lambda: texts(emu, channel).count(welcome) == 2, 0.5, what="each welcomed once")
    assert [r.trigger for r in rows(bot, WorkflowRun)] == ["member_joined", "member_joined"]
