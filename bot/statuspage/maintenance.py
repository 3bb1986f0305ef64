"""Scheduling maintenance windows (`incident-bot statuspage maintenance add|list`, the
`/incident maintenance` form): the request
checked against the config (known components, a time zone, an end after the start and in the
future) before anything is stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.slack.text import escape, one_line
from bot.statuspage.config import StatuspageConfig
from storage.models import MaintenanceWindow


@dataclass(frozen=True)
class Problem:
    reason: str
    field: str = ""  # components | from | to | title | message: where the form shows it


# How a problem names what was given: the CLI's flags, or the Slack form's labels.
FLAGS = {
    "components": "--components",
    "from": "--from",
    "to": "--to",
    "title": "--title",
    "message": "--message",
}


def _when(field: str, flag: str, value: str) -> datetime | Problem:
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        return Problem(f"{flag} {value[:40]!r} is not a date and time (e.g. 2026-12-24T02:00Z)", field)
    if at.tzinfo is None:
        return Problem(f"{flag} {value[:40]!r} has no time zone: add Z or an offset such as +01:00", field)
    return at


def window(
    config: StatuspageConfig,
    components: str,
    start: str,
    end: str,
    title: str,
    message: str,
    now: datetime,
    names: dict[str, str] = FLAGS,
) -> MaintenanceWindow | Problem:
    """The window to store, or the first problem with the request (``names``: how it names
    the fields)."""
    if not config.enabled:
        return Problem("the status page is off: list its components under [statuspage] in the config")
    ids = [c.strip() for c in components.split(",") if c.strip()]
    if not ids:
        return Problem(f"{names['components']} names no component", "components")
    unknown = [c for c in ids if config.component(c) is None]
    if unknown:
        known = ", ".join(c.id for c in config.components)
        return Problem(
            f"no component {', '.join(unknown)[:80]} in [statuspage] (known: {known})", "components"
        )
    starts_at = _when("from", names["from"], start)
    if isinstance(starts_at, Problem):
        return starts_at
    ends_at = _when("to", names["to"], end)
    if isinstance(ends_at, Problem):
        return ends_at
    if ends_at <= starts_at:
        return Problem(f"{names['to']} must be after {names['from']}", "to")
    if ends_at <= now:
        return Problem(f"this window is already over ({names['to']} is in the past)", "to")
    title = " ".join(title.split())
    if not title or len(title) > 200:
        return Problem(f"{names['title']} must be 1 to 200 characters", "title")
    if len(message) > 2000:
        return Problem(f"{names['message']} must be at most 2000 characters", "message")
    return MaintenanceWindow(
        title=title,
        message=message.strip(),
        components=list(dict.fromkeys(ids)),
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=now,
    )


def listing(windows: Sequence[MaintenanceWindow], now: datetime) -> list[str]:
    if not windows:
        return ["No maintenance scheduled."]
    return [
        f"#{w.id} {'in progress' if w.starts_at <= now else 'scheduled'}: {w.title} "
        f"({w.starts_at.isoformat()} to {w.ends_at.isoformat()}; {', '.join(w.components)})"
        for w in windows
    ]


def covering(
    config: StatuspageConfig, windows: Sequence[MaintenanceWindow], labels: dict[str, str]
) -> list[tuple[MaintenanceWindow, list[str]]]:
    """The ``windows`` covering a component these alert labels name (its ``alert_labels`` all
    among them), each with those components' public names."""
    named = [
        c
        for c in config.components
        if c.alert_labels and all(labels.get(k) == v for k, v in c.alert_labels.items())
    ]
    found = []
    for w in windows:
        hit = [c.name for c in named if c.id in w.components]
        if hit:
            found.append((w, hit))
    return found


def reminder_text(config: StatuspageConfig, w: MaintenanceWindow, now: datetime) -> str:
    """The reminder before a window starts, as Slack text."""
    names = [c.name for c in config.components if c.id in w.components]
    minutes = max(1, round((w.starts_at - now).total_seconds() / 60))
    soon = f"in {minutes} minutes" if minutes < 120 else f"in {round(minutes / 60)} hours"
    start, end = w.starts_at.astimezone(UTC), w.ends_at.astimezone(UTC)
    text = (
        f":wrench: Scheduled maintenance starts {soon}: *{escape(w.title)}* ({escape(', '.join(names))}), "
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC."
    )
    return text + (f"\n> {escape(one_line(w.message, 500))}" if w.message else "")
