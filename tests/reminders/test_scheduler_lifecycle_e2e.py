"""Reminders reacting to the real `/incident` commands (declare, lead, update, close, reopen)."""

from __future__ import annotations

from typing import Any

from bot.reminders.scheduler import ReminderSweeper
from storage.models import Incident
from tests.support.harness import BotServer, wait_for
from tests.support.scheduler_helpers import STATUS_MARK, Clock, all_incidents, command, posts


def test_reminders_follow_the_incident_through_its_commands(
    bot: BotServer, emulator: Any, people, channels, sweeper: ReminderSweeper, clock: Clock
) -> None:
    emu = emulator
    repo = bot.services.repo
    cfg = bot.services.settings.config.reminders
    cfg.postmortem_every, cfg.postmortem_days = 5, 1
    cfg.archive_after, cfg.archive_heads_up = 30, 10
    alice, bob = people["alice"], people["bob"]

    command(bot, emu, alice, channels["general"], "declare sev1 Checkout broken")
    inc: Incident = wait_for(
        lambda: next(
            (i for i in all_incidents(bot.services.engine) if i.state == "active" and i.card_ts), None
        ),
        what="the incident",
    )
    assert inc.id is not None and inc.channel_id is not None
    ch = inc.channel_id
    sweeper.sweep(clock.at(inc.created_at, 2))
    assert "<!channel>" in posts(emu, ch, STATUS_MARK)[-1]["text"]

    command(bot, emu, alice, ch, f"lead <@{bob}|bob>")
    command(bot, emu, bob, ch, "update Rolled back the deploy, watching error rates")
    updated = max(u.posted_at for u in repo.status_updates(inc.id))
    sweeper.sweep(clock.at(updated, 1.9))
    assert len(posts(emu, ch, STATUS_MARK)) == 1, "the update reset the cadence"
    sweeper.sweep(clock.at(updated, 2))
    latest = posts(emu, ch, STATUS_MARK)
    assert len(latest) == 2 and f"<@{bob}>" in latest[-1]["text"] and "<!channel>" not in latest[-1]["text"]

    command(bot, emu, bob, ch, "close")
    closed_at = repo.milestones(inc.id)["closed"]
    sweeper.sweep(clock.at(closed_at, 5))
    assert len(posts(emu, ch, STATUS_MARK)) == 2, "no status reminders once closed"
    document = posts(emu, ch, "investigation document")
    assert document and f"<@{bob}>" in document[-1]["text"]
    sweeper.sweep(clock.at(closed_at, 20))
    assert len(posts(emu, ch, "will be archived in 10 s")) == 1

    command(bot, emu, bob, ch, "reopen")
    for seconds in (30, 31, 600):
        sweeper.sweep(clock.at(closed_at, seconds))
    assert not emu.channel(ch)["is_archived"]
    assert emu.calls_to("conversations.archive") == []
    resumed = posts(emu, ch, STATUS_MARK)
    assert len(resumed) == 4 and "since it was reopened" in resumed[-1]["text"], (
        "one per period: +30 s, +600 s"
    )
