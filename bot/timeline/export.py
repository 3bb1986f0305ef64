"""`incident-bot timeline INC --format csv|json [--out FILE]`: the timeline from the database."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.config import Settings
from bot.timeline import capture
from storage.repository import Repository

_REF = re.compile(r"^(?:inc-?)?#?(\d{1,9})$", re.IGNORECASE)


def incident_number(ref: str) -> int | None:
    """``INC-7``, ``inc7``, ``#7`` or ``7`` → 7; anything else → None."""
    m = _REF.match(ref.strip())
    return int(m.group(1)) if m else None


def render(repo: Repository, incident_id: int, fmt: str, include_hidden: bool = False) -> str:
    events = [
        e
        for e in repo.timeline(incident_id, include_hidden=include_hidden)
        if not (e.hidden and e.hidden_reason == "pending")
    ]
    rows = capture.export_rows(events, repo.marks([e.id for e in events if e.id is not None]))
    return capture.to_csv(rows) if fmt == "csv" else capture.to_json(rows)


def export_timeline(settings: Settings, ref: str, fmt: str, out: str | None, include_hidden: bool) -> int:
    from bot.serve import StartupError, open_database

    number = incident_number(ref)
    if number is None:
        print(f"incident-bot: not an incident reference: {ref!r} (use INC-7 or 7)", file=sys.stderr)
        return 1
    try:
        engine = open_database(settings)
    except StartupError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return 2
    repo = Repository(engine)
    incident = repo.incident_by_number(number)
    if incident is None or incident.id is None:
        print(f"incident-bot timeline: there is no incident INC-{number}", file=sys.stderr)
        return 1
    text = render(repo, incident.id, fmt, include_hidden)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote INC-{number} timeline to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
