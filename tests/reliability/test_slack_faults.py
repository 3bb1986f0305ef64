"""Slack failing in the middle of declare, capture and document generation: 5xx and 429 are retried;
when Slack keeps failing (or times out) the user gets a clear message and nothing is half-done;
`kill -9` during generation is completed by a rerun; events Slack never delivered are recovered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from bot.config import load_settings
from bot.postmortem.cli import run_postmortem
from storage.models import Document, Incident, ProcessedEvent, TimelineEvent, utcnow
from tests.support.harness import BotServer, ServeProcess, services_for, wait_for
from tests.support.reliability_support import rows


def answers(emu: Any, user: str) -> str:
    """Everything the bot told ``user`` privately (ephemerals and response_url posts)."""
    texts = [str(e.get("text") or "") for e in emu.ephemerals(user=user)]
    texts += [str(p.get("text") or "") for p in emu.response_url_posts]
    return "\n".join(texts)


def incidents(bot: BotServer) -> list[Incident]:
    return rows(bot.services.engine, Incident)


def inc_channels(emu: Any) -> list[dict[str, Any]]:
    return [c for c in emu.channels() if c["name"].startswith("inc-")]


def test_declare_rides_out_5xx_and_429(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    emu.inject_fault("conversations.create", http_status=503, times=2)
    emu.inject_fault("chat.postMessage", ratelimited=True, retry_after=1, times=1)
    emu.slash_command(people["alice"], channels["general"], "declare sev2 Payments down")
    inc = wait_for(
        lambda: next((i for i in incidents(bot) if i.card_ts and i.announce_ts), None), what="incident"
    )
    assert inc.state == "active" and inc.number == 1
    assert len(inc_channels(emu)) == 1, "retries created one channel"
    assert len(emu.messages(channels["incidents"])) == 1
    wait_for(lambda: "Declared" in answers(emu, people["alice"]), what="confirmation")
    assert "failed" not in answers(emu, people["alice"])


def test_declare_rolls_back_when_slack_keeps_failing(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    emu.inject_fault("conversations.create", http_status=500, times=20)
    emu.slash_command(people["alice"], channels["general"], "declare sev2 Payments down")
    wait_for(lambda: ":x:" in answers(emu, people["alice"]), what="a clear failure")
    assert "no incident was recorded" in answers(emu, people["alice"])
    assert incidents(bot) == [] and inc_channels(emu) == []
    assert len(emu.calls_to("conversations.create")) == 4, "one call and three retries"
    emu.clear_faults()
    emu.slash_command(people["alice"], channels["general"], "declare sev2 Payments down")
    inc = wait_for(lambda: next((i for i in incidents(bot) if i.card_ts), None), what="the retry by hand")
    assert inc.state == "active" and inc.channel_id


def test_a_declare_whose_answer_timed_out_adopts_the_channel_slack_created(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    """Slack creates the channel, but only after the bot stopped waiting: asked again, Slack says the
    name is taken, and the bot adopts the channel it created instead of leaving it orphaned."""
    emu = emulator
    bot.services.client.timeout = 2
    emu.inject_fault("conversations.create", latency=2.5, times=1)  # created at 2.5 s, unanswered
    emu.inject_fault("conversations.create", latency=1.5, times=1)  # asked at 2 s: "name_taken" at 3.5 s
    emu.slash_command(people["alice"], channels["general"], "declare sev2 Slow Slack")
    inc = wait_for(lambda: next((i for i in incidents(bot) if i.card_ts), None), what="incident", timeout=20)
    assert [c["id"] for c in inc_channels(emu)] == [inc.channel_id], "one channel, the incident's"
    assert inc.number == 1 and inc.channel_name == "inc-1-slow-slack"
    assert [c.args["name"] for c in emu.calls_to("conversations.create")] == ["inc-1-slow-slack"] * 2
    lists = emu.calls_to("conversations.list")
    adoption_lookups = [c for c in lists if str(c.args.get("exclude_archived")).lower() in ("1", "true")]
    assert len(adoption_lookups) == 1
    wait_for(lambda: "Declared" in answers(emu, people["alice"]), what="confirmation")


def test_a_name_taken_by_someone_else_is_never_adopted(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    emu.add_channel("inc-1-db-down", members=[people["bob"]])
    emu.slash_command(people["alice"], channels["general"], "declare sev2 DB down")
    inc = wait_for(lambda: next((i for i in incidents(bot) if i.card_ts), None), what="incident")
    assert (inc.number, inc.channel_name) == (2, "inc-2-db-down"), "number 1 is taken in Slack: skipped"
    assert {c["name"] for c in inc_channels(emu)} == {"inc-1-db-down", "inc-2-db-down"}


def test_declare_rolls_back_when_slack_never_answers(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    bot.services.client.timeout = 1
    emu.inject_fault("conversations.create", error="fatal_error", latency=1.5, times=3)
    emu.slash_command(people["alice"], channels["general"], "declare sev2 Slow Slack")
    wait_for(lambda: ":x:" in answers(emu, people["alice"]), what="a clear failure", timeout=20)
    assert "did not answer" in answers(emu, people["alice"])
    assert [i for i in incidents(bot) if i.state != "deleted"] == [] and inc_channels(emu) == []


def test_card_failure_is_reported_and_the_incident_stays_whole(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    emu.inject_fault("chat.postMessage", http_status=500, times=4)  # the card: a call and three retries
    emu.slash_command(people["alice"], channels["general"], "declare sev2 Queue stuck")
    wait_for(lambda: "Some set-up steps failed" in answers(emu, people["alice"]), what="the warning")
    assert "could not post the summary card" in answers(emu, people["alice"])
    (inc,) = incidents(bot)
    assert inc.state == "active" and inc.channel_id and inc.card_ts is None
    assert inc.announce_ts, "the steps after the failed one still ran"


def test_capture_rides_out_slack_faults(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    inc = bot.services.incidents.declare(
        title="Disk full", declarer=people["alice"], severity="sev2"
    ).incident
    ts = emu.post_message(people["alice"], inc.channel_id, "df says 100% on db-2").ts
    wait_for(lambda: bot.services.repo.channel_message(inc.channel_id, ts), what="recorded")
    emu.inject_fault("reactions.add", ratelimited=True, retry_after=1, times=1)
    emu.inject_fault("reactions.add", http_status=502, times=2)
    emu.add_reaction(people["alice"], inc.channel_id, ts, "bug")
    event = wait_for(
        lambda: (lambda e: e if e is not None and not e.hidden else None)(
            bot.services.repo.event_for_message(inc.id, ts)
        ),
        what="captured",
    )
    assert event.permalink == f"https://emulator.slack.test/archives/{inc.channel_id}/p{ts.replace('.', '')}"
    wait_for(
        lambda: any(emu.bot_user_id in r["users"] for r in emu.reactions(inc.channel_id, ts)), what="confirm"
    )


def test_document_upload_failure_then_rerun(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    inc = bot.services.incidents.declare(
        title="Cache storm", declarer=people["alice"], severity="sev2"
    ).incident
    emu.inject_fault("files.getUploadURLExternal", http_status=500, times=8)
    emu.slash_command(people["alice"], inc.channel_id, "postmortem")
    wait_for(lambda: "failed on our side" in answers(emu, people["alice"]), what="a clear failure")
    emu.clear_faults()
    emu.slash_command(people["alice"], inc.channel_id, "postmortem")
    wait_for(lambda: "Posted" in answers(emu, people["alice"]), what="the rerun")
    docs = [d for d in rows(bot.services.engine, Document) if d.incident_id == inc.id]
    assert [(d.revision, d.state) for d in docs] == [(1, "published")], "the rerun completed revision 1"
    assert len([f for f in emu.files.values() if inc.channel_id in (f.get("channels") or [])]) == 1


def test_kill_9_during_generation_then_cli_rerun_completes_it(
    emulator: Any, people, channels, database_url: str, tmp_path: Path
) -> None:
    emu = emulator
    out_dir = tmp_path / "docs"
    serve = ServeProcess(emu, database_url, tmp_path / "serve.log", INCIDENT_OUTPUT_DIR=str(out_dir))
    try:
        serve.healthy()
        emu.request_urls = [serve.url]
        db = services_for(emu, database_url)
        inc = db.incidents.declare(
            title="Killed mid-write", declarer=people["alice"], severity="sev2"
        ).incident
        emu.inject_fault("files.getUploadURLExternal", latency=8.0, times=1)
        emu.slash_command(people["alice"], inc.channel_id, "postmortem")
        doc = wait_for(
            lambda: next((d for d in rows(db.engine, Document) if d.path), None), what="generation under way"
        )
        serve.kill()
    finally:
        serve.kill()
    assert doc.state == "generating"
    with Session(db.engine) as s:  # the killed process's claim goes stale (as after 2 minutes)
        claim = s.get(ProcessedEvent, f"document:{doc.id}")
        assert claim is not None and claim.state == "processing"
        claim.claimed_at = utcnow() - timedelta(minutes=5)
        s.add(claim)
        s.commit()
    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-e2e-bot-token-0123456789",
        SLACK_SIGNING_SECRET="e2e-signing-secret-0123456789",
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=database_url,
        INCIDENT_OUTPUT_DIR=str(out_dir),
    )
    assert run_postmortem(settings, f"INC-{inc.number}", str(tmp_path / "out.md")) == 0
    (done,) = [d for d in rows(db.engine, Document) if d.incident_id == inc.id]
    assert (done.id, done.revision, done.state) == (doc.id, 1, "published")
    assert (tmp_path / "out.md").read_text().startswith("#")
    uploads = [f for f in emu.files.values() if inc.channel_id in (f.get("channels") or [])]
    assert len(uploads) == 1, "the killed run uploaded nothing; the rerun once"
    db.engine.dispose()


@pytest.mark.parametrize("dropped", [3])
def test_events_slack_never_delivered_are_recovered(
    bot: BotServer, emulator: Any, people, channels, dropped: int
) -> None:
    emu = emulator
    inc = bot.services.incidents.declare(
        title="Lossy pipe", declarer=people["alice"], severity="sev2"
    ).incident
    first = emu.post_message(people["alice"], inc.channel_id, "before the drops").ts
    wait_for(lambda: bot.services.repo.channel_message(inc.channel_id, first), what="recorded")
    emu.drop_deliveries(dropped)
    lost = emu.post_message(people["alice"], inc.channel_id, "this message event is dropped").ts
    emu.add_reaction(people["alice"], inc.channel_id, lost, "dart")  # dropped too
    emu.add_reaction(people["alice"], inc.channel_id, first, "pushpin")  # dropped too
    assert bot.services.repo.channel_message(inc.channel_id, lost) is None
    counts = bot.services.timeline.reconcile(bot.services.repo.incident(inc.id), recheck_since=inc.created_at)
    assert counts["messages_added"] >= 1 and counts["events_added"] == 2
    visible = {e.message_ts for e in rows(bot.services.engine, TimelineEvent) if not e.hidden}
    assert {lost, first} <= visible
    again = bot.services.timeline.reconcile(bot.services.repo.incident(inc.id), recheck_since=inc.created_at)
    assert again["events_added"] == 0 and again["messages_added"] == 0, "a second pass changes nothing"
