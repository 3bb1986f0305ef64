"""A Slack export's channel imported gives the timeline and document live capture gives the same
messages and reactions (posted through the emulator to a live incident), and importing again
changes nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.imports.importer import Importer
from bot.imports.slack_export import Export, open_export
from bot.postmortem import PostmortemService
from bot.postmortem.model import TimelineRow
from bot.timeline.capture import export_rows, reaction_name
from storage.models import Incident
from tests.support.harness import BotServer, wait_for
from tests.support.timeline_support import declare_incident, post, recorded

EXPORT = Path(__file__).resolve().parents[1] / "data" / "slack-export" / "acme"
CHANNEL = "inc-redis-timeouts"


def _live_copy(
    bot: BotServer, emu: Any, people: dict[str, str], export: Export
) -> tuple[Incident, dict[str, str]]:
    """The export channel's messages and reactions played into a live incident's channel; the
    ids and ts of the export → those of the live copy."""
    incident = declare_incident(bot, people)
    ch = incident.channel_id
    assert ch is not None
    wait_for(lambda: bot.services.repo.channel_message(ch, incident.card_ts or ""), what="card recorded")
    source = export.channel(CHANNEL)
    same = {uid: people[str(u["name"])] for uid, u in export.users.items()}
    same[source.id] = ch
    for m in export.messages(source):
        words = re.sub(r"<@(U\w+)>", lambda g: f"<@{same[g.group(1)]}>", str(m["text"]))
        files = [
            {"name": f["name"], "mimetype": f["mimetype"], "content": b"ERROR pool exhausted"}
            for f in m.get("files") or []
        ]
        parent = same.get(str(m.get("thread_ts") or ""))
        ts = post(emu, same[str(m["user"])], ch, words, thread_ts=parent, files=files or None)
        same[str(m["ts"])] = ts
        recorded(bot, ch, ts)
    for m in export.messages(source):
        for r in m.get("reactions") or []:
            for uid in r["users"]:
                emu.add_reaction(same[uid], ch, same[str(m["ts"])], r["name"])
    return incident, same


def _timeline(bot: BotServer, incident: Incident, back: dict[str, str]) -> list[dict[str, Any]]:
    """The recorded timeline of messages, in order, the live ids and ts written as the export's."""
    repo = bot.services.repo
    events = [e for e in repo.timeline(incident.id) if e.message_ts and not e.hidden]
    rows = export_rows(events, repo.marks([e.id for e in events]))
    names = {v: k for k, v in back.items()}

    def same(value: Any) -> Any:
        if isinstance(value, str):
            for live, fixture in names.items():
                value = value.replace(live, fixture).replace(live.replace(".", ""), fixture.replace(".", ""))
            return value
        if isinstance(value, list):
            return sorted(same(v) for v in value)
        return value

    out = []
    for row in rows:
        row = {k: same(v) for k, v in row.items() if k not in ("id", "at", "files", "permalink")}
        out.append(row)
    return out


def _files(bot: BotServer, incident: Incident) -> list[tuple[str, str, bool]]:
    return [
        (f["name"], f["mimetype"], f["is_image"])
        for e in bot.services.repo.timeline(incident.id)
        for f in e.files
        if not e.hidden
    ]


def _sections(documents: PostmortemService, incident: Incident, back: dict[str, str]) -> dict[str, list[Any]]:
    """The document's sections, from captured messages only: who said what, replies, files (the
    live incident's own events, declared and the like, are not in an export)."""
    model, _, _ = documents.build(incident.id, draft=False)
    ids = {v: k for k, v in back.items()}

    def same(value: str) -> str:
        for live, fixture in ids.items():
            value = value.replace(live, fixture)
        return value

    out = {}
    for key, section in model.sections.items():
        entries = []
        for e in section.entries:
            if isinstance(e, TimelineRow):
                if e.link:
                    entries.append((same(e.event), e.who, e.kinds))
                continue
            said = same(getattr(e, "text", ""))
            replies = [(same(r.text), r.who) for r in getattr(e, "replies", ())]
            files = [f.name for f in getattr(e, "files", ())]
            entries.append((said, getattr(e, "who", None) or getattr(e, "owner", None), replies, files))
        out[key] = entries
    return out


def _counts(bot: BotServer) -> dict[str, int]:
    tables = ("incidents", "channel_messages", "timeline_events", "timeline_marks", "documents", "milestones")
    with bot.services.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0) for t in tables}


@pytest.mark.parametrize("bot", ["http"], indirect=True)
def test_import_reproduces_live_capture_and_a_second_import_changes_nothing(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    export = open_export(EXPORT)
    live, same = _live_copy(bot, emulator, people, export)
    expected = sum(
        1
        for m in export.messages(export.channel(CHANNEL))
        if any(
            reaction_name(r["name"]) in bot.services.settings.config.reactions
            for r in m.get("reactions") or []
        )
    )
    repo = bot.services.repo
    wait_for(
        lambda: (
            len([e for e in repo.timeline(live.id) if e.message_ts and not e.hidden]) == expected
            and sum(len(v) for v in repo.active_kinds(live.id).values()) >= expected
        ),
        what="live capture of every reacted message",
    )
    base = bot.services.timeline.links.base
    importer = Importer(repo, bot.services.settings, export, base)
    done = importer.run(export.channel(CHANNEL))
    imported = done.incident
    assert done.created and done.events_shown == expected and done.revision == 1

    assert _timeline(bot, imported, {}) == _timeline(bot, live, same)
    assert _files(bot, imported) == _files(bot, live) == [("checkout.log", "text/plain", False)]
    # Links point at the original messages, thread replies with their parent, as live ones do.
    reply = repo.event_for_message(imported.id, "1762180300.000400")
    assert reply is not None and reply.permalink == (
        f"{base.rstrip('/')}/archives/C01REDIS/p1762180300000400?thread_ts=1762180200.000300&cid=C01REDIS"
    )
    assert importer.documents is not None
    assert _sections(importer.documents, imported, {}) == _sections(bot.services.postmortem, live, same)

    # The incident is closed at its last message, found by search, its document says it was imported.
    assert imported.is_closed and imported.created_at.timestamp() == pytest.approx(1762180100.0002)
    assert repo.milestones(imported.id)["closed"].timestamp() == pytest.approx(1762214700.0004)
    hits = repo.search_incidents(("redis", "port", "mismatch"))
    assert {h.incident_id for h in hits} == {imported.id, live.id}  # the same story, told twice
    doc = repo.documents(imported.id)[-1]
    assert doc.state == "published" and "**Imported** from the history of #inc-redis-timeouts" in doc.markdown
    assert Path(doc.path or "").read_text(encoding="utf-8") == doc.markdown

    before = _counts(bot)
    timeline = _timeline(bot, imported, {})
    again = Importer(repo, bot.services.settings, export, base).run(export.channel(CHANNEL))
    assert not again.changed and again.incident.id == imported.id
    assert _counts(bot) == before and _timeline(bot, imported, {}) == timeline
    assert repo.incident(imported.id).updated_at == imported.updated_at

    # Regenerated later as `/incident postmortem` does: a revision on disk, nothing posted or
    # announced for a channel that is Slack's past, and no history read back from it.
    calls = len(emulator.calls)
    regenerated = bot.services.postmortem.generate(
        imported.id, draft=False, requested_by=None, request_key=None
    )
    assert regenerated.revision == 2 and regenerated.state == "published" and regenerated.file_id is None
    assert [
        c.method
        for c in emulator.calls[calls:]
        if "C01REDIS" in str(c.args) or c.method.startswith(("files.", "chat.post"))
    ] == []
