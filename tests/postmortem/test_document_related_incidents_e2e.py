"""The document's "Related incidents": similar past incidents recorded through the bot, with their
root cause and fix; only public ones, since the document is posted to a channel and written to
disk (a private incident's own document lists public ones too, never another private one)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from storage.models import Document, Incident
from tests.postmortem.reading import read_markdown
from tests.support.harness import BotServer, wait_for
from tests.support.similar_history import declare, record, redis_history


def _document(bot: BotServer, emu: Any, user: str, inc: Incident) -> str:
    """Run `/incident postmortem` in the incident's channel; the posted document as a reader sees it."""
    assert emu.slash_command(user, inc.channel_id, "postmortem").status == 200

    def published() -> Document | None:
        with Session(bot.services.engine) as s:
            docs = s.exec(select(Document).where(Document.incident_id == inc.id)).all()
            return next((d for d in docs if d.state == "published"), None)

    doc = wait_for(published, timeout=20, what=f"the document of INC-{inc.number}")
    wait_for(
        lambda: [f for f in emu.files.values() if f.get("id") == doc.file_id and doc.file_id],
        what="the document posted to the channel",
    )
    return read_markdown(doc.markdown or "")[0]


def _related(text: str) -> str:
    assert "Related incidents" in text, text
    return text.split("Related incidents", 1)[1].split("Metrics", 1)[0]


def test_the_document_lists_similar_public_incidents_with_their_root_cause(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    h = redis_history(bot, emulator, people)
    text = _document(bot, emulator, people["alice"], h["now"])
    related = _related(text)
    assert "INC-1 · Sessions lost: redis connection refused" in related
    assert "root cause: Redis port mismatch after the config deploy" in related
    assert "fixed by @Bob Brown reverted the redis port in the session config" in related
    assert "INC-3 · Login sessions flaky" in related
    assert related.index("INC-1") < related.index("INC-3")
    assert "INC-2" not in text and "Sentinel" not in text, "a private incident is never named"
    assert "INC-4" not in related

    own = _related(_document(bot, emulator, people["alice"], h["secret"]))  # the private one's own
    assert "INC-1 · Sessions lost: redis connection refused" in own and "INC-2" not in own

    alone = declare(bot, people["alice"], [], "Printer on fire in the lobby", private=True)
    record(bot, emulator, alone, people["alice"], [("toner smoke near reception", "mag")])
    other = declare(bot, people["alice"], [], "Printer smoke near reception")
    record(bot, emulator, other, people["alice"], [("toner smoke near reception again", "mag")])
    assert "Related incidents" not in _document(bot, emulator, people["alice"], other)
