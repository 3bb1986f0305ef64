"""Catch-up: reactions and messages made while the bot was stopped; backfill; export."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.cli import main
from bot.config import Settings
from bot.timeline.capture import ts_to_datetime
from storage.models import Incident
from tests.support.harness import BOT_TOKEN, BotServer, wait_for
from tests.support.timeline_support import bot_reactions, event_at, post, recorded, visible_event


def test_reactions_made_while_the_bot_was_stopped_are_recovered_at_restart(
    bot: BotServer, emulator: Any, people: dict[str, str], settings: Settings, incident: Incident
) -> None:
    emu, ch, repo = emulator, incident.channel_id, bot.services.repo
    pinned = post(emu, people["bob"], ch, "Started failing at 09:12")
    idea = post(emu, people["bob"], ch, "Maybe the new cache config?")
    for ts in (pinned, idea):
        recorded(bot, ch, ts)
    emu.add_reaction(people["alice"], ch, pinned, "pushpin")
    wait_for(lambda: visible_event(bot, incident, pinned))
    wait_for(lambda: bot_reactions(emu, ch, pinned) == ["inbox_tray"])

    # Recorded live: the gap starts after `idea`, so only its current state tells of its new thread.
    wait_for(lambda: any(hb.last_seen > ts_to_datetime(idea) for hb in repo.heartbeats()), what="beat")
    bot.stop()
    wait_for(lambda: any(hb.stopped_at for hb in repo.heartbeats()), what="stop recorded")
    emu.drop_deliveries(1000)  # Slack gave up on these (only catch-up can find them)
    emu.add_reaction(people["bob"], ch, idea, "bulb")
    emu.remove_reaction(people["alice"], ch, pinned, "pushpin")
    emu.edit_message(people["bob"], ch, idea, "Maybe the new cache config (TTL=0)?")
    during = post(emu, people["carol"], ch, "Found it: TTL=0 in prod config")
    reply = post(emu, people["alice"], ch, "confirmed in staging", thread_ts=idea)
    emu.add_reaction(people["alice"], ch, during, "dart")
    emu.add_reaction(people["carol"], ch, reply, "white_check_mark")
    assert repo.channel_message(ch, during) is None
    emu.clear_faults()
    emu.reset_calls()

    restarted = BotServer(settings, bot.transport).start().attach(emu)
    try:

        def caught_up() -> dict[int, list[str]] | None:
            wanted = {(e := event_at(bot, incident, ts)) and e.id for ts in (idea, during, reply)}
            kinds = repo.active_kinds(incident.id)
            return kinds if set(kinds) == wanted else None

        kinds = wait_for(caught_up, what="catch-up", timeout=30)
        by_ts = {event_at(bot, incident, ts).id: ts for ts in (idea, during, reply)}
        assert {by_ts[e]: k for e, k in kinds.items()} == {
            idea: ["hypothesis"],
            during: ["root_cause"],
            reply: ["verification"],
        }
        assert event_at(bot, incident, pinned).hidden
        assert event_at(bot, incident, idea).text == "Maybe the new cache config (TTL=0)?"
        assert event_at(bot, incident, reply).thread_ts == idea
        assert repo.channel_message(ch, during).text == "Found it: TTL=0 in prod config"
        wait_for(lambda: bot_reactions(emu, ch, pinned) == [], what="confirmation withdrawn")
        for ts in (idea, during, reply):
            wait_for(lambda ts=ts: bot_reactions(emu, ch, ts) == ["inbox_tray"], what="confirmed")
        history = emu.calls_to("conversations.history")
        assert history and all(c.args.get("oldest") and c.args.get("latest") for c in history)
        # The gap is now reconciled: asking again reads nothing from Slack.
        emu.reset_calls()
        assert set(restarted.services.timeline.reconcile(repo.incident(incident.id)).values()) == {0}
        assert emu.calls_to("conversations.history") == [] and emu.calls_to("reactions.get") == []
    finally:
        restarted.stop()


def test_a_fully_recorded_channel_is_never_read_again(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    ts = post(emu, people["bob"], ch, "live")
    recorded(bot, ch, ts)
    emu.add_reaction(people["alice"], ch, ts, "mag")
    wait_for(lambda: visible_event(bot, incident, ts))
    emu.reset_calls()
    counts = bot.services.timeline.reconcile(bot.services.repo.incident(incident.id))
    assert counts == dict.fromkeys(
        (
            "history_calls",
            "replies_calls",
            "messages_added",
            "messages_updated",
            "events_added",
            "events_hidden",
        ),
        0,
    )
    read = [c.method for c in emu.calls if c.method in ("conversations.history", "conversations.replies")]
    assert read == []


def test_backfill_records_an_existing_channel_page_by_page(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    emu, repo = emulator, bot.services.repo
    ch = emu.add_channel("payments-war-room", members=list(people.values()))
    tops = [post(emu, people["bob"], ch, f"message {i}") for i in range(5)]
    replies = [post(emu, people["carol"], ch, f"reply {i}", thread_ts=tops[1]) for i in range(3)]
    emu.add_reaction(people["alice"], ch, tops[2], "pushpin")
    emu.add_reaction(people["alice"], ch, replies[0], "bug")
    bot.services.client.conversations_join(channel=ch)
    inc = repo.create_pending_incident(Incident(number=0, title="Payments", declarer_id=people["alice"]))
    inc = repo.update_incident(inc.id, channel_id=ch, channel_name="payments-war-room", state="active")
    bot.services.timeline.recorder.page_size = 2
    emu.reset_calls()

    assert bot.services.timeline.backfill_channel(inc) == 8

    def pages(method: str) -> int:
        """Backfill pages; a reaction delivered before the incident existed may still be in the
        bot's queue and fetch its one message (oldest=latest=ts) concurrently."""
        return len([c for c in emu.calls_to(method) if "latest" not in c.args])

    assert pages("conversations.history") == 3
    assert pages("conversations.replies") == 3  # the parent leads every page
    assert [m.ts for m in repo.thread_replies(ch, tops[1])] == replies
    streamed = list(repo.iter_channel_messages(ch, batch=2))
    assert [m.ts for m in streamed] == sorted(tops + replies)
    assert [m.text for m in streamed][:2] == ["message 0", "message 1"]
    kinds = repo.active_kinds(inc.id)
    assert sorted(kinds.values()) == [["error"], ["timeline"]]
    emu.reset_calls()
    assert set(bot.services.timeline.reconcile(repo.incident(inc.id)).values()) == {0}


def test_cli_exports_the_timeline(
    bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    incident: Incident,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    emu, ch = emulator, incident.channel_id
    ts = post(emu, people["bob"], ch, "=HYPERLINK(evil) <@" + people["carol"] + ">")
    recorded(bot, ch, ts)
    emu.add_reaction(people["alice"], ch, ts, "dart")
    wait_for(lambda: visible_event(bot, incident, ts))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)

    assert main(["timeline", "INC-1", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    captured = [r for r in rows if r["message_ts"] == ts]
    assert len(captured) == 1 and captured[0]["kinds"] == ["root_cause"]
    assert captured[0]["plain_text"] == f"=HYPERLINK(evil) @{people['carol']}", "as stored: the id"
    assert captured[0]["readable_text"] == f"=HYPERLINK(evil) @{people['carol']}", "no token: no names"
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", emu.api_url)
    assert main(["timeline", "INC-1", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    [row] = [r for r in rows if r["message_ts"] == ts]
    assert row["readable_text"] == "=HYPERLINK(evil) @Carol Chen", "as read: the name Slack gives"
    assert any(r["kinds"] == ["declared"] for r in rows), "command and automatic events are exported too"

    out = tmp_path / "t.csv"
    assert main(["timeline", "1", "--format", "csv", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.splitlines()[0].startswith("id,at,kinds,source")
    assert ",'=HYPERLINK(evil)" in text, "formulas are neutralised for spreadsheets"

    assert main(["timeline", "INC-99"]) == 1
    assert "no incident INC-99" in capsys.readouterr().err
    assert main(["timeline", "banana"]) == 1
