"""`incident-bot demo` (the installed console script, as `make demo` runs it): a transcript in plain
text, the same action item clicked every run, and a document that shows the ticket it created."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.commands import INCIDENT_BOT, clean_env
from tests.support.harness import ROOT

ITEM = "Add alerting for session store initialization failures"  # the scenario's first 📝 item
TICKET = "https://github.com/example/app/issues/1"


def test_demo_prints_plain_text_and_its_document_shows_the_ticket(tmp_path: Path) -> None:
    done = subprocess.run(
        [INCIDENT_BOT, "demo", "--out", str(tmp_path)],
        env=clean_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        f"Clicked 'Create ticket' under an action item: GitHub issue created in example/app: '{ITEM}'"
        in lines
    )
    assert (
        f"  the item's thread now says: 🎫 Ticket created: example/app#1 ({TICKET}) (open) for: {ITEM}"
        in lines
    )
    assert not [line for line in lines if ":ticket:" in line or "<http" in line or "|" in line]

    document = tmp_path / "INC-1" / "INC-1-investigation.md"
    assert f"Investigation document (revision 2): {document}" in lines
    items = [line for line in document.read_text().splitlines() if ITEM in line and line.startswith("- [")]
    assert len(items) == 1 and f"ticket: [example/app#1]({TICKET})" in items[0], items
