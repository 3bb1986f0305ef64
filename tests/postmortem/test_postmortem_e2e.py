"""The investigation document end to end: incidents played through the Slack emulator into the real bot."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.demo.run import Player
from bot.demo.scenario import EXPECTED_METRICS, SCRIPT, Command, Say
from bot.postmortem.cli import parse_incident_ref, run_postmortem
from storage.models import Document, ProcessedEvent, utcnow
from tests.postmortem.reading import read_markdown
from tests.support.harness import BotServer, wait_for


def documents(bot: BotServer) -> list[Document]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(Document).order_by(Document.revision)).all())


def final_document(bot: BotServer) -> Document:
    return wait_for(
        lambda: next((d for d in documents(bot) if d.state == "published" and not d.draft), None),
        timeout=20,
        what="the document generated on close",
    )


def open_incident(bot: BotServer, emu: Any, people: dict[str, str], channels: dict[str, str]) -> Player:
    player = Player(emu, bot.services, people, channels["general"])
    player.play((Command("13:30", "alice", "declare sev2 Checkout is slow"),))
    assert player.channel is not None
    return player


@pytest.fixture
def seed_document(bot: BotServer, emulator: Any, people, channels) -> tuple[Player, Document]:
    player = Player(emulator, bot.services, people, channels["general"])
    player.play(SCRIPT)
    return player, final_document(bot)


def test_seed_incident_document_matches_what_was_posted(seed_document, emulator: Any, channels) -> None:
    player, doc = seed_document
    emu = emulator
    text = doc.markdown
    assert doc.missing_sections == []
    assert not doc.draft and doc.revision == 1
    assert text.startswith("# Bug Investigation: Users cannot log in: 500 on /auth/login")
    assert "**Reporter**: Alice Adams" in text and "**Severity**: High" in text

    headings = ["## Summary", "## Bug Report", "## Investigation", "### Timeline", "## Fix", "## Testing"]
    headings += ["## Prevention", "## Related Issues", "## Metrics", "## Appendix"]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)

    for name, value in EXPECTED_METRICS.items():
        assert re.search(rf"- {name} \([a-z]+ − [a-z]+\): {value}$", text, re.M), name

    # Every marked message is quoted with a link to the message it came from.
    posted = {m["ts"]: m for m in emu.messages(player.channel, include_replies=True)}
    links = set(re.findall(r"\((https://emulator\.slack\.test/archives/[^)\s]+)\)", text))
    assert links
    for url in links:
        ts_digits = re.search(r"/p(\d+)", url).group(1)  # type: ignore[union-attr]
        assert f"{ts_digits[:-6]}.{ts_digits[-6:]}" in posted, url

    # Code blocks verbatim, entities decoded.
    assert 'kubectl logs -f deployment/app -n production 2>&1 | grep "Session store"' in text
    assert "+ REDIS_PORT: 6380  # <- Different port in production!" in text
    assert "AttributeError: 'NoneType' object has no attribute 'create'\n```" in text

    hyp = text.split("**Alternative Hypotheses**")[1].split("### Investigation Steps")[0]
    assert "**[ruled out]** Race condition" in hyp and "**[ruled out]** An environment variable" in hyp
    assert "**[confirmed]** Redis connection fails silently" in text.split("**Primary Hypothesis**")[1]
    steps = re.findall(r"^#### Step \d: (.+)$", text, re.M)
    assert steps == ["Check logs", "Check configuration", "Verify services"]
    assert "https://github.com/example/app/pull/789" in text.split("## Fix")[1].split("## Testing")[0]
    assert "https://github.com/example/app/issues/123" in text.split("## Related Issues")[1]
    assert "- [ ] Move to GitOps, no manual ConfigMap edits — owner: Carol Chen" in text

    rows = [line for line in text.splitlines() if line.startswith("| 2025-10-20")]
    assert rows[0].startswith("| 2025-10-20 13:00 |")
    assert [r[:18] for r in rows] == sorted(r[:18] for r in rows)

    # Published: file in the channel, copy on disk with the pinned files, link in #incidents.
    uploads = [f for f in emu.files.values() if f["name"].endswith(".md") and player.channel in f["channels"]]
    assert len(uploads) == 1 and uploads[0]["id"] == doc.file_id
    assert Path(doc.path or "").read_text() == text
    assert Path(doc.path or "").with_suffix(".html").exists()
    downloaded = list((Path(doc.path or "").parent / "files").iterdir())
    assert [p.name.split("-", 1)[1] for p in downloaded] == ["login-500.png"]
    announced = [
        m["text"] for m in emu.messages(channels["incidents"]) if "investigation document" in m["text"]
    ]
    assert len(announced) == 1 and doc.file_permalink in announced[0]


def test_history_is_not_reread_when_everything_was_recorded(
    seed_document, bot: BotServer, emulator: Any
) -> None:
    player, first = seed_document
    emulator.reset_calls()
    again = bot.services.postmortem.generate(
        player.incident_id, draft=False, requested_by=None, request_key=None
    )
    assert (
        again.revision == 2
        and again.markdown.split("**Generated**")[0] == first.markdown.split("**Generated**")[0]
    )
    assert emulator.calls_to("conversations.history") == []
    assert emulator.calls_to("conversations.replies") == []


def test_draft_on_demand_then_regenerate_and_duplicate_delivery(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    player = open_incident(bot, emu, people, channels)
    player.say(Say("13:40", "alice", "The queue depth is 40k", react=(("alice", "mag"),)))
    wait_for(lambda: bot.services.repo.active_kinds(player.incident_id), what="the mark")
    emu.slash_command(people["alice"], player.channel, "postmortem")
    first = wait_for(lambda: [d for d in documents(bot) if d.state == "published"], what="draft")[0]
    assert first.draft and first.revision == 1
    assert "> **DRAFT** generated" in first.markdown and "The queue depth is 40k" in first.markdown
    assert "Root Cause" in first.missing_sections and "Steps to Reproduce" in first.missing_sections
    assert wait_for(
        lambda: any("revision 1" in p["body"].get("text", "") for p in emu.response_url_posts), what="reply"
    )
    assert not [m for m in emu.messages(channels["incidents"]) if "investigation document" in m["text"]]

    bot.duplicate_deliveries(emu)
    d = emu.slash_command(people["bob"], player.channel, "postmortem")
    wait_for(lambda: len([x for x in documents(bot) if x.state == "published"]) == 2, what="revision 2")
    wait_for(lambda: _claim_done(bot, f"cmd:{d.trigger_id}"), what="the duplicate to settle")
    docs = documents(bot)
    assert [x.revision for x in docs] == [1, 2]
    # Nothing changed: the revision is recorded, but the same document is not posted again.
    uploads = [f for f in emu.files.values() if f["name"].endswith(".md")]
    assert len(uploads) == 1 and docs[1].file_id == docs[0].file_id
    assert wait_for(
        lambda: any("not posted again" in p["body"].get("text", "") for p in emu.response_url_posts),
        what="the unchanged reply",
    )

    # A change is posted as a new revision, saying what changed.
    player.say(Say("13:50", "bob", "Root cause: the pool is too small", react=(("bob", "dart"),)))
    wait_for(lambda: len(bot.services.repo.active_kinds(player.incident_id)) == 2, what="the new mark")
    third = bot.services.postmortem.generate(
        player.incident_id, draft=True, requested_by=None, request_key=None
    )
    uploads = [f for f in emu.files.values() if f["name"].endswith(".md")]
    assert third.revision == 3 and len(uploads) == 2 and third.file_id != docs[0].file_id
    comment = next(m["text"] for m in emu.messages(player.channel) if "revision 3" in m.get("text", ""))
    assert "Changed since revision 2: updated Root Cause, Timeline" in comment, comment


def _claim_done(bot: BotServer, key: str) -> bool:
    with Session(bot.services.engine) as s:
        row = s.get(ProcessedEvent, key)
        return row is not None and row.state == "done"


def test_same_request_key_returns_the_same_revision(bot: BotServer, emulator: Any, people, channels) -> None:
    player = open_incident(bot, emulator, people, channels)
    service = bot.services.postmortem
    assert player.incident_id is not None
    a = service.generate(player.incident_id, draft=True, requested_by=None, request_key="req-1")
    b = service.generate(player.incident_id, draft=True, requested_by=None, request_key="req-1")
    assert a.id == b.id and len(documents(bot)) == 1
    assert len([f for f in emulator.files.values() if f["name"].endswith(".md")]) == 1


def test_revision_left_generating_by_a_crash_is_completed(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    player = open_incident(bot, emulator, people, channels)
    repo = bot.services.repo
    assert player.incident_id is not None
    crashed = repo.begin_document(player.incident_id, draft=True, request_key="killed", requested_by=None)
    assert repo.claim(f"document:{crashed.id}", kind="document")
    with Session(bot.services.engine) as s:  # the killed process's claim has gone stale
        row = s.get(ProcessedEvent, f"document:{crashed.id}")
        assert row is not None
        row.claimed_at = utcnow() - timedelta(minutes=10)
        s.add(row)
        s.commit()
    doc = bot.services.postmortem.generate(
        player.incident_id, draft=True, requested_by=None, request_key=None
    )
    assert doc.id == crashed.id and doc.revision == 1 and doc.state == "published"
    assert len(documents(bot)) == 1


def test_hostile_content_survives_intact_and_harmless(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    player = open_incident(bot, emu, people, channels)
    assert player.channel is not None
    long_text = "L" * 39_990 + " the end"
    hostile = [
        Say("13:41", "alice", "a | b || c and `unbalanced", react=(("alice", "mag"),)),
        Say("13:42", "bob", "{{ 7*7 }} {% for x in range(3) %}X{% endfor %}", react=(("bob", "bulb"),)),
        Say("13:43", "carol", "<script>alert(1)</script> <!channel>", react=(("carol", "bug"),)),
        Say("13:44", "alice", "פריסה נכשלה 🔥 مرحبا 😀", react=(("alice", "question"),)),
        Say("13:45", "bob", long_text, react=(("bob", "mortar_board"),)),
        Say(
            "13:46", "carol", "Root cause: the pool\n```a | b `x` {{ y }} 2>&1```", react=(("carol", "dart"),)
        ),
    ]
    for step in hostile:
        player.say(step)
    doomed = player.say(
        Say("13:47", "alice", "This will be deleted", react=(("alice", "hammer_and_wrench"),))
    )
    kinds = bot.services.repo.active_kinds
    wait_for(lambda: len(kinds(player.incident_id)) == 7, what="the marks")
    emu.delete_message(people["alice"], player.channel, doomed)
    wait_for(lambda: len(kinds(player.incident_id)) == 6, what="the deletion")
    assert player.incident_id is not None
    doc = bot.services.postmortem.generate(
        player.incident_id, draft=True, requested_by=None, request_key=None
    )
    text = doc.markdown
    seen, _, links = read_markdown(text)  # what a reader of the rendered document sees
    assert "a | b || c and `unbalanced" in seen
    assert "{{ 7*7 }} {% for x in range(3) %}X{% endfor %}" in seen  # shown as typed
    assert "49 XXX" not in seen and "49 {%" not in seen  # never evaluated
    # typed text arrives escaped (&lt;): the reader sees what was typed, the Markdown holds no tag
    assert "<script>" not in text and "<script>alert(1)</script> <!channel>" in seen
    assert "<!channel>" not in text
    assert "פריסה נכשלה 🔥 مرحبا 😀" in seen
    assert long_text in seen
    assert "```\na | b `x` {{ y }} 2>&1\n```" in text
    assert all(link.startswith("https://") for link in links), links
    assert "This will be deleted" not in text or "source message deleted" in text
    rows = [line for line in text.splitlines() if line.startswith("| 2025-10-20")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 5 for row in rows), rows
    html = Path(doc.path or "").with_suffix(".html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html


def test_canvas_when_configured(bot: BotServer, emulator: Any, people, channels) -> None:
    bot.services.settings.config.canvas = True
    player = open_incident(bot, emulator, people, channels)
    assert player.incident_id is not None
    service = bot.services.postmortem
    first = service.generate(player.incident_id, draft=True, requested_by=None, request_key=None)
    player.say(Say("13:50", "bob", "The pool is too small", react=(("bob", "mag"),)))
    wait_for(lambda: bot.services.repo.active_kinds(player.incident_id), what="the mark")
    second = service.generate(player.incident_id, draft=True, requested_by=None, request_key=None)
    canvases = emulator.canvases
    assert first.canvas_id in canvases and canvases[first.canvas_id]["channel_id"] == player.channel
    assert canvases[first.canvas_id]["document_content"]["markdown"] == first.markdown
    assert second.canvas_id in canvases and second.canvas_id != first.canvas_id
    assert emulator.calls_to("canvases.create")


def test_cli_postmortem(
    bot: BotServer, emulator: Any, people, channels, settings: Settings, tmp_path, capsys
) -> None:
    open_incident(bot, emulator, people, channels)
    out = tmp_path / "doc.md"
    assert run_postmortem(settings, "INC-1", str(out)) == 0
    assert out.read_text().startswith("# Bug Investigation: Checkout is slow")
    assert run_postmortem(settings, "INC-99", None) == 1
    assert run_postmortem(settings, "seven", None) == 1
    err = capsys.readouterr().err
    assert "there is no incident INC-99" in err and "'seven' is not an incident" in err
    assert [parse_incident_ref(x) for x in ("INC-7", "inc7", "7", "INC-", "-7")] == [7, 7, 7, None, None]


def test_cli_postmortem_with_slack_unreachable_writes_the_stored_record(
    bot: BotServer, emulator: Any, people, channels, settings: Settings, tmp_path, capsys
) -> None:
    player = open_incident(bot, emulator, people, channels)
    player.say(Say("13:40", "alice", "The queue depth is *40k* & <rising>", react=(("alice", "mag"),)))
    wait_for(lambda: bot.services.repo.active_kinds(player.incident_id), what="the mark")
    uploads_before = len(emulator.files)
    offline = settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/api/"})
    out = tmp_path / "offline.md"
    assert run_postmortem(offline, "INC-1", str(out)) == 0
    seen, _, _ = read_markdown(out.read_text())
    assert "Bug Investigation: Checkout is slow" in seen and "The queue depth is 40k & <rising>" in seen
    said = capsys.readouterr().out
    assert "NOT published" in said and str(out) in said
    assert len(emulator.files) == uploads_before and documents(bot) == []
    assert run_postmortem(offline, "INC-1", None) == 1
    assert "with --out FILE" in capsys.readouterr().err


def test_private_incident_is_not_announced(bot: BotServer, emulator: Any, people, channels) -> None:
    player = open_incident(bot, emulator, people, channels)
    assert player.incident_id is not None
    bot.services.repo.update_incident(player.incident_id, is_private=True)
    bot.services.postmortem.generate(player.incident_id, draft=False, requested_by=None, request_key=None)
    assert not [m for m in emulator.messages(channels["incidents"]) if "investigation document" in m["text"]]
