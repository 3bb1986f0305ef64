"""`incident-bot workflows check` and `workflows try`: the real CLI (a subprocess) on a history the
bot recorded through its own commands, with the output known from that history."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.models import ChannelMessage, WorkflowEvent, WorkflowRun, utcnow
from tests.support.harness import ROOT, BotServer, wait_for
from tests.support.lifecycle_support import command, rows
from tests.workflows.conftest import BASE, declare_incident

TRIED = """
[[workflows]]
name = "security-response"
trigger = { on = "declared" }
conditions = { all = [ { field = "type", is = "security" } ] }
steps = [ { kind = "invite", groups = ["@security-oncall"] }, { kind = "page" } ]

[[workflows]]
name = "sev1-escalation"
trigger = { on = "severity_changed" }
conditions = { all = [ { field = "severity", gte = "sev1" } ] }
enabled = false
steps = [ { kind = "post", to = "announce", text = "{{ incident.ref }} is SEV1" } ]

[[workflows]]
name = "nudge"
trigger = { on = "timer", after = "1s", unless = "status_update" }
conditions = { none = [ { field = "status", is = "closed" } ] }
steps = [ { kind = "post", text = "No update yet" } ]

[[workflows]]
name = "investigating-sev1"
trigger = { on = "status_changed" }
conditions = { all = [ { field = "status", is = "investigating" }, { field = "severity", is = "sev1" } ] }
delay = "10m"
steps = [ { kind = "post", text = "still?" }, { kind = "webhook", url = "https://hooks.example.com/x" } ]

[[workflows]]
name = "rollback"
trigger = { on = "message", pattern = "(?i)roll(ing)? ?back" }
conditions = { all = [ { field = "severity", is = "sev1" } ] }
steps = [ { kind = "post", text = "noted" } ]
"""


def cli(bot: BotServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_", "PAGERDUTY_"))
    }
    s = bot.settings
    env.update(
        DATABASE_URL=s.database_url,
        SLACK_BOT_TOKEN=s.slack_bot_token.get_secret_value(),
        SLACK_SIGNING_SECRET=s.slack_signing_secret.get_secret_value(),
        INCIDENT_BOT_CONFIG=str(s.config_file),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_try_prints_what_each_rule_would_have_done_on_the_recorded_history(
    start_bot: Callable[[str], BotServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    tmp_path: Path,
) -> None:
    emu = emulator
    bot = start_bot("")  # no rules yet: the bot records the history all the same
    general = channels["general"]
    sec = declare_incident(bot, emu, people["alice"], general, "--type security sev2 Keys leaked", 1)
    db = declare_incident(bot, emu, people["alice"], general, "sev3 Database slow", 2)
    emu.post_message(people["alice"], db.channel_id or "", "Rolling back the index change")  # sev3: no
    command(bot, emu, people["alice"], db.channel_id or "", "severity sev1")
    command(bot, emu, people["alice"], db.channel_id or "", "status investigating")
    emu.post_message(people["alice"], db.channel_id or "", "roll back done")  # sev1: yes
    said = wait_for(
        lambda: next((m for m in rows(bot, ChannelMessage) if m.text == "roll back done"), None),
        what="recorded",
    )
    quiet = declare_incident(bot, emu, people["bob"], general, "sev4 Typo on the home page", 3)
    command(bot, emu, people["bob"], quiet.channel_id or "", "close")
    assert rows(bot, WorkflowRun) == []
    events = {(e.incident_id, e.kind): e.at for e in rows(bot, WorkflowEvent)}
    assert set(events) == {
        (sec.id, "declared"),
        (db.id, "declared"),
        (db.id, "severity_changed"),
        (db.id, "status_changed"),
        (quiet.id, "declared"),
        (quiet.id, "status_changed"),
    }
    # the nudges are due a second after each declare
    wait_for(lambda: utcnow() > max(events.values()) + timedelta(seconds=1), what="a second to pass")
    rules = tmp_path / "rules.toml"
    rules.write_text(BASE.format(pd_key="0" * 32) + TRIED, encoding="utf-8")

    def at(incident: Any, kind: str, later: timedelta = timedelta(0)) -> str:
        return (events[(incident.id, kind)] + later).strftime("%Y-%m-%d %H:%M")

    second, ten = timedelta(seconds=1), timedelta(minutes=10)
    said_at = datetime.fromtimestamp(float(said.ts), UTC)
    expected = sorted(
        [
            (
                events[(sec.id, "declared")],
                f"INC-1  {at(sec, 'declared')}  security-response  on declared  -> invite, page",
            ),
            (
                events[(sec.id, "declared")] + second,
                f"INC-1  {at(sec, 'declared', second)}  nudge  on timer  -> post",
            ),
            (
                events[(db.id, "declared")] + second,
                f"INC-2  {at(db, 'declared', second)}  nudge  on timer  -> post",
            ),
            (
                events[(db.id, "severity_changed")],
                f"INC-2  {at(db, 'severity_changed')}  sev1-escalation  on severity_changed  -> post",
            ),
            (
                events[(db.id, "status_changed")] + ten,
                f"INC-2  {at(db, 'status_changed', ten)}  investigating-sev1  on status_changed  -> post, webhook",
            ),
            (said_at, f"INC-2  {said_at.strftime('%Y-%m-%d %H:%M')}  rollback  on message  -> post"),
        ]
    )
    # INC-3 was closed before its second was up: no nudge.
    if events[(quiet.id, "status_changed")] > events[(quiet.id, "declared")] + second:
        expected.append(
            (
                events[(quiet.id, "declared")] + second,
                f"INC-3  {at(quiet, 'declared', second)}  nudge  on timer  -> post",
            )
        )
        expected.sort()
    done = cli(bot, "workflows", "try", "--since", "90d", "--file", str(rules))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:-1] == [line for _, line in expected]
    assert lines[-1] == f"5 rules on 3 incidents: {len(expected)} runs would have started"
    # Nothing before the window: the incidents are all newer than a day, none older than a second ago.
    assert cli(bot, "workflows", "try", "--since", "1s", "--file", str(rules)).stdout.splitlines()[-1] == (
        "5 rules on 0 incidents: 0 runs would have started"
    )
    bad = cli(bot, "workflows", "try", "--since", "ninety days")
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith(
        "incident-bot workflows try: --since: `ninety days` is not a duration: a number and s, m, h or d (e.g. `30m`)"
    )


BROKEN = """
[fields.data_exposed]
label = "Data exposed?"
kind = "single_select"
options = ["yes", "no"]

[[workflows]]
name = "broken"
trigger = { on = "field_changed", field = "data_leak" }
conditions = { all = [ { field = "fields.data_exposed", is = "maybe" }, { field = "severity", gte = "sev9" } ] }
steps = [ { kind = "post", text = "{{ incident.ref " }, { kind = "set_field", field = "owner", value = "x" } ]

[[workflows]]
name = "contradiction"
trigger = { on = "declared" }
conditions = { all = [ { field = "type", is = "default" }, { field = "type", is = "security" } ] }
steps = [ { kind = "shout", text = "hi" } ]
"""


def test_check_names_every_problem_on_its_own_line(
    start_bot: Callable[[str], BotServer], tmp_path: Path
) -> None:
    bot = start_bot("")
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    done = cli(bot, "workflows", "check", str(path))
    assert done.returncode == 2 and done.stdout == ""
    prefix = f"incident-bot workflows check: {path}: "
    assert done.stderr.splitlines() == [
        prefix
        + "workflows.1.steps.0: Input tag 'shout' found using 'kind' does not match any of the expected "
        "tags: 'post', 'invite', 'set_severity', 'set_field', 'page', 'webhook', 'start_checklist', "
        "'set_role', 'invite_oncall', 'add_link', 'create_followup'",
    ]
    path.write_text(BROKEN.replace('"shout", text = "hi"', '"post", text = "hi"'), encoding="utf-8")
    done = cli(bot, "workflows", "check", str(path))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        prefix + "workflows.broken.trigger.field: unknown field `data_leak` (known: data_exposed)",
        prefix + "workflows.broken.conditions.all[0]: `maybe` is not an option of `data_exposed` (yes, no): "
        "it can never match",
        prefix
        + "workflows.broken.conditions.all[1]: `sev9` is not a severity (sev1, sev2, sev3, sev4): it can "
        "never match",
        prefix + "workflows.broken.steps[0] (post): template error on line 1: unexpected end of template, "
        "expected 'end of print statement'.",
        prefix + "workflows.broken.steps[1] (set_field): unknown field `owner` (known: data_exposed)",
        prefix
        + "workflows.contradiction.conditions.all[1]: `security` is not a type (default): it can never match",
        prefix
        + "workflows.contradiction.conditions.all: `type` can never match every `is` / `one_of` at once",
    ]
    good = tmp_path / "good.toml"
    good.write_text(BASE.format(pd_key="0" * 32) + TRIED, encoding="utf-8")
    done = cli(bot, "workflows", "check", str(good))
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{good}: 5 workflows, no problems\n", "")
