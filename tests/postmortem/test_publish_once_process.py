"""The real `python -m bot serve` killed (SIGKILL) after Slack shared the document in the channel
and before the bot recorded it: the process started next finishes that revision by adopting the
file message already there, so the channel holds one document message, not two."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storage.models import Document
from tests.support.harness import ServeProcess, services_for, wait_for

pytestmark = pytest.mark.slow


def document_messages(emu: Any, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in emu.messages(channel)
        if any("-investigation-r" in str(f.get("name")) for f in m.get("files") or [])
    ]


def test_kill_9_between_the_upload_and_its_record_leaves_one_document_message(
    emulator: Any, people: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    emu = emulator
    config = tmp_path / "bot.toml"
    config.write_text("[reminders]\nsweep_every = 1\n")
    env = {"INCIDENT_OUTPUT_DIR": str(tmp_path / "docs"), "INCIDENT_BOT_CONFIG": str(config)}
    first = ServeProcess(emu, database_url, tmp_path / "first.log", **env)
    try:
        first.healthy()
        emu.request_urls = [first.url]
        db = services_for(emu, database_url)
        inc = db.incidents.declare(
            title="Killed mid-upload", declarer=people["alice"], severity="sev2"
        ).incident
        assert inc.id is not None and inc.channel_id is not None
        channel = inc.channel_id
        # Slack shares the file in the channel, then its answer is held until the bot is gone.
        emu.inject_fault("files.completeUploadExternal", delay_answer=120.0)
        emu.slash_command(people["alice"], channel, "close")
        wait_for(
            lambda: document_messages(emu, channel), timeout=30, what="the document shared in the channel"
        )
    finally:
        first.kill()
    emu.clear_faults()
    (doc,) = [d for d in db.repo.documents(inc.id)]
    assert doc.state == "generating" and doc.file_id is None, "the killed process recorded nothing"

    second = ServeProcess(emu, database_url, tmp_path / "second.log", **env)

    def published() -> Document | None:
        return next((d for d in db.repo.documents(inc.id or 0) if d.state == "published"), None)

    try:
        second.healthy()
        emu.request_urls = [second.url]
        done = wait_for(published, timeout=90, what="the revision finished after the restart")
    finally:
        second.kill()
    messages = document_messages(emu, channel)
    assert len(messages) == 1, [m.get("text") for m in messages]
    (shared,) = messages[0]["files"]
    assert (done.revision, done.file_id) == (doc.revision, shared["id"]), "the message posted is adopted"
    assert "adopted revision 1" in second.log.read_text()
    assert Path(done.path or "").read_text() == done.markdown
    db.engine.dispose()
