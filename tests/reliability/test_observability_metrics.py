"""/metrics moves with the work: requests and acks, Slack calls, captured events, reminders sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage.models import utcnow
from tests.support.harness import BotServer, wait_for
from tests.support.reliability_support import scrape, total


def test_metrics_move_after_a_declare_a_reaction_and_a_reminder(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    before = scrape(bot.base)
    assert emu.slash_command(people["alice"], channels["general"], "declare sev2 Metrics drill").status == 200
    inc = wait_for(lambda: bot.services.repo.incident_by_channel(_inc_channel(emu) or "-"), what="incident")
    wait_for(lambda: bot.services.repo.incident(inc.id).card_ts, what="card")
    ts = emu.post_message(people["alice"], inc.channel_id, "p99 doubled at 09:12").ts
    wait_for(lambda: bot.services.repo.channel_message(inc.channel_id, ts), what="message recorded")
    emu.add_reaction(people["alice"], inc.channel_id, ts, "pushpin")
    wait_for(lambda: bot.services.repo.event_for_message(inc.id, ts), what="captured")
    wait_for(lambda: not bot.services.repo.event_for_message(inc.id, ts).hidden, what="visible")
    sent = bot.services.reminder_sweeper().sweep(now=utcnow() + timedelta(days=2))
    assert sent, "a reminder was due two days after the declare"

    after = scrape(bot.base)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    transport = bot.transport
    assert moved("incident_bot_requests_total", transport=transport, kind="commands", status="200") >= 1
    assert moved("incident_bot_requests_total", transport=transport, kind="events", status="200") >= 2
    assert moved("incident_bot_ack_seconds_count", transport=transport, kind="commands") >= 1
    assert moved("incident_bot_slack_api_calls_total", method="conversations.create", outcome="ok") == 1
    assert moved("incident_bot_timeline_events_captured_total", source="reaction") == 1
    assert moved("incident_bot_jobs_fired_total") == len([s for s in sent if not s.error])


def _inc_channel(emu: Any) -> str | None:
    return next((c["id"] for c in emu.channels() if c["name"].startswith("inc-")), None)
