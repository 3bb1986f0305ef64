"""Reminders end to end: real bot, real Slack-shaped HTTP (emulator), a sweeper on a set clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session

from bot.reminders.rules import RECHECK, STATUS, slot_time
from bot.reminders.scheduler import ReminderSweeper, Scheduler
from bot.slack.client import make_client
from bot.wiring import build_services
from storage.db import make_engine
from storage.models import Document, Incident, ReminderClaim, RoleAssignment, StatusUpdate, utcnow
from tests.support.harness import BotServer, wait_for
from tests.support.scheduler_helpers import STATUS_MARK, Clock, declare, posts


def add(bot: BotServer, *rows: Any) -> None:
    with Session(bot.services.engine) as s:
        s.add_all(rows)
        s.commit()


def start_at(bot: BotServer, incident: Incident, when: datetime | None = None) -> datetime:
    """Pin the incident's declare time, so the test knows exactly when reminders are due."""
    when = when or utcnow().replace(microsecond=0)
    assert incident.id is not None
    bot.services.repo.update_incident(incident.id, created_at=when)
    return when


def close(bot: BotServer, incident: Incident, at: datetime) -> None:
    assert incident.id is not None
    bot.services.repo.update_incident(incident.id, is_closed=True, status="verified")
    bot.services.repo.set_milestone(incident.id, "closed", at, None, "command", only_if_unset=False)


def test_status_reminders_follow_the_severity_cadence(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    one = declare(bot, people["alice"], "sev1 API down")
    two = declare(bot, people["bob"], "sev2 Search slow")
    low = declare(bot, people["bob"], "sev4 Typo on the status page")
    t = start_at(bot, one)
    for inc in (two, low):
        start_at(bot, inc, t)

    def counts() -> tuple[int, int, int]:
        return tuple(len(posts(emu, i.channel_id, STATUS_MARK)) for i in (one, two, low))  # type: ignore[return-value]

    expected = {1.0: (0, 0, 0), 2.0: (1, 0, 0), 3.0: (1, 0, 0), 4.0: (2, 1, 0), 4.5: (2, 1, 0)}
    for seconds, want in expected.items():
        sweeper.sweep(clock.at(t, seconds))
        assert counts() == want, f"after {seconds} s"
    # Down for a long while: each incident gets one reminder for the current period, not a backlog.
    sweeper.sweep(clock.at(t, 30))
    assert counts() == (3, 2, 0)
    text = posts(emu, one.channel_id, STATUS_MARK)[-1]["text"]
    assert "<!channel>" in text and "INC-1" in text and "/incident update" in text
    assert not posts(emu, channels["general"], STATUS_MARK) and not posts(
        emu, channels["incidents"], STATUS_MARK
    )


def test_an_update_resets_the_cadence_and_fixing_stops_it(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    inc = declare(bot, people["alice"], "sev1 Payments failing")
    assert inc.id is not None
    t = start_at(bot, inc)
    add(bot, RoleAssignment(incident_id=inc.id, role="lead", user_id=people["carol"], assigned_at=t))
    sweeper.sweep(clock.at(t, 2))
    first = posts(emu, inc.channel_id, STATUS_MARK)
    assert len(first) == 1
    assert f"<@{people['carol']}>" in first[0]["text"] and "<!channel>" not in first[0]["text"]

    add(bot, StatusUpdate(incident_id=inc.id, text="Rolling back", author_id=people["carol"],
                          posted_at=t + timedelta(seconds=2.5)))  # fmt: skip
    sweeper.sweep(clock.at(t, 4.0))  # would be the second period without the update
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == 1
    sweeper.sweep(clock.at(t, 4.5))
    after = posts(emu, inc.channel_id, STATUS_MARK)
    assert len(after) == 2 and "since the last status update" in after[1]["text"]

    bot.services.repo.update_incident(inc.id, status="fixed")
    sweeper.sweep(clock.at(t, 60))
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == 2


def test_lead_nudge_when_nobody_leads(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    bot.services.settings.config.reminders.lead_nudge_after = 600
    lonely = declare(bot, people["alice"], "sev4 Nobody home")
    led = declare(bot, people["bob"], "sev4 Someone home")
    assert led.id is not None
    t = start_at(bot, lonely)
    start_at(bot, led, t)
    add(bot, RoleAssignment(incident_id=led.id, role="lead", user_id=people["bob"], assigned_at=t))
    mark = "Nobody has taken the lead"
    sweeper.sweep(clock.at(t, 599))
    assert not posts(emu, lonely.channel_id, mark)
    for seconds in (1200, 6000):  # the first sweep after the setting's 10 min comes at 20 min
        sweeper.sweep(clock.at(t, seconds))
    nudges = posts(emu, lonely.channel_id, mark)
    assert len(nudges) == 1
    assert "(Nobody home) 20 min after it was declared." in nudges[0]["text"]
    assert f"<@{people['alice']}>" in nudges[0]["text"] and "/incident lead" in nudges[0]["text"]
    assert not posts(emu, led.channel_id, mark)


def test_document_reminder_lists_missing_sections_until_complete(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    cfg = bot.services.settings.config.reminders
    cfg.postmortem_every, cfg.postmortem_days = 5, 3
    inc = declare(bot, people["alice"], "sev3 Cache stampede")
    assert inc.id is not None
    c = utcnow().replace(microsecond=0)
    close(bot, inc, c)
    add(bot, Document(incident_id=inc.id, revision=1, state="published", draft=False,
                      missing_sections=["Root Cause", "Lessons <!here> Learned"]))  # fmt: skip
    mark = "investigation document"
    sweeper.sweep(clock.at(c, 4))
    assert not posts(emu, inc.channel_id, mark)
    sweeper.sweep(clock.at(c, 5))
    sweeper.sweep(clock.at(c, 6))
    first = posts(emu, inc.channel_id, mark)
    assert len(first) == 1
    assert "*Root Cause*" in first[0]["text"] and "Lessons &lt;!here&gt; Learned" in first[0]["text"]
    assert f"<@{people['alice']}>" in first[0]["text"], "nobody leads: the declarer is reminded"

    add(bot, Document(incident_id=inc.id, revision=2, state="published", draft=False,
                      missing_sections=["Lessons Learned"]))  # fmt: skip
    sweeper.sweep(clock.at(c, 10))
    second = posts(emu, inc.channel_id, mark)
    assert (
        len(second) == 2 and "Root Cause" not in second[1]["text"] and "Lessons Learned" in second[1]["text"]
    )

    add(bot, Document(incident_id=inc.id, revision=3, state="published", draft=False, missing_sections=[]))
    sweeper.sweep(clock.at(c, 15))
    assert len(posts(emu, inc.channel_id, mark)) == 2


def test_archive_after_a_heads_up_but_never_a_reopened_incident(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    cfg = bot.services.settings.config.reminders
    cfg.archive_after, cfg.archive_heads_up = 60, 20
    done = declare(bot, people["alice"], "sev3 Disk full")
    back = declare(bot, people["bob"], "sev3 Flaky deploys")
    assert back.id is not None
    c = utcnow().replace(microsecond=0)
    close(bot, done, c)
    close(bot, back, c)
    mark = "will be archived in 20 s"
    sweeper.sweep(clock.at(c, 39))
    assert not posts(emu, done.channel_id, mark)
    sweeper.sweep(clock.at(c, 40))
    assert len(posts(emu, done.channel_id, mark)) == 1 and len(posts(emu, back.channel_id, mark)) == 1
    assert "/incident reopen" in posts(emu, done.channel_id, mark)[0]["text"]

    bot.services.repo.update_incident(back.id, is_closed=False, status="investigating")
    sweeper.sweep(clock.at(c, 59))
    assert not emu.channel(done.channel_id)["is_archived"]
    sweeper.sweep(clock.at(c, 60))
    assert emu.channel(done.channel_id)["is_archived"]
    for seconds in (61, 120, 86_400):
        sweeper.sweep(clock.at(c, seconds))
    assert not emu.channel(back.channel_id)["is_archived"]
    assert [call.args["channel"] for call in emu.calls_to("conversations.archive")] == [done.channel_id]
    assert len(posts(emu, done.channel_id, mark)) == 1


def test_racing_sweepers_post_each_occurrence_once(
    bot: BotServer, emulator: Any, people, channels, settings, clock: Clock
) -> None:
    """Two "replicas" (own engine, client and sweeper each) sweep the same instants concurrently."""
    emu = emulator
    inc = declare(bot, people["alice"], "sev1 Everything is on fire")
    t = start_at(bot, inc)
    assert settings.slack_bot_token is not None
    other = build_services(
        settings, make_engine(settings.database_url),
        make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url),
    )  # fmt: skip
    replicas = [
        bot.services.reminder_sweeper(owner="a", clock=clock),
        other.reminder_sweeper(owner="b", clock=clock),
    ]
    periods = 4
    for n in range(1, periods + 1):
        now = clock.at(t, 2 * n + 0.5)
        barrier = threading.Barrier(4)

        def race(sweeper: ReminderSweeper, now: datetime = now, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            sweeper.sweep(now)

        threads = [threading.Thread(target=race, args=(r,)) for r in replicas * 2]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == periods
    assert inc.id is not None
    claims = bot.services.repo.reminder_claims(inc.id)
    assert len(claims) == periods and all(c.state == "sent" for c in claims)
    other.engine.dispose()


def test_slack_refusal_is_final_and_a_passing_failure_is_retried(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    inc = declare(bot, people["alice"], "sev1 Queue backlog")
    assert inc.id is not None
    t = start_at(bot, inc)
    emu.inject_fault("chat.postMessage", error="not_in_channel")
    sent = sweeper.sweep(clock.at(t, 2))
    assert [s.error for s in sent] == ["not_in_channel"]
    sweeper.sweep(clock.at(t, 3))
    assert not posts(emu, inc.channel_id, STATUS_MARK), "a refused occurrence is not retried"
    assert [c.state for c in bot.services.repo.reminder_claims(inc.id)] == ["failed"]

    emu.inject_fault("chat.postMessage", error="internal_error")
    assert sweeper.sweep(clock.at(t, 4)) == []
    assert sweeper.sweep(clock.at(t, 4.5))[0].ts is not None
    sweeper.sweep(clock.at(t, 5))
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == 1
    assert [c.state for c in bot.services.repo.reminder_claims(inc.id)] == ["failed", "sent"]


def test_a_send_interrupted_by_a_crash_is_taken_over_once_stale(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    fresh = declare(bot, people["alice"], "sev1 Fresh claim")
    stale = declare(bot, people["bob"], "sev1 Stale claim")
    t = start_at(bot, fresh)
    start_at(bot, stale, t)
    now = clock.at(t, 2)
    slot = f"{slot_time(t)}/2/1"
    add(
        bot,
        ReminderClaim(incident_id=fresh.id, kind=STATUS, slot=slot, claimed_by="busy", claimed_at=now),
        ReminderClaim(incident_id=stale.id, kind=STATUS, slot=slot, claimed_by="dead",
                      claimed_at=now - timedelta(minutes=10)),
    )  # fmt: skip
    sent = sweeper.sweep(now)
    assert [(s.incident_id, s.slot) for s in sent] == [(stale.id, slot)]
    assert not posts(emu, fresh.channel_id, STATUS_MARK)
    assert len(posts(emu, stale.channel_id, STATUS_MARK)) == 1


def test_scheduler_sweeps_on_its_own_and_reports_health(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    bot.services.settings.config.reminders.status_update_every["sev1"] = 1
    inc = declare(bot, people["alice"], "sev1 Real clock")
    scheduler = Scheduler(bot.services.reminder_sweeper())
    bot.runtime.health.extra["scheduler"] = scheduler.health
    scheduler.start()
    try:
        wait_for(lambda: len(posts(emu, inc.channel_id, STATUS_MARK)) >= 2, what="two reminders")
        health = httpx.get(f"{bot.base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["checks"]["scheduler"] == "ok"
    finally:
        scheduler.shutdown()
    assert scheduler.health() == "stopped"
    health = httpx.get(f"{bot.base}/healthz", timeout=5)
    assert health.status_code == 503 and health.json()["failing"] == ["scheduler"]
    assert inc.id is not None
    claims = bot.services.repo.reminder_claims(inc.id)
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == len(claims) == len({c.slot for c in claims})


def test_a_periodic_recheck_recovers_events_slack_never_delivered_once_across_replicas(
    bot: BotServer, emulator: Any, people, settings, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu, repo = emulator, bot.services.repo
    settings.config.reminders.recheck_every = 60
    inc = declare(bot, people["alice"], "sev2 Lossy pipe")
    t = start_at(bot, inc)
    first = emu.post_message(people["alice"], inc.channel_id, "before the drops").ts
    wait_for(lambda: repo.channel_message(inc.channel_id, first), what="recorded")
    emu.drop_deliveries(3)
    lost = emu.post_message(people["alice"], inc.channel_id, "this message event is dropped").ts
    emu.add_reaction(people["alice"], inc.channel_id, lost, "dart")
    emu.add_reaction(people["alice"], inc.channel_id, first, "pushpin")
    emu.clear_faults()
    assert repo.channel_message(inc.channel_id, lost) is None
    assert RECHECK not in {s.kind for s in sweeper.sweep(clock.at(t, 59))}
    emu.reset_calls()

    done = [s for s in sweeper.sweep(clock.at(t, 61)) if s.kind == RECHECK]
    assert len(done) == 1 and done[0].error is None
    assert repo.channel_message(inc.channel_id, lost).text == "this message event is dropped"
    assert repo.active_kinds(inc.id) == {
        repo.event_for_message(inc.id, lost).id: ["root_cause"],
        repo.event_for_message(inc.id, first).id: ["timeline"],
    }
    assert len(emu.calls_to("conversations.history")) == 1
    assert len(emu.calls_to("reactions.get")) <= 20, "a recheck asks for a bounded number of messages"

    other_replica = bot.services.reminder_sweeper(owner="replica-b", clock=clock)
    emu.reset_calls()
    assert RECHECK not in {s.kind for s in other_replica.sweep(clock.at(t, 90))}
    assert emu.calls_to("conversations.history") == [], "the period is claimed: read once"
    assert [s.kind for s in other_replica.sweep(clock.at(t, 121)) if s.kind == RECHECK] == [RECHECK]


def test_a_recheck_asks_for_reactions_dropped_on_messages_from_before_its_window(
    bot: BotServer, emulator: Any, people, settings, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu, repo = emulator, bot.services.repo
    settings.config.reminders.recheck_every = 60
    now = utcnow()
    emu.clock.set(now - timedelta(minutes=7))  # the incident and its first message are 7 minutes old
    inc = declare(bot, people["alice"], "sev2 Slow burn")
    start_at(bot, inc, now - timedelta(minutes=10))
    older = emu.post_message(people["alice"], inc.channel_id, "posted long ago").ts
    wait_for(lambda: repo.channel_message(inc.channel_id, older), what="recorded")
    emu.clock.set(now)
    busy = [emu.post_message(people["alice"], inc.channel_id, f"busy {i}").ts for i in range(25)]
    wait_for(lambda: repo.channel_message(inc.channel_id, busy[-1]), what="recorded")
    emu.drop_deliveries(1)
    emu.add_reaction(people["alice"], inc.channel_id, older, "bulb")  # dropped
    emu.clear_faults()
    emu.reset_calls()

    done = [s for s in sweeper.sweep(clock.at(now, 5)) if s.kind == RECHECK]
    assert len(done) == 1 and done[0].error is None
    assert repo.active_kinds(inc.id) == {repo.event_for_message(inc.id, older).id: ["hypothesis"]}
    # The history page of the window reaches back over the recent messages before it (cheaper
    # than one reactions.get each): one call, and nothing asked message by message.
    (page,) = emu.calls_to("conversations.history")
    assert float(page.args["oldest"]) <= float(older) and emu.calls_to("reactions.get") == []


def test_after_a_restart_the_coalesced_reminder_is_followed_a_full_period_later_not_seconds(
    bot: BotServer, emulator: Any, people, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    inc = declare(bot, people["alice"], "sev1 API down")  # a status update is due every 2 s
    t = start_at(bot, inc)
    sweeper.sweep(clock.at(t, 3.5))  # the bot was down: periods 1 coalesce into one reminder
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == 1
    sweeper.sweep(clock.at(t, 4.0))  # period 2 starts half a period later
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == 1, "one reminder per period, not two"
    sweeper.sweep(clock.at(t, 5.5))
    assert len(posts(emu, inc.channel_id, STATUS_MARK)) == 2


def test_a_recheck_is_logged_as_a_recheck(
    bot: BotServer, people, settings, sweeper: ReminderSweeper, clock: Clock, caplog: Any
) -> None:
    settings.config.reminders.recheck_every = 60
    inc = declare(bot, people["alice"], "sev4 Quiet one")
    t = start_at(bot, inc)
    with caplog.at_level("INFO", logger="bot.reminders.scheduler"):
        assert [s.kind for s in sweeper.sweep(clock.at(t, 61))] == [RECHECK]
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.reminders.scheduler"]
    assert any(line.startswith("rechecked recheck") for line in lines), lines
    assert not any("sent reminder" in line for line in lines), lines
