"""A closed incident's timeline changing after its final document (here a reaction after the
close; an outage's re-read or a replayed delivery take the same path): the document is generated
and posted once more, saying what changed, and only once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.reminders.scheduler import Scheduler
from storage.models import utcnow
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.timeline_support import post


def test_a_timeline_change_after_close_posts_the_document_again_once(
    emulator: Any, people: dict[str, str], channels: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    emu = emulator
    config = tmp_path / "bot.toml"
    config.write_text("[reminders]\nsweep_every = 1\n")
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=database_url,
        INCIDENT_OUTPUT_DIR=str(tmp_path / "docs"),
        INCIDENT_BOT_CONFIG=str(config),
    )
    bot = BotServer(settings).start().attach(emu)
    scheduler = Scheduler(bot.services.reminder_sweeper()).start()  # as `serve` runs it
    try:
        services = bot.services
        inc = services.incidents.declare(
            title="Pool exhausted", declarer=people["alice"], severity="sev2"
        ).incident
        assert inc.id is not None and inc.channel_id is not None
        ch = inc.channel_id
        services.client.conversations_invite(channel=ch, users=people["bob"])
        ts = post(emu, people["bob"], ch, "the pool ran dry at 09:14")
        wait_for(lambda: services.repo.channel_message(ch, ts), what="recorded")
        emu.slash_command(people["alice"], ch, "close")

        def shared() -> list[dict[str, Any]]:
            return [m for m in emu.messages(ch) if m.get("files")]

        wait_for(lambda: len(shared()) == 1, timeout=20, what="the final document")
        emu.add_reaction(people["alice"], ch, ts, "dart")
        wait_for(lambda: len(shared()) == 2, timeout=30, what="the final document posted again")
        assert "Updated after close: 1 timeline entry added" in shared()[-1]["text"]
        latest = services.repo.documents(inc.id)[-1]
        assert "the pool ran dry at 09:14" in latest.markdown and not latest.draft
        assert services.catch_up_documents(utcnow()) == [], "nothing more is owed: posted once"
        assert len(shared()) == 2
    finally:
        scheduler.shutdown()
        bot.stop()
