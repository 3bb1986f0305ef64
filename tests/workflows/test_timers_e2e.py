"""Timers and delays: a timer rule fires once across two replicas sweeping at the same instant and a
restart; a status update in time cancels it; a delayed rule checks its conditions again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.slack.client import make_client
from bot.wiring import Services, build_services
from storage.db import make_engine
from storage.models import OutboxMessage, WorkflowRun, utcnow
from tests.support.harness import BotServer, holds, wait_for
from tests.support.lifecycle_support import command, rows, texts
from tests.workflows.conftest import declare_incident

TIMER = """
[[workflows]]
name = "nudge"
trigger = { on = "timer", after = "30m", unless = "status_update" }
conditions = { none = [ { field = "status", one_of = ["fixed", "verified"] } ] }
steps = [ { kind = "post", text = "{{ incident.ref }}: 30 minutes in and no status update yet. Try `/incident update`." } ]
"""


def replica(bot: BotServer) -> Services:
    s = bot.settings
    assert s.slack_bot_token is not None
    return build_services(
        s, make_engine(s.database_url), make_client(s.slack_bot_token.get_secret_value(), s.slack_api_url)
    )


def test_a_timer_fires_once_across_two_replicas_and_a_restart_unless_an_update_came_in_time(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    bot = start_bot(TIMER)
    quiet = declare_incident(bot, emu, people["alice"], channels["general"], "sev2 Checkout errors", 1)
    chatty = declare_incident(bot, emu, people["alice"], channels["general"], "sev2 Search errors", 2)
    command(bot, emu, people["alice"], chatty.channel_id or "", "update Rolling back the search deploy")
    now = utcnow()
    for inc in (quiet, chatty):  # declared 29 minutes ago: the timers are due in a minute
        bot.services.repo.update_incident(inc.id, created_at=now - timedelta(minutes=29))
    other = replica(bot)
    sweepers = [bot.services.reminder_sweeper(owner="a"), other.reminder_sweeper(owner="b")]
    for s in sweepers:  # not due yet
        s.sweep(now)
    assert rows(bot, WorkflowRun) == []
    later = now + timedelta(minutes=2)
    barrier = threading.Barrier(4)

    def race(sweeper: Any) -> None:
        barrier.wait()
        sweeper.sweep(later)

    threads = [threading.Thread(target=race, args=(s,)) for s in sweepers * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nudge = "INC-1: 30 minutes in and no status update yet. Try `/incident update`."
    wait_for(lambda: nudge in texts(emu, quiet.channel_id or ""), what="the nudge")
    # A restart: a new process sweeps the same instant and later ones.
    other.engine.dispose()
    restarted = replica(bot)
    for at in (later, later + timedelta(minutes=5)):
        restarted.reminder_sweeper(owner="c").sweep(at)
    restarted.workflows.outbox.run_due()
    holds(lambda: texts(emu, quiet.channel_id or "").count(nudge) == 1, 0.5, what="one nudge")
    assert not any("30 minutes in" in t for t in texts(emu, chatty.channel_id or ""))
    [run] = rows(bot, WorkflowRun)
    assert (run.rule, run.trigger, run.incident_id) == ("nudge", "timer", quiet.id)
    assert len([r for r in rows(bot, OutboxMessage) if r.kind == "workflow_step"]) == 1
    restarted.engine.dispose()


DELAYED = """
[[workflows]]
name = "still-critical"
trigger = { on = "severity_changed" }
conditions = { all = [ { field = "severity", is = "sev1" } ] }
delay = "4s"
steps = [ { kind = "post", text = "Still {{ incident.severity | upper }} after the delay: consider a status page update." } ]
"""


def test_a_delayed_rule_checks_its_conditions_again_when_the_delay_is_over(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    bot = start_bot(DELAYED)
    stays = declare_incident(bot, emu, people["alice"], channels["general"], "sev2 Checkout errors", 1)
    drops = declare_incident(bot, emu, people["alice"], channels["general"], "sev2 Search errors", 2)
    command(bot, emu, people["alice"], stays.channel_id or "", "severity sev1")
    command(bot, emu, people["alice"], drops.channel_id or "", "severity sev1")
    command(bot, emu, people["alice"], drops.channel_id or "", "severity sev2")  # within the delay
    text = "Still SEV1 after the delay: consider a status page update."
    wait_for(lambda: text in texts(emu, stays.channel_id or ""), what="the delayed post")
    skipped = wait_for(
        lambda: next(
            (
                r
                for r in rows(bot, OutboxMessage)
                if r.key.startswith(f"wf:{drops.id}:") and r.state == "done"
            ),
            None,
        ),
        what="the other run's step, skipped",
    )
    assert skipped.result == {"skipped": "the conditions no longer held after the delay"}
    assert text not in texts(emu, drops.channel_id or "")


VERIFY = """
[[workflows]]
name = "verify"
trigger = { on = "timer", since = "fixed", after = "1h", unless = "status_update" }
steps = [ { kind = "post", text = "{{ incident.ref }}: fixed an hour ago. Is the fix verified?" } ]
"""


def test_a_timer_counts_from_the_milestone_it_names_once_that_is_set(
    start_bot: Callable[[str], BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    bot = start_bot(VERIFY)
    inc = declare_incident(bot, emu, people["alice"], channels["general"], "sev2 Checkout errors", 1)
    sweeper = bot.services.reminder_sweeper(owner="a")
    now = utcnow()
    sweeper.sweep(now + timedelta(hours=3))  # not fixed yet: nothing to count from
    assert rows(bot, WorkflowRun) == []
    command(bot, emu, people["alice"], inc.channel_id or "", "status fixed")
    fixed = wait_for(lambda: bot.services.repo.milestones(inc.id).get("fixed"), what="the fixed milestone")
    sweeper.sweep(fixed + timedelta(minutes=59))
    assert rows(bot, WorkflowRun) == []
    sweeper.sweep(fixed + timedelta(minutes=61))
    asked = "INC-1: fixed an hour ago. Is the fix verified?"
    wait_for(lambda: asked in texts(emu, inc.channel_id or ""), what="the question an hour after the fix")
    [run] = rows(bot, WorkflowRun)
    assert (run.rule, run.trigger) == ("verify", "timer") and run.event_at == fixed + timedelta(hours=1)
