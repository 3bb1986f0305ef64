"""`incident-bot postmortem INC-n --no-publish` (the installed console script, settings in the
environment) writes the copies on disk only; without it, the document is published (the default)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from storage.db import make_engine
from storage.migrate import upgrade
from tests.support.commands import INCIDENT_BOT
from tests.support.harness import ROOT, bot_env, services_for


def test_no_publish_writes_the_files_and_posts_nothing_the_default_publishes(
    emulator: Any, people: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    emu = emulator
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    out = tmp_path / "out"
    db = services_for(emu, database_url, INCIDENT_OUTPUT_DIR=str(out))
    inc = db.incidents.declare(title="Search is slow", declarer=people["alice"], severity="sev2").incident
    assert inc.channel_id is not None
    ref = f"INC-{inc.number}"
    env = bot_env(emu, database_url, INCIDENT_OUTPUT_DIR=str(out))

    def postmortem(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INCIDENT_BOT, "postmortem", ref, *options],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def posted() -> list[dict[str, Any]]:
        return [m for m in emu.messages(inc.channel_id) if m.get("files")]

    quiet = postmortem("--no-publish", "--out", str(tmp_path / "copy.md"))
    copy = out / ref / f"{ref}-investigation.md"
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert (
        quiet.stdout
        == f"{ref}: written to {copy} and {tmp_path / 'copy.md'}; not published (--no-publish).\n"
    )
    assert "Search is slow" in copy.read_text() and copy.with_suffix(".html").exists()
    assert (tmp_path / "copy.md").read_text() == copy.read_text()
    assert inc.id is not None
    assert posted() == [] and list(db.repo.documents(inc.id)) == []

    published = postmortem()
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith(f"{ref}: revision 1 written to {copy} (published)")
    assert len(posted()) == 1
    db.engine.dispose()
