"""`incident-bot timeline INC --format csv|json [--out FILE]`: the timeline from the database.

Besides the ids, each row carries the author's and the capturers' names and the text as people
read it (mentions, channels and links resolved by the one mrkdwn converter). Names come from Slack
(one ``users.info`` per person); when Slack cannot be reached the ids stand in for them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.slack import mrkdwn
from bot.slack.directory import Directory
from bot.timeline import capture
from storage.repository import Repository

_REF = re.compile(r"^(?:inc-?)?#?(\d{1,9})$", re.IGNORECASE)

# The stored fields, with the readable ones beside the ids they explain.
FIELDS = (
    "id", "at", "kinds", "source", "author", "author_name", "captured_by", "captured_by_names", "text",
    "plain_text", "readable_text", "permalink", "message_ts", "thread_ts", "files", "edited_at", "hidden",
    "hidden_at", "hidden_by", "hidden_reason", "source_deleted",
)  # fmt: skip


def incident_number(ref: str) -> int | None:
    """``INC-7``, ``inc7``, ``#7`` or ``7`` → 7; anything else → None."""
    m = _REF.match(ref.strip())
    return int(m.group(1)) if m else None


def render(
    repo: Repository,
    incident_id: int,
    fmt: str,
    include_hidden: bool = False,
    directory: Directory | None = None,
) -> str:
    events = [
        e
        for e in repo.timeline(incident_id, include_hidden=include_hidden)
        if not (e.hidden and e.hidden_reason == "pending")
    ]
    rows = capture.export_rows(events, repo.marks([e.id for e in events if e.id is not None]))
    rows = readable(rows, directory or Directory(None))
    return capture.to_csv(rows, FIELDS) if fmt == "csv" else capture.to_json(rows)


def readable(rows: Sequence[dict[str, Any]], directory: Directory) -> list[dict[str, Any]]:
    people = {str(r["author"]) for r in rows if r.get("author")}
    people |= {str(u) for r in rows for u in r.get("captured_by") or ()}
    directory.mentioned_in((str(r.get("text") or "") for r in rows), people)
    names = directory.names
    out = []
    for r in rows:
        author = r.get("author")
        text = str(r.get("text") or "")
        out.append(
            {
                **r,
                "author_name": names.user(str(author)) if author else None,
                "captured_by_names": [names.user(str(u)) for u in r.get("captured_by") or ()],
                "readable_text": mrkdwn.to_plain(text, names) if text else r.get("plain_text"),
            }
        )
    return out


def _directory(settings: Settings) -> Directory:
    if settings.slack_bot_token is None:
        return Directory(None)
    from bot.slack.client import make_client

    token = settings.slack_bot_token.get_secret_value()
    return Directory(make_client(token, settings.slack_api_url, timeout=5, patient=False))


def export_timeline(settings: Settings, ref: str, fmt: str, out: str | None, include_hidden: bool) -> int:
    from bot.startup import StartupError, open_database

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
        print(f"incident-bot timeline: there is no incident {incident_ref(number)}", file=sys.stderr)
        return 1
    directory = _directory(settings)
    text = render(repo, incident.id, fmt, include_hidden, directory)
    if directory.client is None and settings.slack_bot_token is not None:
        print("incident-bot: Slack could not be reached: people appear by their ids", file=sys.stderr)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {incident_ref(number)} timeline to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


__all__ = ["FIELDS", "export_timeline", "incident_number", "readable", "render"]
