"""`incident-bot import slack-export PATH --channel NAME [--as INC-n] | --channels 'inc-*'`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.config import Settings
from bot.imports.importer import Imported, Importer, ImportProblem
from bot.imports.slack_export import Channel, ExportError, open_export
from bot.incidents.vocabulary import incident_ref
from bot.ops.logs import error_line
from bot.postmortem.cli import parse_incident_ref
from storage.repository import Repository

COMMAND = "incident-bot import slack-export"


def _said(channel: Channel, done: Imported) -> str:
    ref = incident_ref(done.incident.number)
    if not done.changed:
        return f"{ref} ← #{channel.name}: imported already, nothing changed"
    verb = "imported" if done.created else "updated"
    added = f"{done.messages_added} new" if not done.created else f"{done.messages}"
    document = f"document revision {done.revision}" if done.revision is not None else "document unchanged"
    return (
        f"{ref} ← #{channel.name}: {verb}; {added} message(s) recorded, {done.events_shown} added to "
        f"the timeline, {done.events_hidden} removed; {document}"
    )


def run_import(
    settings: Settings,
    open_repo: Callable[[], Repository],
    path: str,
    channel: str | None,
    pattern: str | None,
    as_ref: str | None,
    workspace_url: str | None,
) -> int:
    """Import one channel (``channel``, optionally as ``as_ref``) or every channel matching
    ``pattern``; one line per channel on stdout, problems on stderr (exit 2)."""
    if (channel is None) == (pattern is None):
        error_line(f"{COMMAND}: give --channel NAME or --channels PATTERN (one of them)")
        return 2
    number = None
    if as_ref is not None:
        number = parse_incident_ref(as_ref)
        if number is None or number < 1:
            error_line(f"{COMMAND}: --as {as_ref!r} is not an incident number (use INC-7 or 7)")
            return 2
        if pattern is not None:
            error_line(f"{COMMAND}: --as names one incident: use it with --channel")
            return 2
    if workspace_url is not None and not workspace_url.startswith(("https://", "http://")):
        error_line(f"{COMMAND}: --workspace-url {workspace_url!r} is not a URL (https://acme.slack.com/)")
        return 2
    try:
        export = open_export(path)
        channels = [export.channel(channel)] if channel is not None else export.matching(pattern or "")
    except ExportError as exc:
        error_line(f"{COMMAND}: {exc}")
        return 2
    # The outcome is the lines printed below; the generation's warnings are for `serve`'s log.
    logging.getLogger().addHandler(logging.NullHandler())
    importer = Importer(open_repo(), settings, export, workspace_url)
    failed = 0
    for ch in channels:
        try:
            print(_said(ch, importer.run(ch, number)), flush=True)
        except (ImportProblem, ExportError) as exc:
            error_line(f"{COMMAND}: #{ch.name}: {exc}")
            failed += 1
    return 2 if failed else 0
