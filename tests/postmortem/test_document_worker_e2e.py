"""Document generation runs on its own bounded worker: however many people ask for documents,
the listener threads stay free for everyone else's commands (issue 21 item 2)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from bot.postmortem.worker import DocumentWorker
from storage.models import Document, utcnow
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, command, declare


def test_documents_in_progress_leave_the_acks_alone(
    bot: BotServer, emulator: Any, people, channels, monkeypatch
) -> None:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    inc = declare(bot, emu, alice, channels["general"])
    release = threading.Event()
    started: list[int] = []

    def slow_generate(incident_id: int, **_kw: Any) -> None:
        started.append(incident_id)
        release.wait(60)  # a huge document, say
        raise RuntimeError("not this time")

    monkeypatch.setattr(bot.services.postmortem, "generate", slow_generate)
    try:
        # More requests than the bot has listener threads (16), all while the first still runs.
        for _ in range(20):
            d = emu.slash_command(alice, inc.channel_id, "postmortem")
            assert d.status == 200, "acked within Slack's 3 s"
        d = emu.slash_command(bob, inc.channel_id, "help")
        assert d.status == 200
        wait_for(lambda: any("/incident help" in a for a in answers(emu, bob)), what="bob's help")
        assert started == [inc.id], "one document at a time"
        assert any("Too many investigation documents" in a for a in answers(emu, alice)), (
            "the queue is bounded"
        )
    finally:
        release.set()
    wait_for(lambda: bot.services.documents.wait_idle(timeout=1), timeout=30, what="the worker to drain")
    assert any("`/incident postmortem` failed on our side" in a for a in answers(emu, alice))


def test_the_worker_bounds_what_waits() -> None:
    gate = threading.Event()
    worker = DocumentWorker(workers=1, queued=2)
    ran: list[int] = []
    accepted = [worker.submit(lambda i=i: (gate.wait(5), ran.append(i))) for i in range(5)]  # type: ignore[misc]
    assert accepted == [True, True, True, False, False]
    gate.set()
    assert worker.wait_idle(timeout=5) and sorted(ran) == [0, 1, 2]
    assert worker.submit(lambda: ran.append(9)) and worker.wait_idle(timeout=5) and 9 in ran
    worker.shutdown()


def test_a_close_whose_document_was_never_written_gets_it_from_the_sweep(
    bot: BotServer, emulator: Any, people, channels, monkeypatch
) -> None:
    emu, alice = emulator, people["alice"]
    services = bot.services
    inc = declare(bot, emu, alice, channels["general"], "sev3 Cache misses double")
    # The worker is full when the incident closes (a process killed before writing it is the same).
    monkeypatch.setattr(services.lifecycle, "run_later", lambda job: False)
    command(bot, emu, alice, inc.channel_id, "close")
    wait_for(
        lambda: any(
            "will be written within a few minutes" in m["text"] for m in emu.messages(inc.channel_id)
        ),
        what="the close's note",
    )
    assert final_documents(bot, inc.id) == []
    sweeper = services.reminder_sweeper()
    sweeper.sweep(utcnow())
    assert services.documents.wait_idle(timeout=5) and final_documents(bot, inc.id) == [], (
        "a close this recent may still be writing its document"
    )
    later = utcnow() + timedelta(minutes=3)
    sweeper.sweep(later)
    (doc,) = wait_for(lambda: final_documents(bot, inc.id), timeout=20, what="the caught-up document")
    assert "Cache misses double" in doc.markdown
    uploads = [f for f in emu.files.values() if inc.channel_id in (f.get("channels") or [])]
    assert len(uploads) == 1, "published in the incident channel"
    assert services.catch_up_documents(later + timedelta(hours=2)) == [], "nothing owed any more"


def final_documents(bot: BotServer, incident_id: int) -> list[Document]:
    return [d for d in bot.services.repo.documents(incident_id) if d.state == "published" and not d.draft]
